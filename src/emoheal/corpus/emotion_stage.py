"""The `corpus_emotion` stage: train the clip-emotion model, estimate every item, evaluate on
EMOPIA's song-disjoint test split in every rendered timbre, and track it all in MLflow.

Two models are trained the same way: one on the piano renders of the train split (EMOPIA as
annotated) and one on the train split in every rendered timbre. The annotations were made
listening to the piano: for another timbre the clip's quadrant is a proxy label (the music's
notes, velocities and tempo are the same; its sound is not), so per-timbre accuracy says how
well the estimate carries over to that sound, not what a listener would report. The model the
index uses is the one with the better mean quadrant accuracy over the timbres on val, measured
before any refit sees val — never chosen on test.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from emoheal.corpus.composed_check import composed_agreement
from emoheal.corpus.emotion_model import (
    ClipEmotionModel,
    ClipEmotionSettings,
    evaluate,
    symbolic_reference,
    train_clip_emotion,
)
from emoheal.corpus.features import feature_frame
from emoheal.tracking.runs import artifact_location, flatten, tracking_uri
from emoheal.utils.git import git_commit

log = logging.getLogger(__name__)
PIANO = "piano"
ACCURACIES = ("quadrant_accuracy", "arousal_accuracy", "valence_accuracy")


def _labels(manifest: pd.DataFrame) -> pd.DataFrame:
    labels = manifest[["id", "quadrant", "split", "timbre"]].copy()
    labels["timbre"] = labels["timbre"].fillna("")
    return labels


def by_timbre(model: ClipEmotionModel, features: pd.DataFrame, labels: pd.DataFrame, split: str) -> dict:
    """{timbre: {quadrant_acc, arousal_acc, valence_acc, items}} on `split` (labelled EMOPIA renders)."""
    rows = labels.dropna(subset=["quadrant"])
    rows = rows[(rows["split"] == split) & rows["id"].isin(features.index)]
    out = {}
    if rows.empty:
        return out
    estimates = model.predict(features.loc[rows["id"]])
    for timbre, group in rows.groupby("timbre", sort=True):
        result = evaluate(estimates, group, split)
        out[timbre] = {"items": result["items"], "quadrant_acc": result["quadrant_accuracy"],
                       "arousal_acc": result["arousal_accuracy"], "valence_acc": result["valence_accuracy"]}
    return out


def _mean_quadrant(per_timbre: dict) -> float:
    values = [v["quadrant_acc"] for v in per_timbre.values()]
    return round(sum(values) / len(values), 4) if values else 0.0


def train_and_choose(features: pd.DataFrame, labels: pd.DataFrame, settings: ClipEmotionSettings, seed: int,
                     logger=None) -> tuple[ClipEmotionModel, str, dict]:
    """(the chosen model, its name, the comparison): piano-only vs all-timbre, chosen on val."""
    def judge(model: ClipEmotionModel) -> dict:
        return by_timbre(model, features, labels, "val")

    timbres = sorted(set(labels.loc[labels["quadrant"].notna(), "timbre"]))
    candidates = {"piano_only": labels[labels["timbre"] == PIANO]}
    if timbres != [PIANO]:
        candidates["all_timbres"] = labels
    models, comparison = {}, {}
    for name, rows in candidates.items():
        models[name] = train_clip_emotion(features, rows, settings, seed, logger if name == "all_timbres" or
                                          len(candidates) == 1 else None, judge)
        val = models[name].meta.get("judged_at_selection", {})
        comparison[name] = {"val": val, "val_mean_quadrant_acc": _mean_quadrant(val),
                            "test": by_timbre(models[name], features, labels, "test")}
    # the better mean quadrant accuracy over the timbres on val; on a tie, the simpler (piano-only)
    chosen = max(candidates, key=lambda n: (comparison[n]["val_mean_quadrant_acc"], n == "piano_only"))
    return models[chosen], chosen, comparison


def run_corpus_emotion(manifest: pd.DataFrame, descriptors: pd.DataFrame, windows: pd.DataFrame,
                       scores: pd.DataFrame, describe_report: dict, out_dir: str | Path,
                       settings: ClipEmotionSettings, seed: int, tracking: dict[str, Any]) -> tuple[pd.DataFrame, dict]:
    """Returns (estimates for every described item, the metrics document)."""
    logger = None
    if tracking["enabled"]:
        from lightning.pytorch.loggers import MLFlowLogger

        uri = tracking_uri()
        logger = MLFlowLogger(experiment_name=tracking["corpus_experiment"], tracking_uri=uri,
                              artifact_location=artifact_location(uri), run_name=f"clip-emotion-{len(manifest)}",
                              tags={"git_commit": git_commit(), "stage": "corpus_emotion"})
    features = feature_frame(descriptors, windows, manifest)
    labels = _labels(manifest)
    model, chosen, comparison = train_and_choose(features, labels, settings, seed, logger)
    model.meta["chosen"] = chosen
    model.save(out_dir)
    estimates = model.predict(features)
    piano = labels[labels["timbre"] == PIANO]
    metrics = {
        "corpus": {"items": int(len(manifest)), "described": int(len(descriptors)),
                   "by_source": manifest.groupby("source").size().to_dict(),
                   "by_timbre": manifest.groupby(manifest["timbre"].fillna("unknown")).size().to_dict(),
                   "audio_hours": round(float(manifest["duration_s"].sum()) / 3600, 3)},
        "descriptors_vs_score": describe_report.get("score_check", {}),
        "emotion": {"test": evaluate(estimates, piano, "test"),
                    "score_features_reference": symbolic_reference(scores, piano, seed) if len(scores) else {},
                    "val_at_selection": model.meta.get("val_at_selection", {}),
                    "model": {k: v for k, v in model.meta.items()
                              if k not in ("val_at_selection", "judged_at_selection")}},
        # the chosen model's accuracy on the whole test split in each timbre, against the piano annotation
        "timbre_robustness": comparison[chosen]["test"],
        "timbre_models": {"chosen": chosen, "chosen_on": "val: mean quadrant accuracy over the timbres",
                          "labels": "EMOPIA's quadrant of the piano performance, used for every timbre",
                          **comparison},
        "composed": composed_agreement(manifest, descriptors, estimates),
    }
    if logger is not None:
        client, run_id = logger.experiment, logger.run_id
        for key, value in flatten({"corpus": {"emotion": asdict(settings)}}).items():
            client.log_param(run_id, key, value)
        client.log_param(run_id, "chosen_model", chosen)
        test = metrics["emotion"]["test"]
        for key in ("valence_accuracy", "arousal_accuracy", "quadrant_accuracy"):
            if key in test:
                client.log_metric(run_id, f"test_{key}", test[key])
        for timbre, values in metrics["timbre_robustness"].items():
            for key in ("quadrant_acc", "arousal_acc", "valence_acc"):
                client.log_metric(run_id, f"test_{timbre}_{key}", values[key])
        for key, value in metrics["composed"].items():
            if isinstance(value, float):
                client.log_metric(run_id, f"composed_{key}", value)
        for key, value in metrics["descriptors_vs_score"].get("spearman", {}).items():
            client.log_metric(run_id, f"spearman_{key}", value)
        client.log_artifacts(run_id, str(out_dir), "clip_emotion")
        metrics["mlflow"] = {"experiment": tracking["corpus_experiment"], "run_id": run_id}
    log.info("clip emotion (%s) on test: %s", chosen, metrics["timbre_robustness"])
    return estimates, metrics
