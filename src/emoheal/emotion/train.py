"""Fine-tune an encoder on GoEmotions with Lightning; resumable, tracked in MLflow."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    EMAWeightAveraging,
    ModelCheckpoint,
    TQDMProgressBar,
)
from lightning.pytorch.loggers import MLFlowLogger

from emoheal.data.prepared import read_manifest, read_prepared
from emoheal.emotion.artifacts import save_model_folder
from emoheal.emotion.backbone import build_backbone, resolve_pretrained_path
from emoheal.emotion.baseline import fit_lexical
from emoheal.emotion.datamodule import GoEmotionsDataModule
from emoheal.emotion.distill import teacher_targets
from emoheal.emotion.lexical import LexicalModel
from emoheal.emotion.lit_module import EmotionLitModule
from emoheal.emotion.losses import DistillationLoss, build_loss
from emoheal.emotion.model import EmotionClassifier
from emoheal.emotion.optim import freeze_word_embeddings
from emoheal.tracking.runs import artifact_location, flatten, tracking_uri
from emoheal.utils.git import git_commit
from emoheal.utils.hashing import sha256_json
from emoheal.utils.io import read_json, write_json

log = logging.getLogger(__name__)
MONITOR = "val/macro_f1_tuned"


@dataclass
class TrainResult:
    model_dir: Path
    meta: dict[str, Any]
    run_id: str | None
    resumed_from: str | None
    global_step: int


def run_key(params: dict[str, Any], data_hash: str) -> str:
    """Identity of a training run: a killed run resumes only into the same key."""
    relevant = {k: params[k] for k in ("data", "backbone", "trainer", "train", "seed")}
    return sha256_json({"params": relevant, "data": data_hash})[:16]


def _strategy(trainer_cfg: dict[str, Any]):
    if trainer_cfg["strategy"] == "ddp":
        from lightning.pytorch.strategies import DDPStrategy

        backend = "nccl" if torch.cuda.is_available() and trainer_cfg["accelerator"] != "cpu" else "gloo"
        return DDPStrategy(process_group_backend=backend)
    return trainer_cfg["strategy"]


def _backbone_for_run(backbone_cfg, train_texts, run_dir: Path):
    """Build the backbone. A tiny run's trained tokenizer is saved in the run folder
    and always used as re-loaded from there, so training, every DDP rank, a resumed
    run and the saved model all tokenise identically (a freshly trained tokenizer
    object and its saved-and-loaded copy differ on some texts)."""
    from transformers import AutoTokenizer

    if backbone_cfg["source"] != "tiny":
        return build_backbone(backbone_cfg)
    saved = run_dir / "tokenizer"
    if not (saved / "tokenizer.json").is_file():
        _, trained = build_backbone(backbone_cfg, train_texts)
        trained.save_pretrained(saved)
    tokenizer = AutoTokenizer.from_pretrained(saved, local_files_only=True)
    return build_backbone(backbone_cfg, tokenizer=tokenizer)


def train_emotion_model(
    params: dict[str, Any],
    extra_callbacks: Sequence[Callback] = (),
    track: bool = True,
) -> TrainResult:
    """Train (or resume) the run that `params` and the prepared data identify, save the best
    checkpoint's model to paths.model/model and return it. Keep the steps in this order: the
    backbone (a tiny one is initialised at random) and the classifier head draw from the seeded
    random state, so building them in another order would change the weights, hence the version."""
    paths, backbone_cfg = params["paths"], params["backbone"]
    _set_up_process(params)

    manifest = read_manifest(paths["prepared"])
    label_names = manifest["labels"]
    train_df, dev_df = read_prepared(paths["prepared"], "train"), read_prepared(paths["prepared"], "dev")
    soft, teachers = teacher_targets(train_df, label_names, params["train"]["distill"])
    # loading the teachers may draw from the seeded state: start the run's draws afresh
    L.seed_everything(params["seed"], workers=True, verbose=False)

    key = run_key(params, manifest["data_hash"] + teachers)
    run_dir = Path(paths["checkpoints"]) / key
    run_dir.mkdir(parents=True, exist_ok=True)
    encoder, tokenizer = _backbone_for_run(backbone_cfg, train_df["text"].tolist(), run_dir)
    datamodule = _datamodule(params, train_df, dev_df, label_names, tokenizer, soft)
    module = _lit_module(params, encoder, len(label_names), distilling=soft is not None)

    ckpt_dir = run_dir / "checkpoints"
    best, callbacks = _callbacks(params["train"], ckpt_dir, extra_callbacks)
    run_id_file = run_dir / "mlflow_run_id"
    logger = _mlflow_logger(params, key, manifest["data_hash"], run_id_file) if track else False
    trainer = _trainer(params, callbacks, logger, run_dir)
    if logger and trainer.is_global_zero:
        run_id_file.write_text(logger.run_id)
        logger.log_hyperparams(flatten(params))

    last = ckpt_dir / "last.ckpt"
    resumed_from = str(last) if last.is_file() else None
    if resumed_from:
        log.info("resuming from %s", resumed_from)
    started = time.time()
    trainer.fit(module, datamodule=datamodule, ckpt_path=resumed_from)
    if not trainer.is_global_zero:
        return TrainResult(Path(paths["model"]), {}, None, resumed_from, trainer.global_step)

    if best.best_model_path and Path(best.best_model_path).is_file():
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)["state_dict"]
        module.load_state_dict(state)
    meta = _training_meta(params, label_names, manifest["data_hash"], key, best, trainer.global_step, started)
    lexical_cfg = params["train"]["lexical"]
    lexical = (fit_lexical(train_df["text"].tolist(), train_df[label_names].to_numpy(), lexical_cfg, params["seed"])
               if lexical_cfg["enabled"] else None)
    model_dir, meta, run_id = _save_model(params, module, tokenizer, meta, logger, lexical)
    # the run folder is only a resume point: the model is saved (and logged) now
    shutil.rmtree(run_dir, ignore_errors=True)
    return TrainResult(model_dir, meta, run_id, resumed_from, trainer.global_step)


def _set_up_process(params: dict[str, Any]) -> None:
    """Fail at once, before any data is read, if pretrained weights are absent; then threads and seeds."""
    backbone_cfg, trainer_cfg = params["backbone"], params["trainer"]
    if backbone_cfg["source"] != "tiny":
        resolve_pretrained_path(backbone_cfg)
    if trainer_cfg["num_threads"]:
        torch.set_num_threads(int(trainer_cfg["num_threads"]))
    L.seed_everything(params["seed"], workers=True, verbose=False)


def _datamodule(params: dict[str, Any], train_df, dev_df, label_names: list[str], tokenizer,
                teacher_probs: np.ndarray | None = None) -> GoEmotionsDataModule:
    paths, train_cfg, backbone_cfg = params["paths"], params["train"], params["backbone"]
    return GoEmotionsDataModule(
        train_df, dev_df, label_names, tokenizer, backbone_cfg["max_length"],
        train_cfg["batch_size"], train_cfg["eval_batch_size"], params["seed"],
        Path(paths["cache"]) / "tokens", train_cfg["length_group_pool"], train_cfg["num_workers"], teacher_probs,
    )


def _lit_module(params: dict[str, Any], encoder, num_labels: int, distilling: bool = False) -> EmotionLitModule:
    train_cfg, backbone_cfg = params["train"], params["backbone"]
    classifier = EmotionClassifier(encoder, num_labels, backbone_cfg["pooling"], train_cfg["dropout"])
    # from_pretrained returns the encoder in eval mode and Lightning keeps each
    # submodule's mode: without this, fine-tuning would run with dropout off.
    classifier.train()
    if train_cfg["freeze_word_embeddings"]:
        log.info("word embeddings frozen (%d weights)", freeze_word_embeddings(classifier))
    loss = build_loss(train_cfg["loss"])
    if distilling:
        loss = DistillationLoss(loss, float(train_cfg["distill"]["weight"]))
    return EmotionLitModule(
        classifier, backbone_cfg["encoder_lr"], backbone_cfg["head_lr"],
        train_cfg["weight_decay"], train_cfg["warmup_ratio"], train_cfg["layer_lr_decay"],
        train_cfg["rdrop_alpha"], loss,
    )


def _callbacks(train_cfg: dict[str, Any], ckpt_dir: Path,
               extra_callbacks: Sequence[Callback]) -> tuple[ModelCheckpoint, list[Callback]]:
    """(the best-checkpoint callback, every callback for the trainer)."""
    periodic = ModelCheckpoint(
        dirpath=ckpt_dir, filename="periodic", every_n_train_steps=train_cfg["checkpoint_every_n_steps"],
        save_top_k=0, save_last=True, enable_version_counter=False,
    )
    # Only the periodic callback writes last.ckpt (the resume point): two callbacks
    # saving "last" would make Lightning write last-v1.ckpt beside it.
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=MONITOR, mode="max", save_top_k=1)
    callbacks: list[Callback] = [periodic, best, *extra_callbacks]
    ema = train_cfg["ema"]
    if ema["decay"]:
        # validation, the best checkpoint and the saved model all see the averaged weights
        callbacks.append(EMAWeightAveraging(decay=ema["decay"], update_starting_at_step=ema["start_step"]))
    if train_cfg["progress_bar"]:
        # tqdm rather than Lightning's default rich bar, which prints nothing
        # when output goes to a log file (as under `make run > log`)
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    if train_cfg["early_stopping_patience"]:
        callbacks.append(EarlyStopping(monitor=MONITOR, mode="max", patience=train_cfg["early_stopping_patience"],
                                       check_on_train_epoch_end=False))
    return best, callbacks


def _mlflow_logger(params: dict[str, Any], key: str, data_hash: str, run_id_file: Path) -> MLFlowLogger:
    """The run's MLflow logger; a resumed run logs into the run it started (its id is in `run_id_file`)."""
    uri = tracking_uri()
    return MLFlowLogger(
        experiment_name=params["tracking"]["experiment"], tracking_uri=uri,
        artifact_location=artifact_location(uri),
        run_name=f"{params['backbone']['name']}-{params['profile']}-{key[:8]}",
        run_id=run_id_file.read_text().strip() if run_id_file.is_file() else None,
        tags={"git_commit": git_commit(), "data_hash": data_hash, "run_key": key, "profile": params["profile"]},
    )


