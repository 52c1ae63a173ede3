"""Shared fixtures: a prepared `ci` dataset that every integration test reuses."""

from __future__ import annotations

import pytest

from tests.helpers import run_stage, workspace_params, write_params


@pytest.fixture(scope="session")
def prepared_ci(tmp_path_factory) -> dict:
    """The ci profile's prepared GoEmotions subset, made once by the real prepare stage."""
    tmp = tmp_path_factory.mktemp("ci")
    params = workspace_params(tmp)
    run_stage("prepare", write_params(params, tmp / "params.yaml"))
    return params


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
