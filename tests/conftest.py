"""Shared fixtures: a prepared `ci` dataset that every integration test reuses."""

from __future__ import annotations

import io
import sys

import pytest

from tests.helpers import ROOT, CliResult, run_stage, workspace_params, write_params


@pytest.fixture
def cli(capsys, monkeypatch):
    """`emoheal ARGS` in this process through `main(argv)`, from the repo root as a user runs it:
    `cli(*args, input_text=None)` gives the exit code and what the command wrote to stdout and stderr."""
    from emoheal.cli import main

    monkeypatch.chdir(ROOT)

    def run(*args: str, input_text: str | None = None) -> CliResult:
        if input_text is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(input_text))
        capsys.readouterr()  # only this command's output
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def prepared_ci(tmp_path_factory) -> dict:
    """The ci profile's prepared GoEmotions subset, made once by the real prepare stage."""
    tmp = tmp_path_factory.mktemp("ci")
    params = workspace_params(tmp)
    run_stage("prepare", write_params(params, tmp / "params.yaml"))
    return params


@pytest.fixture(scope="session")
def ci_pipeline(prepared_ci, tmp_path_factory) -> dict:
    """train → thresholds → error_analysis → evaluate → safety on the ci profile with a real MLflow store (the evaluate
    stage registers the model; being the first, it becomes `champion`; the safety stage trains the
    real risk classifier on the real corpus). Shared by the pipeline, runner, safety and serving
    tests so the models are trained once per test run."""
    tmp = tmp_path_factory.mktemp("mlflow")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
    params_file = write_params(prepared_ci, tmp / "params.yaml")
    stages = ("train", "thresholds", "error_analysis", "evaluate", "safety")
    outputs = {stage: run_stage(stage, params_file, env) for stage in stages}
    return {"params": prepared_ci, "env": env, "outputs": outputs, "tmp": tmp, "params_file": params_file}


@pytest.fixture(scope="session")
def kg_graph() -> dict:
    """The knowledge graph compiled in memory from the curated rules in data/kg."""
    from emoheal.kg.compile import compile_graph
    from tests.helpers import ROOT, compose

    return compile_graph(ROOT / "data" / "kg", ROOT / "data" / "raw" / "goemotions", compose()["kg"]["planner"])


@pytest.fixture(scope="session")
def planner(kg_graph):
    from emoheal.kg.planner import Planner

    return Planner(kg_graph)
