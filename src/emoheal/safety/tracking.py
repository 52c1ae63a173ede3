"""The safety stage's MLflow run: settings as params, the headline figures as metrics, the
metrics document and the model's small files as artifacts (no user text exists here; the corpus
is curated and in git)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from emoheal.safety.classifier import META_FILE
from emoheal.safety.encoder import ENCODER_META
from emoheal.tracking.runs import ensure_experiment, flatten
from emoheal.utils.git import git_commit


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    held, cv, ordinary = metrics["heldout"], metrics["grouped_cv"], metrics["goemotions_test"]
    out = {"heldout_recall": held["recall"], "heldout_false_alarm_high": held["false_alarm_high"],
           "heldout_recall_high": held["recall_high"]["rate"], "cv_recall": cv["recall"],
           "cv_false_alarm_high": cv["false_alarm_high"],
           "cv_min_category_recall": min(cv["recall_by_category"].values()),
           "goemotions_flagged_high_share": ordinary["flagged_high_share"],
           "goemotions_flagged_check_in_share": ordinary["flagged_check_in_share"]}
    out.update({f"cv_recall_{c}": v for c, v in cv["recall_by_category"].items()})
    return {k: float(v) for k, v in out.items() if v is not None}


def log_safety_run(params: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """One run in the `safety.tracking.experiment` experiment; returns its id (None when tracking is off)."""
    if not params["tracking"]["enabled"]:
        return None
    import mlflow

    cfg = params["safety"]
    experiment = ensure_experiment(cfg["tracking"]["experiment"])
    tags = {"git_commit": git_commit(), "stage": "safety", "model_version": metrics["model"]["version"]}
    with mlflow.start_run(experiment_id=experiment, run_name=metrics["model"]["version"], tags=tags) as run:
        settings = {k: v for k, v in cfg.items() if k != "selection"}
        mlflow.log_params({k: str(v) for k, v in flatten({"safety": settings}).items()})
        mlflow.log_params({f"chosen.{k}": str(v) for k, v in flatten(metrics["model"]["features"]).items()})
        mlflow.log_metrics(headline(metrics))
        for i, cand in enumerate(metrics["selection"]["candidates"]):
            mlflow.log_metric("candidate_recall_at_false_alarm", cand["recall_at_false_alarm"], step=i)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "safety.json"
            path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
            mlflow.log_artifact(str(path))
        for name in (META_FILE, ENCODER_META):
            mlflow.log_artifact(str(Path(cfg["model"]) / name), "model")
        return run.info.run_id