def _trainer(params: dict[str, Any], callbacks: list[Callback], logger, run_dir: Path) -> L.Trainer:
    train_cfg, trainer_cfg = params["train"], params["trainer"]
    return L.Trainer(
        accelerator=trainer_cfg["accelerator"], devices=trainer_cfg["devices"], strategy=_strategy(trainer_cfg),
        precision=trainer_cfg["precision"], deterministic=trainer_cfg["deterministic"],
        max_epochs=train_cfg["max_epochs"], max_steps=train_cfg["max_steps"],
        gradient_clip_val=train_cfg["gradient_clip_val"], val_check_interval=train_cfg["val_check_interval"],
        log_every_n_steps=train_cfg["log_every_n_steps"], enable_progress_bar=train_cfg["progress_bar"],
        callbacks=callbacks, logger=logger, use_distributed_sampler=False, default_root_dir=str(run_dir),
        enable_model_summary=False,
    )


def _training_meta(params: dict[str, Any], label_names: list[str], data_hash: str, key: str,
                   best: ModelCheckpoint, global_step: int, started: float) -> dict[str, Any]:
    """What the model folder records about its training (save_model_folder adds the version)."""
    backbone_cfg = params["backbone"]
    return {
        "labels": label_names,
        "backbone": backbone_cfg["name"],
        "pooling": backbone_cfg["pooling"],
        "max_length": backbone_cfg["max_length"],
        "multilingual": backbone_cfg["multilingual"],
        "dropout": params["train"]["dropout"],
        "data_hash": data_hash,
        "run_key": key,
        "git_commit": git_commit(),
        "best_dev_macro_f1_tuned": float(best.best_model_score) if best.best_model_score is not None else None,
        "global_step": global_step,
        "train_seconds": round(time.time() - started, 1),
    }


