"""A training run the registry cannot find is said out loud: a warning from the evaluate stage's
run, a tag on the registered version, and a warning in the Bento's provenance (so in the service's
`versions` and /readyz)."""

from __future__ import annotations

import pytest


@pytest.fixture
def store(tmp_path, monkeypatch):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield mlflow.MlflowClient(uri)
    mlflow.set_tracking_uri(previous)


def test_a_missing_training_run_is_a_warning_and_a_tag(store, caplog):
    from emoheal.tracking.registry import MISSING_RUN_TAG, start_stage_run

    run, warning = start_stage_run("emoheal-test", "0" * 32)
    with run:
        pass
    assert "is not in the MLflow store" in warning and warning in caplog.text
    assert store.get_run(run.info.run_id).data.tags[MISSING_RUN_TAG] == warning


def test_a_found_training_run_is_reopened_without_a_warning(store):
    import mlflow

    from emoheal.tracking.registry import start_stage_run
    from emoheal.tracking.runs import ensure_experiment

    with mlflow.start_run(experiment_id=ensure_experiment("emoheal-test")) as trained:
        pass
    run, warning = start_stage_run("emoheal-test", trained.info.run_id)
    with run:
        assert run.info.run_id == trained.info.run_id
    assert warning is None


def test_the_bundle_provenance_carries_the_warnings(store):
    import mlflow

    from emoheal.bento.store import _provenance_warnings
    from emoheal.tracking.registry import MISSING_RUN_TAG
    from emoheal.tracking.runs import ensure_experiment

    with mlflow.start_run(experiment_id=ensure_experiment("emoheal-test")) as run:
        pass
    store.create_registered_model("m")
    tagged = store.create_model_version("m", "file:///nowhere", run.info.run_id, tags={MISSING_RUN_TAG: "lost it"})
    assert _provenance_warnings(store, tagged) == ["lost it"]
    orphan = store.create_model_version("m", "file:///nowhere", "f" * 32)
    assert any("is not in the tracking store" in w for w in _provenance_warnings(store, orphan))
