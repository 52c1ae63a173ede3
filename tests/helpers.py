"""Helpers for tests: the repo root, composed params in a temporary workspace,
running the real pipeline entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# Offline by design, in tests too.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def compose(*overrides: str) -> dict:
    from emoheal.config import compose_params

    return compose_params(list(overrides), ROOT / "conf")


def workspace_params(tmp: Path, *overrides: str) -> dict:
    """`ci` params whose outputs all live under `tmp`."""
    return compose(
        "profile=ci",
        f"paths.prepared={tmp / 'prepared'}", f"paths.model={tmp / 'models' / 'emotion'}",
        f"paths.checkpoints={tmp / 'checkpoints'}", f"paths.cache={tmp / 'cache'}",
        f"paths.metrics={tmp / 'metrics'}", f"paths.plots={tmp / 'plots'}",
        *overrides,
    )


def write_params(params: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_stage(stage: str, params_file: Path, env: dict | None = None, check: bool = True, timeout: int = 600):
    """Run a real pipeline entry point, as DVC does, from the repo root."""
    result = subprocess.run(
        [PYTHON, f"pipelines/{stage}.py", "--params", str(params_file)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout,
    )
    if check and result.returncode != 0:
        output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        raise AssertionError(f"stage {stage} failed ({result.returncode}):\n{output}")
    return result


