"""Training behaviour: resume after a kill, DDP on two CPU processes, offline failure."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import lightning as L
import pytest
from safetensors.torch import load_file

from emoheal.emotion.train import train_emotion_model
from tests.helpers import compose, run_stage, run_stages, write_params


class _Killed(RuntimeError):
    pass


class KillAtStep(L.Callback):
    """Stands in for a kill: the process dies mid-epoch, after a periodic checkpoint."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise _Killed(f"killed at step {self.step}")


def _variant(params: dict, tmp: Path, name: str) -> dict:
    p = copy.deepcopy(params)
    p["paths"]["model"] = str(tmp / name / "emotion")
    p["paths"]["checkpoints"] = str(tmp / name / "checkpoints")
    p["train"]["max_epochs"] = 1
    p["train"]["checkpoint_every_n_steps"] = 10
    # resume and DDP are mechanics: the tiny backbone shows them in seconds (the ci MiniLM is
    # what tests/model/test_ci_model.py measures)
    p["backbone"] = compose("backbone=tiny")["backbone"]
    return p


def test_killed_run_resumes_and_ends_exactly_like_an_uninterrupted_one(prepared_ci, tmp_path):
    straight = train_emotion_model(_variant(prepared_ci, tmp_path, "straight"), track=False)
    interrupted = _variant(prepared_ci, tmp_path, "interrupted")
    with pytest.raises(_Killed):
        train_emotion_model(interrupted, extra_callbacks=[KillAtStep(25)], track=False)
    assert list(Path(interrupted["paths"]["checkpoints"]).rglob("last.ckpt"))
    resumed = train_emotion_model(interrupted, track=False)
    assert resumed.resumed_from and resumed.resumed_from.endswith("last.ckpt")
    assert resumed.global_step == straight.global_step
    head_a = load_file(str(straight.model_dir / "head.safetensors"))
    head_b = load_file(str(resumed.model_dir / "head.safetensors"))
    assert (head_a["weight"] - head_b["weight"]).abs().max().item() == 0.0
    assert resumed.meta["version"] == straight.meta["version"]


def test_ddp_trains_on_two_cpu_processes(prepared_ci, tmp_path):
    single = _variant(prepared_ci, tmp_path, "single")
    ddp = _variant(prepared_ci, tmp_path, "ddp")
    ddp["trainer"] = compose("trainer=ddp")["trainer"]
    ddp["tracking"]["enabled"] = False
    result = run_stage("train", write_params(ddp, tmp_path / "ddp.yaml"))
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr + result.stdout
    meta = json.loads((Path(ddp["paths"]["model"]) / "model" / "emotion_model.json").read_text())
    single_steps = -(-single["data"]["limit"]["train"] // single["train"]["batch_size"])
    # each of the two ranks takes half of the batches, so the run takes half the steps
    assert meta["global_step"] == single_steps // 2


def test_paper_profile_offline_fails_fast_with_the_download_message(prepared_ci, tmp_path):
    params = compose("profile=paper", f"backbone.path={tmp_path / 'xlm-roberta-base'}",
                     *(f"paths.{k}={v}" for k, v in prepared_ci["paths"].items() if k != "raw"))
    started = time.time()
    result = run_stage("train", write_params(params, tmp_path / "paper.yaml"), check=False)
    assert result.returncode == 2
    assert "FacebookAI/xlm-roberta-base" in result.stderr and "Traceback" not in result.stderr
    assert time.time() - started < 60  # fails before reading data or building anything


def test_cpu_training_with_a_fixed_seed_reproduces_its_weights_and_metrics(prepared_ci, tmp_path):
    """train → thresholds → evaluate twice from scratch (separate checkpoint, cache and model folders),
    each chain in its own process: the same weights (the model version is their hash) and the same
    test metrics. The tiny backbone keeps it to seconds; the code path is the one every backbone takes."""
    runs = []
    for name in ("first", "again"):
        params = _variant(prepared_ci, tmp_path, name)
        for key in ("cache", "metrics", "plots", "monitoring"):
            params["paths"][key] = str(tmp_path / name / key)
        params["tracking"]["enabled"] = False
        params_file = write_params(params, tmp_path / f"{name}.yaml")
        run_stages(("train", "thresholds", "evaluate"), params_file)
        runs.append(json.loads((tmp_path / name / "metrics" / "emotion.json").read_text()))
    first, again = runs
    assert again["model_version"] == first["model_version"]
    assert again["thresholds"] == first["thresholds"]
    timing = {"inference_seconds"}
    assert {k: v for k, v in again["test"].items() if k not in timing} == \
        {k: v for k, v in first["test"].items() if k not in timing}
    assert again["per_label"] == first["per_label"]


RECIPE = {"freeze_word_embeddings": True, "layer_lr_decay": 0.8, "rdrop_alpha": 1.0,
          "loss": {"name": "asl", "gamma_neg": 4.0, "gamma_pos": 0.0, "clip": 0.05},
          "ema": {"decay": 0.99, "start_step": 5}}


def test_every_recipe_option_at_once_resumes_exactly(prepared_ci, tmp_path):
    """bf16 autocast, frozen word embeddings, layer-wise rates, ASL, R-Drop and EMA together: a run
    killed mid-epoch resumes (the EMA's average travels in the checkpoint) to the very weights of
    an uninterrupted one."""
    def variant(name: str) -> dict:
        p = _variant(prepared_ci, tmp_path, name)
        p["train"].update(copy.deepcopy(RECIPE))
        p["trainer"]["precision"] = "bf16-mixed"
        return p

    straight = train_emotion_model(variant("straight"), track=False)
    interrupted = variant("interrupted")
    with pytest.raises(_Killed):
        train_emotion_model(interrupted, extra_callbacks=[KillAtStep(25)], track=False)
    resumed = train_emotion_model(interrupted, track=False)
    assert resumed.global_step == straight.global_step
    assert resumed.meta["version"] == straight.meta["version"]
    plain = train_emotion_model(_variant(prepared_ci, tmp_path, "plain"), track=False)
    assert plain.meta["version"] != straight.meta["version"]  # the options did change the training


def test_a_student_distilled_from_a_teacher_is_another_run(prepared_ci, tmp_path):
    """Soft targets from a trained teacher change the run (its key and weights), and the student
    keeps the lexical part fitted on the annotators' labels, not on the soft targets."""
    teacher_params = _variant(prepared_ci, tmp_path, "teacher")
    teacher_params["train"]["max_steps"] = 20
    teacher = train_emotion_model(teacher_params, track=False)
    student_params = _variant(prepared_ci, tmp_path, "student")
    student_params["train"]["max_steps"] = 20
    plain = train_emotion_model(copy.deepcopy(student_params), track=False)
    student_params["train"]["distill"] = {"teachers": [str(teacher.model_dir)], "weight": 0.5}
    student_params["paths"]["model"] = str(tmp_path / "student2" / "emotion")
    student = train_emotion_model(student_params, track=False)
    assert student.meta["run_key"] != plain.meta["run_key"]
    assert student.meta["version"] != plain.meta["version"]
    lexical = [(r.model_dir / "lexical.npz").read_bytes() for r in (plain, student)]
    assert lexical[0] == lexical[1]


def test_a_missing_teacher_stops_the_run_with_what_to_do(prepared_ci, tmp_path):
    params = _variant(prepared_ci, tmp_path, "orphan")
    params["train"]["distill"] = {"teachers": [str(tmp_path / "no-such-teacher")], "weight": 0.5}
    with pytest.raises(FileNotFoundError, match="train it first"):
        train_emotion_model(params, track=False)
