"""The monitoring reference: what the served model says about the held-out test split.

Each test text goes through the same steps a request does (language detection, the emotion
model, the safety screen with the detected emotions) and is turned into a record by the same
`derive` the service uses, so reference and served records are compared like with like. The
texts themselves are not kept: the reference holds derived values only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from emoheal.monitoring.frame import monitoring_frame
from emoheal.monitoring.records import derive
from emoheal.session.runner import detect_language
from emoheal.utils.io import read_json, write_json

REFERENCE_FILE = "reference.parquet"
META_FILE = "reference.json"


def reference_records(predictor: Any, texts: list[str], screen: Any, locale: str = "US",
                      chunk: int = 512) -> pd.DataFrame:
    """One derived record per text, as the service would have appended for a /session request
    (risk level from the crisis `screen`) that was answered by `predictor`."""
    rows = []
    for start in range(0, len(texts), chunk):
        batch = texts[start:start + chunk]
        assessments = screen.assess_many(batch)
        for i, (text, prediction, assessment) in enumerate(zip(batch, predictor.predict(batch), assessments), start):
            detected, confidence = detect_language(text)
            safety = screen.decide(assessment, prediction.probabilities, locale)
            payload = {"language": {"detected": detected, "confidence": confidence},
                       "emotions": {"probabilities": prediction.probabilities, "labels": prediction.labels},
                       "safety": safety.to_dict(), "versions": {"emotion_model": prediction.model_version,
                                                                "runtime": "torch"}}
            rows.append(derive("reference", f"reference-{i}", len(text), payload, 0.0))
    return pd.DataFrame(rows)


def write_reference(folder: str | Path, records: pd.DataFrame, meta: dict[str, Any]) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records.to_parquet(folder / REFERENCE_FILE, index=False)
    write_json(folder / META_FILE, meta)


def read_reference(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    folder = Path(folder)
    path = folder / REFERENCE_FILE
    if not path.is_file() or not (folder / META_FILE).is_file():
        raise FileNotFoundError(f"no monitoring reference in {folder}: build it with `dvc repro monitor_reference` "
                                "(or pass --reference to a folder holding reference.parquet and reference.json)")
    return pd.read_parquet(path), read_json(folder / META_FILE)


def build_reference(params: dict[str, Any]) -> dict[str, Any]:
    """The `monitor_reference` stage: the model at `paths.model` on the configured split."""
    from emoheal.data.prepared import read_manifest, read_prepared
    from emoheal.emotion.predictor import EmotionPredictor

    paths, cfg = params["paths"], params["monitoring"]["reference"]
    split = read_prepared(paths["prepared"], cfg["split"])
    if cfg["limit"]:  # null (or 0): the whole split
        split = split.sample(n=min(int(cfg["limit"]), len(split)), random_state=int(params["seed"]))
    from emoheal.safety.screen import CrisisScreen

    predictor = EmotionPredictor(paths["model"])
    screen = CrisisScreen(params["safety"]["model"])
    records = reference_records(predictor, split["text"].tolist(), screen, cfg["locale"])
    table = monitoring_frame(records, predictor.labels)
    meta = {"labels": predictor.labels, "model_version": predictor.version, "safety_model": screen.version,
            "split": cfg["split"],
            "n": len(records), "data_hash": read_manifest(paths["prepared"])["data_hash"],
            "neutral_share": float(table["neutral"].mean()), "mean_confidence": float(table["top_probability"].mean()),
            "crisis_rate": float(table["crisis"].mean())}
    write_reference(paths["monitoring"], records, meta)
    return meta
