"""The monitor's drift tests under the trained model: windows of ordinary requests pass, windows of
only angry texts fail on the emotion distribution itself. Slow: it needs `make run` (models/emotion
and the monitor_reference stage's models/monitoring); `make test-all` runs it."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import ROOT, compose
from tests.serving.test_monitoring import dev_texts

pytestmark = pytest.mark.slow
MODEL = ROOT / "models" / "emotion"
REFERENCE = ROOT / "models" / "monitoring"
NO_RATINGS = pd.DataFrame(columns=["time", "session_id", "stage", "rating", "reflected", "calmer"])


@pytest.fixture(scope="module")
def setting():
    if not (MODEL / "thresholds.json").is_file() or not (REFERENCE / "reference.parquet").is_file():
        pytest.fail("models/emotion or models/monitoring is missing: run `make run` first")
    from emoheal.emotion.predictor import EmotionPredictor
    from emoheal.monitoring.reference import read_reference
    from emoheal.safety.screen import CrisisScreen

    reference, meta = read_reference(REFERENCE)
    params = compose()
    return EmotionPredictor(MODEL), CrisisScreen(params["safety"]["model"]), reference, meta, params["monitoring"]


def window(setting, texts: list[str]) -> dict:
    from emoheal.monitoring.reference import reference_records
    from emoheal.monitoring.report import build_reports

    predictor, screen, reference, meta, cfg = setting
    records = reference_records(predictor, texts, screen).assign(endpoint="session")
    return build_reports(records, reference, NO_RATINGS, meta["labels"], cfg).summary


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_windows_from_the_same_distribution_pass(setting, seed):
    summary = window(setting, dev_texts(n=150, seed=seed))
    assert summary["passed"], [t for t in summary["tests"] if t["status"] != "SUCCESS"]
    assert summary["values"]["emotion_drift.share"] < 0.5


def test_only_angry_texts_drift_the_emotion_distribution(setting):
    summary = window(setting, dev_texts("anger", n=150))
    found = {t["name"]: t["status"] for t in summary["tests"]}
    assert found["emotion_drift"] == "FAIL" and found["confidence_drift"] == "FAIL", summary["tests"]
    assert summary["values"]["emotion_drift.share"] > 0.8
