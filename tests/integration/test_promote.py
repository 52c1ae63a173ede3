"""The registry workflow with a real MLflow store: registration assigns champion then challenger,
and `emoheal promote` moves the champion only when the paired bootstrap's lower bound of the
challenger's gain on the same test rows is above zero — or says why not (worse, within noise,
other data, no predictions to compare, nothing to compare) — and records the interval on the
challenger's version."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from tests.helpers import PYTHON, ROOT

NAME = "emoheal-emotion"
LABELS = [f"label{i}" for i in range(28)]
ROWS = 3000


def truth() -> np.ndarray:
    """Test labels shaped like GoEmotions': 28 labels of very different frequencies."""
    rng = np.random.default_rng(7)
    rates = np.geomspace(0.3, 0.005, len(LABELS))
    return (rng.random((ROWS, len(LABELS))) < rates).astype(np.uint8)


def predictions(error_rate: float, seed: int, base: np.ndarray | None = None, changed_rows: int = 0) -> np.ndarray:
    """The labels with a share of cells flipped; or `base` with a few rows' errors repaired."""
    y = truth()
    if base is not None:
        fixed = base.copy()
        rows = np.flatnonzero((base != y).any(1))[:changed_rows]
        fixed[rows] = y[rows]
        return fixed
    flip = np.random.default_rng(seed).random(y.shape) < error_rate
    return np.where(flip, 1 - y, y).astype(np.uint8)


@pytest.fixture()
def store(tmp_path):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("promote", artifact_location=str(tmp_path / "artifacts"))
    client.create_registered_model(NAME)
    return {"uri": uri, "client": client, "experiment": experiment, "tmp": tmp_path}


def register(store, pred: np.ndarray | None, data_hash: str = "d1") -> str:
    """A registered version whose evaluation run logged these test predictions (None: an older
    evaluation that logged none)."""
    from emoheal.emotion.metrics import f1_summary
    from emoheal.tracking.aliases import assign_on_register
    from emoheal.tracking.predictions import ARTIFACT_DIR, FILE_NAME, TestPredictions, write_predictions

    client = store["client"]
    run = client.create_run(store["experiment"])
    if pred is not None:
        client.log_metric(run.info.run_id, "test.macro_f1", f1_summary(truth(), pred)["macro_f1"])
        path = write_predictions(store["tmp"] / f"{run.info.run_id}-{FILE_NAME}",
                                 TestPredictions(truth(), pred, LABELS, data_hash))
        target = store["tmp"] / run.info.run_id / FILE_NAME
        target.parent.mkdir()
        path.rename(target)
        client.log_artifact(run.info.run_id, str(target), ARTIFACT_DIR)
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


CHAMPION = predictions(0.02, seed=1)


def test_registration_assigns_champion_then_challenger(store):
    first, second, third = (register(store, predictions(0.02, seed)) for seed in (1, 2, 3))
    assert aliases(store) == {"champion": first, "challenger": third} and second not in aliases(store).values()


def test_a_clearly_better_challenger_is_promoted_and_the_interval_recorded(store):
    register(store, CHAMPION)
    challenger = register(store, predictions(0.01, seed=2))  # half the errors
    result = promote(store)
    assert result.returncode == 0, result.stdout + result.stderr
    decision = json.loads(result.stdout)
    assert decision["promoted"] and 0 < decision["gain_low"] < decision["gain"] < decision["gain_high"]
    assert decision["confidence"] == 0.95 and "interval" in decision["reason"]
    assert aliases(store) == {"champion": challenger}
    tags = store["client"].get_model_version(NAME, challenger).tags
    assert tags["promoted_over"] == "1" and tags["promotion_decision"] == "promoted"
    low, high = json.loads(tags["promotion_interval"])
    assert low == pytest.approx(decision["gain_low"], abs=1e-6)
    assert high == pytest.approx(decision["gain_high"], abs=1e-6)


