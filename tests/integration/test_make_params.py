"""Make targets leave the workspace's params.yaml alone (issue 17, item 6): `make serve`,
`make bento-models` and `make monitor` read the params.yaml they find — an experiment's, after
`dvc exp run -S ...` — and only `make run` / `make params` compose it. And `make dvc ARGS=...` runs
DVC with the venv first on PATH, so the stages' bare `python` is the venv's (item 9).

The real Makefile runs under real make in a throw-away copy of the project (the Makefile and conf/),
so the workspace's own params.yaml is never at risk. Real: make, every recipe and prerequisite of the
targets, and `emoheal params` (the command that used to rewrite params.yaml). Stood in for: the program
at the end of each target (`emoheal bento import`, `emoheal monitor`, `bentoml serve`, `dvc`), which
would read the MLflow registry, load models or start a server; each stand-in records how it was called
and the params.yaml it would have read. `setup` does nothing because make itself finds nothing to do:
the venv stamp is newer than what it is built from, and APT_PACKAGES is empty.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT

MAKEFILE = ROOT / "Makefile"
REAL_BIN = Path(sys.executable).parent  # the venv running the tests; its `emoheal params` is the real one

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

# target → the stood-in programs it ends in, in order (serve first fills the empty model store).
TARGETS = {
    "bento-models": [("emoheal", "bento import")],
    "monitor": [("emoheal", "monitor")],
    "serve": [("emoheal", "bento import"),
              ("bentoml", "serve serving.service:EmoHeal --host 127.0.0.1 --port 3000")],
}

STAND_IN = """#!/bin/sh
# test stand-in: records its name, arguments, the params.yaml it would read and which python is on PATH
{passthrough}
echo "{name}|$*|$(sha256sum params.yaml 2>/dev/null | cut -d' ' -f1)|$(command -v python)" >> "$MAKE_TEST_LOG"
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project(tmp_path) -> Path:
    proj = tmp_path / "project"
    shutil.copytree(ROOT / "conf", proj / "conf")
    shutil.copy2(MAKEFILE, proj / "Makefile")
    # `venv` is up to date: its stamp is newer than the files it is built from
    old = time.time() - 3600
    for name in ("requirements/lock.txt", "pyproject.toml"):
        (proj / name).parent.mkdir(parents=True, exist_ok=True)
        (proj / name).write_text("")
        os.utime(proj / name, (old, old))
    bin_dir = proj / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (proj / ".venv" / ".installed").touch()
    passthrough = {"emoheal": f'[ "$1" = params ] && exec "{REAL_BIN / "emoheal"}" "$@"'}
    for name in ("emoheal", "bentoml", "dvc", "python"):
        (bin_dir / name).write_text(STAND_IN.format(name=name, passthrough=passthrough.get(name, "")))
        (bin_dir / name).chmod(0o755)
    return proj


def _venv_bin(entry: str) -> bool:
    return Path(entry).name == "bin" and (Path(entry).parent / "pyvenv.cfg").is_file()


def _make(proj: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[tuple[str, ...]]]:
    """Run make in the copy; returns the result and the stand-ins' calls (name, args, params sha, python)."""
    log = proj.parent / "calls.log"
    log.unlink(missing_ok=True)
    # the caller's make, BentoML and venv settings stay out: the copy's own defaults apply, and only the
    # Makefile can put a venv on PATH
    env = {k: v for k, v in os.environ.items()
           if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BENTOML_HOME", "PROFILE", "SINCE", "ARGS", "VIRTUAL_ENV"}}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not _venv_bin(p))
    env["MAKE_TEST_LOG"] = str(log)
    result = subprocess.run(["make", "--no-print-directory", "-C", str(proj), "APT_PACKAGES=", *args],
                            env=env, capture_output=True, text=True, timeout=120)
    calls = [tuple(line.split("|")) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def _experiment_params(proj: Path) -> Path:
    """params.yaml as `dvc exp run -S profile=ci -S seed=7` leaves it: DVC's own Hydra composition."""
    from dvc.utils.hydra import compose_and_dump

    path = proj / "params.yaml"
    compose_and_dump(path, str(proj / "conf"), None, "config", str(proj), ["profile=ci", "seed=7"])
    return path


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_keeps_an_experiments_params(project, target):
    params = _experiment_params(project)
    before = params.read_bytes()

    dry, _ = _make(project, "-n", target)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "emoheal params" not in dry.stdout, f"`make -n {target}` would recompose params.yaml:\n{dry.stdout}"

    result, calls = _make(project, target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert params.read_bytes() == before, f"`make {target}` rewrote the experiment's params.yaml:\n{result.stdout}"
    assert [(name, args) for name, args, *_ in calls] == TARGETS[target]
    assert {sha for _, _, sha, _ in calls} == {_sha(params)}, "a command read other params than the experiment's"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_without_params_says_what_to_run_first(project, target):
    result, calls = _make(project, target)
    assert result.returncode != 0
    assert "make run" in result.stderr and "make params PROFILE=" in result.stderr, result.stdout + result.stderr
    assert not (project / "params.yaml").exists(), f"`make {target}` composed a params.yaml of its own"
    assert calls == []


def test_make_dvc_puts_the_venv_python_first(project):
    """The stages call `python`: under `make dvc` it is the venv's, whatever the caller's PATH."""
    result, calls = _make(project, "dvc", "ARGS=exp run -S corpus=full")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [(name, args, python) for name, args, _, python in calls] == [
        ("dvc", "exp run -S corpus=full", str(project / ".venv" / "bin" / "python"))]
