"""Where MLflow runs are stored, and attaching later stages to the training run.

Default: a sqlite store and an artifact folder under `mlflow/` in the project
(both git-ignored). `MLFLOW_TRACKING_URI` overrides the store; artifacts of a
sqlite store then go beside its database file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_DIR = "mlflow"


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    folder = Path(DEFAULT_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Beside a sqlite database; for a server or other store, the store decides."""
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri.removeprefix("sqlite:///"))
    return (db.parent / "artifacts").resolve().as_uri()


def ensure_experiment(name: str) -> str:
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location(uri))


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