@pytest.mark.parametrize(("challenger", "data_hash", "why"), [
    (lambda: predictions(0.03, seed=2), "d1", "within noise or negative"),  # worse
    (lambda: predictions(0, 0, base=CHAMPION, changed_rows=3), "d1", "within noise or negative"),  # a hair better
    (lambda: predictions(0.01, seed=2), "other", "not comparable"),  # evaluated on other data
    (lambda: None, "d1", "no test predictions logged"),  # an evaluation from before predictions were logged
])
def test_the_champion_stays_and_we_say_why(store, challenger, data_hash, why):
    champion = register(store, CHAMPION)
    pred = challenger()
    version = register(store, pred, data_hash)
    result = promote(store)
    assert result.returncode == 1, result.stdout + result.stderr
    decision = json.loads(result.stdout)
    assert not decision["promoted"] and why in decision["reason"], decision["reason"]
    assert aliases(store) == {"champion": champion, "challenger": version}
    if why.startswith("within"):
        assert decision["gain_low"] <= 0 < decision["gain_high"] or decision["gain_high"] < 0
        assert store["client"].get_model_version(NAME, version).tags["promotion_decision"] == "kept champion"


def test_within_noise_is_a_real_gain_that_the_interval_does_not_trust(store):
    """The point estimate goes up (the old margin-free rule would have promoted), the interval
    spans zero, and a narrower confidence is a caller's choice that can change the answer."""
    register(store, CHAMPION)
    register(store, predictions(0, 0, base=CHAMPION, changed_rows=3))
    decision = json.loads(promote(store, "--dry-run").stdout)
    assert decision["gain"] > 0 and decision["gain_low"] <= 0 and not decision["promoted"]
    narrow = json.loads(promote(store, "--dry-run", "--confidence", "0.5").stdout)
    assert narrow["gain_high"] - narrow["gain_low"] < decision["gain_high"] - decision["gain_low"]


def test_dry_run_records_nothing_and_bad_flags_are_refused(store):
    register(store, CHAMPION)
    result = promote(store)
    assert result.returncode == 1 and "no 'challenger'" in json.loads(result.stdout)["reason"]
    challenger = register(store, predictions(0.005, seed=3))
    assert promote(store, "--dry-run").returncode == 0
    assert aliases(store)["champion"] != challenger  # a dry run changes nothing
    assert "promotion_decision" not in store["client"].get_model_version(NAME, challenger).tags
    for flags in (["--confidence", "1.5"], ["--resamples", "10"], ["--metric", "accuracy"]):
        refused = promote(store, *flags)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, flags


def test_micro_f1_is_compared_when_asked(store):
    register(store, CHAMPION)
    register(store, predictions(0.01, seed=2))
    decision = json.loads(promote(store, "--metric", "micro_f1", "--dry-run").stdout)
    assert decision["metric"] == "micro_f1" and decision["promoted"]


@pytest.mark.parametrize("challenger", [
    lambda: predictions(0, 0, base=CHAMPION, changed_rows=3),  # within noise: the interval is recorded too
    lambda: None,  # nothing to compare: the champion's or challenger's evaluation logged no predictions
])
def test_an_override_promotes_with_its_reason_recorded(store, challenger):
    register(store, CHAMPION)
    version = register(store, challenger())
    result = promote(store, "--override", "recipe chosen on dev; calibrated probabilities")
    assert result.returncode == 0, result.stdout + result.stderr
    decision = json.loads(result.stdout)
    assert decision["promoted"] and decision["override"] == "recipe chosen on dev; calibrated probabilities"
    assert "by override" in decision["reason"] and "the comparison alone said" in decision["reason"]
    assert aliases(store) == {"champion": version}
    tags = store["client"].get_model_version(NAME, version).tags
    assert tags["promotion_decision"] == "promoted by override"
    assert tags["promotion_override_reason"] == decision["override"] and tags["promoted_over"] == "1"
    measured = decision["gain"] is not None
    assert (tags["promotion_interval"] != "not measured") == measured
    assert promote(store, "--override", "  ").returncode == 2  # a reason is required
