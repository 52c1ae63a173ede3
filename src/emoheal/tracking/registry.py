"""Attach evaluation results to the training run and register the emotion model."""

from __future__ import annotations

import logging
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from emoheal.tracking.runs import ensure_experiment, flatten

# An example that is not user text: MLflow stores it next to the model.
_EXAMPLE = pd.DataFrame({"text": ["The thunderstorm kept me awake, but the rain sounds nice now."]})
_RUNTIME_PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "numpy", "pandas", "mlflow")
# The tag a registered version carries when its training run was not in the store it was registered
# in: its training curves and config are elsewhere. `make bento` turns it into a served warning.
MISSING_RUN_TAG = "training_run_missing"
log = logging.getLogger(__name__)


def _numeric(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    return {k: float(v) for k, v in flatten(metrics, prefix).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def start_stage_run(experiment: str, run_id: str | None) -> tuple[Any, str | None]:
    """(the run, a warning or None): the training run reopened when this store has it, else a fresh
    run, said out loud: the training's curves and config are then in another store (a model trained
    with another MLFLOW_TRACKING_URI, or pulled from a DVC remote)."""
    import mlflow

    experiment_id = ensure_experiment(experiment)
    if run_id:
        try:
            return mlflow.start_run(run_id=run_id), None
        except mlflow.exceptions.MlflowException:
            warning = (f"training run {run_id} is not in the MLflow store at {mlflow.get_tracking_uri()}: the "
                       "evaluation is logged to a new run without the training's curves and config (train with "
                       "this MLFLOW_TRACKING_URI to keep them together)")
    else:
        warning = "no training run id next to the model (trained with tracking off): evaluation logged to a new run"
    log.warning(warning)
    return mlflow.start_run(experiment_id=experiment_id, tags={MISSING_RUN_TAG: warning}), warning


def log_and_register(
    params: dict[str, Any], run_id: str | None, model_root: str | Path, metrics: dict[str, Any],
    artifacts: list[Path], tags: dict[str, str],
) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient

    from emoheal.tracking.aliases import assign_on_register
    from emoheal.tracking.pyfunc import EmotionPyfunc

    tracking = params["tracking"]
    run, warning = start_stage_run(tracking["experiment"], run_id)
    if warning:
        tags = {**tags, MISSING_RUN_TAG: warning}  # on the registered version too: `make bento` shows it
    with run:
        # every number, per-label precision/recall/F1 included, so runs compare in the UI
        mlflow.log_metrics(_numeric(metrics, ""))
        for path in artifacts:
            mlflow.log_artifact(str(path), "evaluation")
        mlflow.set_tags(tags)
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "emotion_model"
            _stage_model(Path(model_root), staged)
            info = mlflow.pyfunc.log_model(
                name="emotion_model",
                python_model=EmotionPyfunc(),
                artifacts={"emotion_model": str(staged)},
                pip_requirements=[f"{p}=={version(p)}" for p in _RUNTIME_PACKAGES] + ["emoheal"],
                input_example=_EXAMPLE,
            )
        result = {"run_id": run.info.run_id, "model_uri": info.model_uri,
                  **({"warnings": [warning]} if warning else {})}
        if tracking["register"]:
            registered = mlflow.register_model(info.model_uri, tracking["registered_model"], tags=tags)
            result["registered_model"] = tracking["registered_model"]
            result["registered_version"] = registered.version
            result["aliases"] = assign_on_register(MlflowClient(), tracking["registered_model"], registered.version)
        return result


def _stage_model(root: Path, staged: Path) -> None:
    """Copy just what the predictor needs (model/, thresholds, calibration)."""
    import shutil

    shutil.copytree(root / "model", staged / "model")
    for name in ("thresholds.json", "calibration.json"):
        shutil.copy2(root / name, staged / name)
