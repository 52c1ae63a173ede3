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

from tests.helpers import ROOT

BIN = Path(sys.executable).parent


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
    _sh(["dvc", "exp", "run", "-S", "profile=ci", "-S", "train.max_epochs=1", "-n", "ci-check"], project_copy)
    shown = json.loads(_sh(["dvc", "exp", "show", "--json"], project_copy).stdout)
    text = json.dumps(shown)
    assert "ci-check" in text
    metrics = json.loads((project_copy / "metrics" / "emotion.json").read_text())
    assert metrics["backbone"] == "tiny" and metrics["profile"] == "ci"
    assert 0 <= metrics["test"]["macro_f1"] <= 1
    status = _sh(["dvc", "status"], project_copy).stdout
    assert "changed" not in status  # everything the experiment produced is up to date


def test_exp_run_with_xlmr_offline_stops_with_the_download_message(project_copy):
    result = _sh(["dvc", "exp", "run", "-S", "profile=ci", "-S", "backbone=xlmr_base"], project_copy, check=False)
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
