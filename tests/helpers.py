"""Helpers for tests: the repo root, composed params in a temporary workspace,
running the real pipeline entry points."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# Offline by design, in tests too.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_script(relative: str, name: str):
    """A script of the repository (a pipeline stage, a benchmark) as a module: they are not part
    of the package, and importing one runs only its top level, never its `main`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class CliResult:
    """What the `cli` fixture (tests/conftest.py) gives back, named as subprocess.run names it."""

    returncode: int
    stdout: str
    stderr: str


def compose(*overrides: str) -> dict:
    from emoheal.config import compose_params

    return compose_params(list(overrides), ROOT / "conf")


@functools.lru_cache(maxsize=8)
def retrieval_settings(*overrides: str):
    """(one-item session settings, sequence settings) of the composed config's `retrieval` section:
    tests use the configured values, never a second copy of them (the models are frozen)."""
    from emoheal.retrieval.config import settings_from_config

    return settings_from_config(compose(*overrides)["retrieval"])


@functools.lru_cache(maxsize=8)
def settings(*overrides: str):
    """The typed settings (emoheal.settings.Params) of the composed config."""
    from emoheal.settings import validate_params

    return validate_params(compose(*overrides), "composed conf/")


def index_settings():
    """The composed config's `retrieval.index` settings."""
    return settings().retrieval.index


def workspace_params(tmp: Path, *overrides: str) -> dict:
    """`ci` params whose outputs all live under `tmp`."""
    return compose(
        "profile=ci",
        f"paths.prepared={tmp / 'prepared'}", f"paths.model={tmp / 'models' / 'emotion'}",
        f"paths.checkpoints={tmp / 'checkpoints'}", f"paths.cache={tmp / 'cache'}",
        f"paths.metrics={tmp / 'metrics'}", f"paths.plots={tmp / 'plots'}",
        f"paths.monitoring={tmp / 'monitoring'}", f"safety.model={tmp / 'models' / 'safety'}",
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


# Runs the named entry points one after the other in one interpreter, each as `python pipelines/<stage>.py
# --params FILE` runs it (as __main__, with that argv); a failure names its stage and stops the rest.
_SEQUENCE = """
import runpy, sys, traceback
stages, params = sys.argv[1].split(","), sys.argv[2]
sys.path.insert(0, "pipelines")
for stage in stages:
    print(f"=== stage {stage}", flush=True)
    print(f"=== stage {stage}", file=sys.stderr, flush=True)
    sys.argv = [f"pipelines/{stage}.py", "--params", params]
    try:
        runpy.run_path(f"pipelines/{stage}.py", run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(f"=== stage {stage} exited {exc.code}", file=sys.stderr, flush=True)
            sys.exit(exc.code)
"""


def run_stages(stages: tuple[str, ...], params_file: Path, env: dict | None = None, timeout: int = 1200):
    """Several real entry points in order, in one Python process: each stage's own process would
    pay the imports again (torch, transformers, Lightning, MLflow: 5-10 s a stage on 2 cores). For
    tests of what the stages produce; the DVC tests run every stage in its own process, as DVC does."""
    result = subprocess.run(
        [PYTHON, "-c", _SEQUENCE, ",".join(stages), str(params_file)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout,
    )
    if result.returncode != 0:
        output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        raise AssertionError(f"stages {', '.join(stages)} failed ({result.returncode}):\n{output}")
    return result


# A tiny HuBERT saved the way MERT-v1 is, for the MERT and embedding tests.
TINY_MERT = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
    "conv_dim": [16, 16, 16], "conv_stride": [5, 4, 4], "conv_kernel": [10, 4, 4], "conv_bias": False,
    "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4, "feat_extract_norm": "group",
    "feat_proj_layer_norm": True, "do_stable_layer_norm": False,
}


def save_mert_like(folder, old_names: bool = True, seed: int = 0):
    """A MERT-style folder: model_type mert_model, MERT's extra options off, weights with the
    positional convolution's weight norm under weight_g / weight_v."""
    import json

    import torch
    from safetensors.torch import save_file
    from transformers import HubertConfig, HubertModel

    from emoheal.encoder.mert import SAMPLE_RATE

    torch.manual_seed(seed)
    model = HubertModel(HubertConfig(**TINY_MERT))
    state = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    # make the positional conv unmistakable (init is near-uniform)
    for key in list(state):
        if "pos_conv_embed.conv.parametrizations" in key:
            state[key] = torch.randn_like(state[key])
    if old_names:
        state["encoder.pos_conv_embed.conv.weight_g"] = state.pop(
            "encoder.pos_conv_embed.conv.parametrizations.weight.original0")
        state["encoder.pos_conv_embed.conv.weight_v"] = state.pop(
            "encoder.pos_conv_embed.conv.parametrizations.weight.original1")
    folder.mkdir(parents=True, exist_ok=True)
    config = {**TINY_MERT, "model_type": "mert_model", "architectures": ["MERTModel"], "feature_extractor_cqt": False,
              "deepnorm": False, "attention_relax": -1.0, "conv_pos_batch_norm": False, "sample_rate": SAMPLE_RATE}
    (folder / "config.json").write_text(json.dumps(config))
    save_file(state, str(folder / "model.safetensors"))
    return state
