"""The `corpus_emotion` stage: train the clip-emotion model, estimate every item, evaluate
on EMOPIA's song-disjoint test split, and track it all in MLflow."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from emoheal.corpus.emotion_model import (
    ClipEmotionSettings,
    estimate_all,
    evaluate,
    symbolic_reference,
    train_clip_emotion,
)
from emoheal.corpus.features import feature_frame
from emoheal.tracking.runs import artifact_location, flatten, tracking_uri
from emoheal.utils.git import git_commit

log = logging.getLogger(__name__)


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
    labels = manifest[["id", "quadrant", "split"]]
    model = train_clip_emotion(features, labels, settings, seed, logger)
    model.save(out_dir)
    estimates = estimate_all(model, descriptors, windows, manifest)
    metrics = {
        "corpus": {"items": int(len(manifest)), "described": int(len(descriptors)),
                   "by_source": manifest.groupby("source").size().to_dict(),
                   "audio_hours": round(float(manifest["duration_s"].sum()) / 3600, 3)},
        "descriptors_vs_score": describe_report.get("score_check", {}),
        "emotion": {"test": evaluate(estimates, labels, "test"),
                    "score_features_reference": symbolic_reference(scores, labels, seed) if len(scores) else {},
                    "val_at_selection": model.meta.get("val_at_selection", {}),
                    "model": {k: v for k, v in model.meta.items() if k != "val_at_selection"}},
    }
    if logger is not None:
        client, run_id = logger.experiment, logger.run_id
        for key, value in flatten({"corpus": {"emotion": asdict(settings)}}).items():
            client.log_param(run_id, key, value)
        test = metrics["emotion"]["test"]
        for key in ("valence_accuracy", "arousal_accuracy", "quadrant_accuracy"):
            if key in test:
                client.log_metric(run_id, f"test_{key}", test[key])
        for key, value in metrics["descriptors_vs_score"].get("spearman", {}).items():
            client.log_metric(run_id, f"spearman_{key}", value)
        client.log_artifacts(run_id, str(out_dir), "clip_emotion")
        metrics["mlflow"] = {"experiment": tracking["corpus_experiment"], "run_id": run_id}
    log.info("clip emotion on test: %s", metrics["emotion"]["test"])
    return estimates, metrics
