"""Monitoring units: the --since window, the monitoring table, feedback quality, lineage tags."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emoheal.monitoring.feedback import feedback_quality, pearson, per_session
from emoheal.monitoring.frame import monitoring_frame
from emoheal.monitoring.monitor import MonitorInputError, parse_since
from emoheal.monitoring.records import derive, length_bucket

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("value", "ago"), [("90m", 5400), ("24h", 86400), ("7d", 604800), ("2w", 1209600),
                                            ("1.5h", 5400)])
def test_since_spans(value, ago):
    assert parse_since(value, NOW) == NOW - ago


def test_since_dates_all_and_errors():
    assert parse_since("all", NOW) is None and parse_since(None, NOW) is None
    assert parse_since("2026-12-01", NOW) == pd.Timestamp("2026-12-01", tz="UTC").timestamp()
    assert parse_since("2026-12-01T06:00+01:00", NOW) == pd.Timestamp("2026-12-01T05:00", tz="UTC").timestamp()
    for bad in ("yesterday", "24", "-3h", "2030-13-01"):
        with pytest.raises(MonitorInputError, match="--since"):
            parse_since(bad, NOW)
    with pytest.raises(MonitorInputError, match="future"):
        parse_since("2099-01-01", NOW)


def test_length_buckets_say_short_or_long_not_how_long():
    assert [length_bucket(n) for n in (1, 20, 21, 2000, 5000)] == ["<=20", "<=20", "21-50", "1001-2000", ">2000"]


def _record(endpoint, probabilities, labels, risk=None, language=("en", 0.99), chars=40):
    payload = {"language": {"detected": language[0], "confidence": language[1]},
               "emotions": {"probabilities": probabilities, "labels": labels} if probabilities else None,
               "safety": {"level": risk} if risk else None, "versions": {"emotion_model": "m1"}}
    return derive(endpoint, "r", chars, payload, 1.0)


def test_monitoring_frame_flattens_records_and_marks_what_the_model_never_saw():
    labels = ["anger", "joy", "neutral"]
    records = pd.DataFrame([
        _record("session", {"anger": 0.7, "joy": 0.1, "neutral": 0.2}, ["anger"], "none"),
        _record("session", None, [], "high", chars=60),                          # stopped by the phrase screen
        _record("detect", {"anger": 0.1, "joy": 0.2, "neutral": 0.8}, ["neutral"], language=("de", 0.2)),
    ])
    frame = monitoring_frame(records, labels)
    assert frame["p_anger"].tolist()[0] == 0.7 and np.isnan(frame["p_anger"][1])
    assert frame["has_emotions"].tolist() == [1.0, 0.0, 1.0]
    assert frame["top_label"].tolist() == ["anger", None, "neutral"]
    assert frame["neutral"].tolist()[0] == 0.0 and frame["neutral"].tolist()[2] == 1.0
    assert frame["crisis"].tolist()[:2] == [0.0, 1.0] and np.isnan(frame["crisis"][2])  # /detect is not screened
    assert frame["language"].tolist() == ["en", "en", "uncertain"]  # a low-confidence guess is no language
    assert frame["length_bucket"].tolist() == ["21-50", "51-100", "21-50"]


def _ratings(rows):
    return pd.DataFrame(rows, columns=["time", "session_id", "stage", "rating", "reflected", "calmer"])


def test_feedback_quality_per_stage_study_means_and_correlation():
    rows = [(1, "a", "match", 4, None, None), (2, "a", "match", 5, None, None),  # resubmitted: the last counts
            (1, "a", "guide", None, None, None), (3, "a", None, None, 4, 5), (1, "b", "match", 2, None, None),
            (3, "b", None, None, 2, 2), (3, "c", None, None, 5, 4), (4, "d", None, None, 1, 1),
            (5, "d", None, None, 3, 2)]
    sessions = per_session(_ratings(rows)).set_index("session_id")
    assert sessions.loc["a", "rating_match"] == 5 and np.isnan(sessions.loc["a", "rating_guide"])
    assert sessions.loc["d", "reflected"] == 3  # the latest study answer
    quality = feedback_quality(_ratings(rows))
    assert quality["stage_ratings"]["match"] == {"n": 3, "skipped": 0, "mean": pytest.approx(11 / 3, abs=1e-3)}
    assert quality["stage_ratings"]["guide"] == {"n": 0, "skipped": 1, "mean": None}
    study = quality["study"]
    assert study["n"] == 4 and study["reflected_mean"] == 3.5 and study["paper_r"] == 0.72
    expected = np.corrcoef([4, 2, 5, 3], [5, 2, 4, 2])[0, 1]
    assert study["correlation"]["r"] == pytest.approx(expected, abs=1e-4)
    low, high = study["correlation"]["ci95"]
    assert low < expected < high


def test_feedback_quality_without_answers_or_with_a_constant_answer():
    assert feedback_quality(_ratings([]))["study"]["correlation"]["r"] is None
    assert pearson(np.array([3, 3, 3, 3]), np.array([1, 2, 3, 4]))["r"] is None
    assert pearson(np.array([1, 2, 3]), np.array([1, 2, 3]))["r"] is None  # n < 4: no interval


def test_dvc_hashes_prefer_a_stage_output(tmp_path):
    from emoheal.tracking.lineage import dvc_hashes

    lock = tmp_path / "dvc.lock"
    lock.write_text(json.dumps({"schema": "2.0", "stages": {
        "prepare": {"deps": [{"path": "data/raw", "md5": "aaa.dir"}],
                    "outs": [{"path": "data/prep", "md5": "bbb.dir"}]},
        "train": {"deps": [{"path": "data/prep", "md5": "old.dir"}],
                  "outs": [{"path": "models/m", "md5": "ccc.dir"}]},
    }}))
    assert dvc_hashes(["data/raw", "data/prep", "models/m", "nowhere"], lock) == {
        "dvc.data/raw": "aaa.dir", "dvc.data/prep": "bbb.dir", "dvc.models/m": "ccc.dir"}
    assert dvc_hashes(["data/raw"], tmp_path / "missing.lock") == {}