def _save_model(params: dict[str, Any], module: EmotionLitModule, tokenizer, meta: dict[str, Any],
                logger, lexical: LexicalModel | None = None) -> tuple[Path, dict[str, Any], str | None]:
    """Write paths.model/model afresh (and log its identity to the run); returns (folder, meta with
    the version, MLflow run id or None)."""
    model_dir = Path(params["paths"]["model"]) / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    meta = save_model_folder(model_dir, module.classifier.cpu(), tokenizer, meta, lexical)
    run_id = None
    if logger:
        run_id = logger.run_id
        write_json(model_dir / "mlflow_run.json", {"run_id": run_id, "experiment": params["tracking"]["experiment"]})
        _log_training_artifacts(logger, params, model_dir, meta)
    return model_dir, meta, run_id


def _log_training_artifacts(logger: MLFlowLogger, params, model_dir: Path, meta) -> None:
    client, run_id = logger.experiment, logger.run_id
    tmp = model_dir.parent / "params.resolved.yaml"
    tmp.write_text(yaml.safe_dump(params, sort_keys=False))
    client.log_artifact(run_id, str(tmp), "config")
    tmp.unlink()
    # the weights are logged once, with thresholds and calibration, as the
    # registered pyfunc model in the evaluate stage; here only their identity
    client.log_artifact(run_id, str(model_dir / "emotion_model.json"), "training")
    client.set_tag(run_id, "model_version", meta["version"])
    client.log_metric(run_id, "train_seconds", meta["train_seconds"])


def read_run_id(model_root: str | Path) -> str | None:
    path = Path(model_root) / "model" / "mlflow_run.json"
    return read_json(path)["run_id"] if path.is_file() else None
