"""The DVC pipeline itself, in a throw-away git copy of the project: Hydra
composition through `dvc exp run -S`, every stage, metrics in `dvc exp show`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

BIN = Path(sys.executable).parent
# These tests are about DVC and Hydra, not the models: the ci profile with the tiny backbone on a
# smaller subset, and the crisis screen's cheapest candidate on 3 folds of 8 paraphrase families per
# risk category (the ci profile's own MiniLM and screen are what tests/model/ and the safety tests check).
CI_TINY = ["-S", "profile=ci", "-S", "backbone=tiny", "-S", "data.limit.train=1200", "-S", "data.limit.dev=400",
           "-S", "data.limit.test=400", "-S", "safety.ordinary.n=300", "-S", "safety.cv.folds=3",
           "-S", "safety.families_per_category=8",
           "-S", "safety.selection.candidates=[{char_ngrams:false,standardize:false,segments:false}]"]


def _sh(args, cwd, check=True, timeout=900):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "MLFLOW_TRACKING_URI": f"sqlite:///{cwd}/mlflow/mlflow.db"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory):
    """The tracked files of the working tree, committed in a fresh repository."""
    dest = tmp_path_factory.mktemp("project") / "emoheal"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file() and not name.startswith(("models/", "metrics/", "plots/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "dvc.lock").unlink(missing_ok=True)
    (dest / "mlflow").mkdir()
    for args in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        _sh(args, dest)
    return dest


def test_exp_run_composes_hydra_overrides_and_runs_every_stage(project_copy):
    _sh(["dvc", "exp", "run", *CI_TINY, "-S", "train.max_epochs=1", "-n", "ci-check"], project_copy)
    shown = json.loads(_sh(["dvc", "exp", "show", "--json"], project_copy).stdout)
    text = json.dumps(shown)
    assert "ci-check" in text
    metrics = json.loads((project_copy / "metrics" / "emotion.json").read_text())
    assert metrics["backbone"] == "tiny" and metrics["profile"] == "ci"
    assert 0 <= metrics["test"]["macro_f1"] <= 1
    status = _sh(["dvc", "status"], project_copy).stdout
    assert "changed" not in status  # everything the experiment produced is up to date


def test_exp_run_with_xlmr_offline_stops_with_the_download_message(project_copy):
    params = project_copy / "params.yaml"
    before = params.read_text()
    try:
        result = _sh(["dvc", "exp", "run", *CI_TINY, "-S", "backbone=xlmr_base"], project_copy, check=False)
    finally:  # a failed experiment leaves its params in the workspace: put back the ci experiment's
        params.write_text(before)
    assert result.returncode != 0
    assert "FacebookAI/xlm-roberta-base" in result.stdout + result.stderr


def _ran(output: str) -> set[str]:
    import re

    return set(re.findall(r"Running stage '([\w-]+)'", output))


def test_a_second_repro_reruns_nothing(project_copy):
    """After the experiment above, the pipeline is up to date: `dvc repro` runs no stage."""
    result = _sh(["dvc", "repro"], project_copy)
    assert _ran(result.stdout) == set(), result.stdout[-3000:]


def test_editing_one_kg_csv_reruns_only_the_graph_and_what_depends_on_it(project_copy):
    rules = project_copy / "data" / "kg" / "timbres.csv"
    before = rules.read_text()
    assert "ambient_pad,ambient pads," in before
    rules.write_text(before.replace("ambient_pad,ambient pads,", "ambient_pad,warm ambient pads,"))  # a prompt phrase
    result = _sh(["dvc", "repro"], project_copy)
    ran = _ran(result.stdout)
    assert "compile_kg" in ran, result.stdout[-3000:]
    untouched = {"prepare", "train", "thresholds", "evaluate", "render_corpus", "describe_corpus", "corpus_emotion"}
    assert not ran & untouched, ran


def _params_with_metrics(shown) -> list[tuple[dict, dict]]:
    """(params.yaml, metrics/emotion.json) of every revision `dvc exp show --json` lists."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and "params" in data:
                params = (data.get("params") or {}).get("params.yaml", {}).get("data", {})
                metrics = (data.get("metrics") or {}).get("metrics/emotion.json", {}).get("data", {})
                found.append((params, metrics))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(shown)
    return found


def _mlflow_runs(project):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project}/mlflow/mlflow.db")
    experiment = client.get_experiment_by_name("emoheal-emotion")
    return client, client.search_runs([experiment.experiment_id])


def test_a_tracked_run_carries_the_commit_the_dvc_hashes_and_the_full_config(project_copy, tmp_path):
    client, runs = _mlflow_runs(project_copy)
    run = next(r for r in runs if r.data.params.get("profile") == "ci" and "test.macro_f1" in r.data.metrics)
    tags = run.data.tags
    assert len(tags["git_commit"].removesuffix("-dirty")) == 40
    lock = (project_copy / "dvc.lock").read_text()
    for path in ("data/raw/goemotions", "data/prepared/goemotions", "models/emotion/model"):
        assert tags[f"dvc.{path}"].endswith(".dir") and tags[f"dvc.{path}"] in lock
    assert run.data.params["backbone.name"] == "tiny" and run.data.params["train.max_epochs"] == "1"
    config = client.download_artifacts(run.info.run_id, "config/params.resolved.yaml", str(tmp_path))
    logged = yaml.safe_load(Path(config).read_text())
    assert logged["profile"] == "ci" and logged["kg"]["planner"] and logged["monitoring"]["drift"]


@pytest.mark.slow  # four trainings, one of them MiniLM (~3 min): `make test-all` runs it
def test_a_sweep_over_learning_rate_and_backbone_shows_in_dvc_exp_show_and_in_mlflow(project_copy):
    rates = ("0.001", "0.003")
    # a sweep of the emotion model's training targets `evaluate` (what the comparison reads), as one
    # would: the crisis screen's stage and the monitoring reference need not retrain per trial
    _sh(["dvc", "exp", "run", "--queue", "evaluate", *CI_TINY, "-S", "train.max_epochs=1",
         "-S", f"backbone.encoder_lr={','.join(rates)}"], project_copy)
    # the packaged MiniLM on the ci subset (XLM-R needs local weights: see the test above)
    _sh(["dvc", "exp", "run", "--queue", "evaluate", "-S", "profile=ci", "-S", "data.limit.train=1200", "-S",
         "train.max_epochs=1", "-S", "backbone=minilm", "-S", "backbone.encoder_lr=0.0001"], project_copy)
    _sh(["dvc", "exp", "run", "--run-all", "-j", "1"], project_copy, timeout=1800)
    shown = _params_with_metrics(json.loads(_sh(["dvc", "exp", "show", "--json"], project_copy).stdout))
    swept = {(p.get("backbone", {}).get("name"), str(p.get("backbone", {}).get("encoder_lr"))): m for p, m in shown}
    for key in [("tiny", str(float(rate))) for rate in rates] + [("minilm", "0.0001")]:
        assert key in swept, sorted(swept)
        assert 0 <= swept[key]["test"]["macro_f1"] <= 1
    _, runs = _mlflow_runs(project_copy)
    logged = {(r.data.params.get("backbone.name"), r.data.params.get("backbone.encoder_lr"))
              for r in runs if "test.macro_f1" in r.data.metrics}
    assert {("tiny", str(float(rate))) for rate in rates} | {("minilm", "0.0001")} <= logged, logged
