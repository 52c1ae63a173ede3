"""The registry workflow with a real MLflow store: registration assigns champion then challenger,
and `emoheal promote` moves the champion only for a challenger better by the margin on the
same data — or says why not (worse, within the margin, other data, nothing to compare)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.helpers import PYTHON, ROOT

NAME = "emoheal-emotion"


@pytest.fixture()
def store(tmp_path):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("promote", artifact_location=str(tmp_path / "artifacts"))
    client.create_registered_model(NAME)
    return {"uri": uri, "client": client, "experiment": experiment}


def register(store, macro_f1: float, data_hash: str = "d1") -> str:
    from emoheal.tracking.aliases import assign_on_register

    client = store["client"]
    run = client.create_run(store["experiment"])
    client.log_metric(run.info.run_id, "test.macro_f1", macro_f1)
    client.set_terminated(run.info.run_id)
    version = client.create_model_version(NAME, f"{run.info.artifact_uri}/emotion_model", run.info.run_id,
                                          tags={"data_hash": data_hash}).version
    assign_on_register(client, NAME, version)
    return str(version)


def aliases(store) -> dict:
    return {k: str(v) for k, v in store["client"].get_registered_model(NAME).aliases.items()}


def promote(store, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "emoheal.cli", "promote", "--json", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "MLFLOW_TRACKING_URI": store["uri"]}, timeout=120)


def test_registration_assigns_champion_then_challenger(store):
    first, second, third = register(store, 0.50), register(store, 0.51), register(store, 0.52)
    assert aliases(store) == {"champion": first, "challenger": third} and second not in aliases(store).values()


def test_a_better_challenger_is_promoted(store):
    register(store, 0.50)
    challenger = register(store, 0.52)
    result = promote(store)
    assert result.returncode == 0, result.stdout + result.stderr
    decision = json.loads(result.stdout)
    assert decision["promoted"] and decision["challenger_value"] == pytest.approx(0.52)
    assert aliases(store) == {"champion": challenger}
    assert store["client"].get_model_version(NAME, challenger).tags["promoted_over"] == "1"


@pytest.mark.parametrize(("challenger_f1", "data_hash", "why"), [
    (0.45, "d1", "below the margin"),      # worse
    (0.503, "d1", "below the margin"),     # better, but within the margin
    (0.60, "other", "not comparable"),     # evaluated on other data
])
def test_the_champion_stays_and_we_say_why(store, challenger_f1, data_hash, why):
    champion = register(store, 0.50)
    challenger = register(store, challenger_f1, data_hash)
    result = promote(store)
    assert result.returncode == 1
    decision = json.loads(result.stdout)
    assert not decision["promoted"] and why in decision["reason"]
    assert aliases(store) == {"champion": champion, "challenger": challenger}


def test_dry_run_and_nothing_to_compare(store):
    register(store, 0.50)
    result = promote(store)
    assert result.returncode == 1 and "no 'challenger'" in json.loads(result.stdout)["reason"]
    challenger = register(store, 0.60)
    assert promote(store, "--dry-run").returncode == 0
    assert aliases(store)["champion"] != challenger  # a dry run changes nothing
