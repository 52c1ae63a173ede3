"""No quiet fallbacks in the service: an uncalibrated detector is served only with a warning in
every answer's `versions` and in /readyz."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def uncalibrated(bundle, tmp_path_factory):
    from fastapi.testclient import TestClient

    from serving.app import build_app
    from serving.backend import Backend

    emotion = tmp_path_factory.mktemp("uncalibrated") / "emotion"
    shutil.copytree(bundle["emotion"], emotion)
    (emotion / "thresholds.json").unlink()
    (emotion / "calibration.json").unlink()
    backend = Backend(emotion, bundle["session"])
    return TestClient(build_app(lambda: backend, backend.settings["max_text_chars"]))


def test_an_uncalibrated_model_is_served_with_a_warning(uncalibrated):
    ready = uncalibrated.get("/readyz").json()
    assert ready["ready"] and any("uncalibrated" in w for w in ready["warnings"]), ready
    answer = uncalibrated.post("/detect", json={"text": "I am so happy today"}).json()
    assert any("thresholds.json" in w for w in answer["versions"]["warnings"]), answer["versions"]


def test_the_calibrated_bundle_has_no_warnings(bundle):
    from serving.backend import Backend

    backend = Backend(bundle["emotion"], bundle["session"])
    assert backend.versions["warnings"] == []
