"""Train fine-tuning recipes side by side and score each on dev (cross-fitted thresholds), one
MLflow run per recipe, so the choice of the pipeline's recipe is made on dev and can be re-run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emoheal.config import compose_params
from emoheal.data.prepared import read_prepared
from emoheal.emotion.baseline import fit_lexical
from emoheal.emotion.devscore import choose_lexical_weight, dev_scores
from emoheal.emotion.lexical import LexicalModel, load_lexical
from emoheal.emotion.predictor import EmotionPredictor, mix_logits
from emoheal.emotion.thresholds import threshold_grid
from emoheal.settings import validate_params
from emoheal.utils.io import read_json, write_json

log = logging.getLogger(__name__)
EXPERIMENT = "emoheal-emotion-candidates"


def read_candidates(path: str | Path) -> tuple[list[str], dict[str, list[str]]]:
    """(base overrides, {name: overrides}) from the candidates file."""
    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or not isinstance(spec.get("candidates"), dict):
        raise ValueError(f"{path}: expected a mapping with `base` and `candidates`")
    return list(spec.get("base") or []), {name: list(o or []) for name, o in spec["candidates"].items()}


def candidate_params(name: str, base: list[str], overrides: list[str], out_root: Path,
                     config_dir: str | Path = "conf") -> dict[str, Any]:
    params = compose_params([*base, *overrides], config_dir)
    params["paths"]["model"] = str(out_root / name)
    params["tracking"]["experiment"] = EXPERIMENT
    validate_params(params, f"candidate {name}")
    return params


def shared_lexical(params: dict[str, Any], labels: list[str], out_root: Path) -> LexicalModel:
    """One lexical part for candidates trained without their own: it depends only on the training
    split and train.lexical, not on the encoder, so every recipe is mixed with the same one."""
    folder = out_root / "_lexical"
    found = load_lexical(folder)
    if found is not None:
        return found
    train = read_prepared(params["paths"]["prepared"], "train")
    lexical = fit_lexical(train["text"].tolist(), train[labels].to_numpy(), params["train"]["lexical"], params["seed"])
    folder.mkdir(parents=True, exist_ok=True)
    lexical.save(folder)
    return lexical


def score_on_dev(params: dict[str, Any], out_root: Path) -> dict[str, Any]:
    """Cross-fitted dev scores of the encoder alone, and of its mix with the lexical part at the
    weight cross-fitting picks (the thresholds stage's choice, made the same way)."""
    predictor = EmotionPredictor(Path(params["paths"]["model"]) / "model")
    dev = read_prepared(params["paths"]["prepared"], "dev")
    texts = dev["text"].tolist()
    encoder, _ = predictor.encoder_logits(texts)
    y = dev[predictor.labels].to_numpy(dtype=np.uint8)
    grid = threshold_grid(params["thresholds"])
    scores = dev_scores(encoder, y, grid)
    lexical = predictor.lexical or shared_lexical(params, predictor.labels, out_root)
    lexical_logits = lexical.decision_function(texts)
    weight, _ = choose_lexical_weight(encoder, lexical_logits, y, grid, params["calibration"]["lexical_weights"])
    mixed = dev_scores(mix_logits(encoder, lexical_logits, weight), y, grid)
    scores["with_lexical"] = {"weight": weight, **mixed}
    return scores


def run_candidate(name: str, overrides: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """Train one recipe (resuming if it was killed), score it on dev, tag its MLflow run."""
    from emoheal.emotion.train import train_emotion_model

    model_dir = Path(params["paths"]["model"]) / "model"
    if (model_dir / "emotion_model.json").is_file():
        meta = read_json(model_dir / "emotion_model.json")
        run_id = _candidate_run(model_dir, name, params)
        log.info("candidate %s: already trained (%s), scoring only", name, meta["version"])
    else:
        result = train_emotion_model(params, track=params["tracking"]["enabled"])
        meta, run_id = result.meta, result.run_id
    dev = score_on_dev(params, Path(params["paths"]["model"]).parent)
    if run_id:
        _tag_run(run_id, name, overrides, dev)
    return {
        "overrides": overrides,
        "dev": dev,
        "model_version": meta["version"],
        "global_step": meta["global_step"],
        "train_seconds": meta["train_seconds"],
        "mlflow_run_id": run_id,
    }


def _candidate_run(model_dir: Path, name: str, params: dict[str, Any]) -> str | None:
    """The candidate's run for a model found already trained: its own training run when that is in
    the candidates' experiment, else a new run there (params logged, the training run named), so
    every candidate is one run of that experiment even when its model was trained elsewhere."""
    if not params["tracking"]["enabled"]:
        return None
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    from emoheal.tracking.runs import ensure_experiment, flatten, tracking_uri

    client = MlflowClient(tracking_uri())
    experiment_id = ensure_experiment(EXPERIMENT)
    run_file = model_dir / "mlflow_run.json"
    trained_in = read_json(run_file)["run_id"] if run_file.is_file() else None
    if trained_in:
        try:
            if client.get_run(trained_in).info.experiment_id == experiment_id:
                return trained_in
        except Exception:  # noqa: BLE001 - a run from another store: start a new one below
            pass
    run = client.create_run(experiment_id, tags={"trained_in_run": trained_in or "unknown"})
    client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in flatten(params).items()])
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _tag_run(run_id: str, name: str, overrides: list[str], dev: dict[str, Any]) -> None:
    from mlflow.tracking import MlflowClient

    from emoheal.tracking.runs import tracking_uri

    client = MlflowClient(tracking_uri())
    client.set_tag(run_id, "mlflow.runName", f"candidate-{name}")
    client.set_tag(run_id, "candidate", name)
    client.set_tag(run_id, "overrides", " ".join(overrides) or "(none)")
    for key in ("macro_f1", "micro_f1", "macro_f1_in_sample", "micro_f1_in_sample"):
        client.log_metric(run_id, f"dev_crossfit/{key}" if "in_sample" not in key else f"dev/{key}", dev[key])
    mixed = dev["with_lexical"]
    for key in ("macro_f1", "micro_f1", "weight"):
        client.log_metric(run_id, f"dev_crossfit_with_lexical/{key}", mixed[key])


def update_results(path: str | Path, name: str, result: dict[str, Any]) -> dict[str, Any]:
    """Add or replace one candidate's result in the results file; returns every result."""
    path = Path(path)
    results = read_json(path) if path.is_file() else {}
    results[name] = result
    write_json(path, results)
    return results
