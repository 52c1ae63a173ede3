"""Monitoring end to end: requests through the real API (the ci-trained model) leave derived
records; the `monitor_reference` stage builds the reference from the test split; `emoheal monitor`
compares them (Evidently), exits 1 when a test fails, logs to MLflow — and never keeps a text."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoheal.cli import main
from tests.helpers import ROOT, run_stage

OTHER_LANGUAGES = ROOT / "tests" / "fixtures" / "monitoring" / "other_languages.txt"


@pytest.fixture(scope="module")
def reference(ci_pipeline) -> Path:
    run_stage("monitor_reference", ci_pipeline["params_file"], ci_pipeline["env"])
    return Path(ci_pipeline["params"]["paths"]["monitoring"])


@pytest.fixture(scope="module")
def backend(bundle):
    from serving.backend import Backend

    return Backend(bundle["emotion"], bundle["session"])


@pytest.fixture(scope="module")
def client(backend):
    from fastapi.testclient import TestClient

    from serving.app import build_app

    return TestClient(build_app(lambda: backend, backend.settings["max_text_chars"]))


def dev_texts(label: str | None = None, n: int = 120, seed: int = 7) -> list[str]:
    """GoEmotions dev texts (the reference is the test split): a random sample, or only one label's."""
    labels = (ROOT / "data" / "raw" / "goemotions" / "emotions.txt").read_text().split()
    dev = pd.read_csv(ROOT / "data" / "raw" / "goemotions" / "dev.tsv", sep="\t", header=None,
                      names=["text", "labels", "id"], quoting=3)
    if label is not None:
        index = str(labels.index(label))
        dev = dev[dev["labels"].str.split(",").map(lambda ids: ids == [index])]
    texts = dev["text"].tolist()
    random.Random(seed).shuffle(texts)
    return texts[:n]


def serve(client, backend, path: Path, texts: list[str], endpoint: str = "/session",
          headers: dict | None = None) -> list[dict]:
    from emoheal.monitoring.records import RecordStore

    backend.records = RecordStore(path)
    answers = []
    for text in texts:
        response = client.post(endpoint, json={"text": text}, headers=headers or {})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


def monitor(ci_pipeline, reference: Path, records: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = main(["monitor", "--records", str(records), "--reference", str(reference), "--out", str(out),
                 "--params", str(ci_pipeline["params_file"]), "--since", "all", *extra])
    summary = json.loads((out / "monitor.json").read_text()) if (out / "monitor.json").is_file() else {}
    return code, summary


def statuses(summary: dict) -> dict[str, str]:
    return {t["name"]: t["status"] for t in summary["tests"]}


def test_records_from_the_same_distribution_are_not_flagged(client, backend, ci_pipeline, reference, tmp_path):
    serve(client, backend, tmp_path / "records.sqlite", dev_texts(n=150))
    code, summary = monitor(ci_pipeline, reference, tmp_path / "records.sqlite", tmp_path / "out", "--no-mlflow")
    assert code == 0, summary["tests"]
    assert summary["passed"] and summary["records"]["n"] == 150
    # every alert passes; a text-statistics warning (language confidence, length) may come and go
    assert all(t["status"] == "SUCCESS" for t in summary["tests"] if t["critical"]), summary["tests"]
    assert "FAIL" not in statuses(summary).values(), summary["tests"]
    assert (tmp_path / "out" / "drift.html").stat().st_size > 100_000  # Evidently's self-contained page


def test_only_angry_texts_are_flagged(client, backend, ci_pipeline, reference, tmp_path):
    """The ci model detects emotions (tests/model/test_ci_model.py), so a window of only angry texts
    drifts the emotion distribution itself, not only what the texts are like."""
    serve(client, backend, tmp_path / "records.sqlite", dev_texts("anger", n=150))
    code, summary = monitor(ci_pipeline, reference, tmp_path / "records.sqlite", tmp_path / "out", "--no-mlflow")
    assert code == 1 and not summary["passed"]
    found = statuses(summary)
    assert found["emotion_drift"] == "FAIL", summary["tests"]
    assert summary["values"]["emotion_drift.share"] > 0.5, summary["values"]
    drift = json.loads((tmp_path / "out" / "drift.json").read_text())
    anger = next(m for m in drift["metrics"] if m["metric_name"].startswith("ValueDrift(column=p_anger,"))
    assert anger["value"] < 0.05, anger  # the anger probability itself moved (a p-value)


def test_another_language_is_flagged(client, backend, ci_pipeline, reference, tmp_path):
    texts = [line for line in OTHER_LANGUAGES.read_text().splitlines() if line and not line.startswith("#")]
    answers = serve(client, backend, tmp_path / "records.sqlite", texts)
    assert all(a["notice"] and not a["stages"] for a in answers)  # the English model does not guess
    code, summary = monitor(ci_pipeline, reference, tmp_path / "records.sqlite", tmp_path / "out", "--no-mlflow")
    assert code == 1
    found = statuses(summary)
    assert found["language_shift"] == "FAIL" and found["readable_share"] == "FAIL", summary["tests"]
    assert found["emotion_drift"] == "SKIPPED"  # nothing the model answered to compare


def test_monitor_logs_to_mlflow_and_no_output_holds_a_text(client, backend, ci_pipeline, reference, tmp_path,
                                                          monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", ci_pipeline["env"]["MLFLOW_TRACKING_URI"])
    secret = "My neighbour Zebulon Quartermaine keeps me awake, I feel so anxious"
    texts = [secret, *dev_texts(n=60, seed=11)]
    me = {"Authorization": f"Bearer {client.post('/users').json()['token']}"}
    answers = serve(client, backend, tmp_path / "records.sqlite", texts, headers=me)
    rng = np.random.default_rng(0)
    reflected = rng.integers(1, 6, size=len(answers))
    calmer = np.clip(reflected + rng.integers(-1, 2, size=len(answers)), 1, 5)
    sessions = [a for a in answers if a["stages"]]
    for a, r, c in zip(sessions, reflected, calmer):
        for stage in ("match", "guide", "target"):
            assert client.post("/feedback", json={"session_id": a["session_id"], "stage": stage,
                                                  "rating": int(r)}, headers=me).status_code == 200
        assert client.post("/feedback", json={"session_id": a["session_id"], "reflected": int(r),
                                              "calmer": int(c)}, headers=me).status_code == 200
    out = tmp_path / "out"
    code, summary = monitor(ci_pipeline, reference, tmp_path / "records.sqlite", out)
    assert code in (0, 1) and summary["mlflow_run_id"]
    study = summary["feedback"]["study"]
    n = len(sessions)
    assert study["n"] == n and study["paper_r"] == 0.72
    assert study["correlation"]["r"] == pytest.approx(np.corrcoef(reflected[:n], calmer[:n])[0, 1], abs=1e-4)
    assert summary["feedback"]["stage_ratings"]["guide"]["mean"] == pytest.approx(reflected[:n].mean(), abs=1e-3)
    assert (out / "feedback.html").is_file()

    run = mlflow.MlflowClient(ci_pipeline["env"]["MLFLOW_TRACKING_URI"]).get_run(summary["mlflow_run_id"])
    assert run.data.metrics["records"] == len(texts) and "study.r" in run.data.metrics
    assert run.data.tags["git_commit"] and run.data.tags["passed"] == str(summary["passed"])
    artifacts = Path(run.info.artifact_uri.removeprefix("file://")) / "monitoring"
    assert {"drift.html", "drift.json", "monitor.json", "feedback.html"} <= {p.name for p in artifacts.iterdir()}

    # nothing written anywhere holds the text or its distinctive words
    written = [*tmp_path.glob("records.sqlite*"), *out.iterdir(), *artifacts.iterdir()]  # the log too
    for path in written:
        data = path.read_bytes()
        for needle in (secret, "Zebulon", "Quartermaine", *texts[1:]):
            assert needle.encode() not in data, f"{needle[:30]!r} found in {path.name}"
    with sqlite3.connect(tmp_path / "records.sqlite") as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    assert "text" not in columns


def test_monitor_bad_input_exits_2_touches_nothing_and_an_empty_window_is_not_a_failure(
        ci_pipeline, reference, tmp_path, capsys):
    from emoheal.monitoring.records import RecordStore

    code, _ = monitor(ci_pipeline, reference, tmp_path / "missing.sqlite", tmp_path / "a")
    assert code == 2 and "no records store" in capsys.readouterr().err
    RecordStore(tmp_path / "empty.sqlite")
    for since in ("yesterday-ish", "2999-01-01"):
        code = main(["monitor", "--records", str(tmp_path / "empty.sqlite"), "--reference", str(reference),
                     "--params", str(ci_pipeline["params_file"]), "--since", since, "--out", str(tmp_path / "b")])
        assert code == 2 and "--since" in capsys.readouterr().err
    code, _ = monitor(ci_pipeline, reference, tmp_path / "empty.sqlite", tmp_path / "c", "--reference",
                      str(tmp_path / "nowhere"))
    assert code == 2 and "monitor_reference" in capsys.readouterr().err
    (tmp_path / "notes.sqlite").write_text("not a database")
    code, _ = monitor(ci_pipeline, reference, tmp_path / "notes.sqlite", tmp_path / "e")
    assert code == 2 and "cannot be read as a records store" in capsys.readouterr().err
    assert (tmp_path / "notes.sqlite").read_text() == "not a database"  # left as it was
    with sqlite3.connect(tmp_path / "other.sqlite") as db:
        db.execute("CREATE TABLE mine (a)")
    code, _ = monitor(ci_pipeline, reference, tmp_path / "other.sqlite", tmp_path / "f")
    assert code == 2 and "not a records store" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / "other.sqlite") as db:  # the reader added nothing to someone else's file
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["mine"]
    broken = tmp_path / "broken-reference"
    shutil.copytree(reference, broken)
    (broken / "reference.parquet").write_bytes(b"junk")
    code, _ = monitor(ci_pipeline, broken, tmp_path / "empty.sqlite", tmp_path / "g")
    assert code == 2 and "cannot read the reference" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("")
    code, _ = monitor(ci_pipeline, reference, tmp_path / "empty.sqlite", tmp_path / "a-file")
    assert code == 2 and "cannot write the report" in capsys.readouterr().err
    code, summary = monitor(ci_pipeline, reference, tmp_path / "empty.sqlite", tmp_path / "d", "--no-mlflow")
    assert code == 0 and summary["records"]["n"] == 0
    found = statuses(summary)
    assert found["volume"] == "WARNING" and found["emotion_drift"] == "SKIPPED"


def test_the_reference_holds_derived_values_only(reference, ci_pipeline):
    from emoheal.data.prepared import read_prepared
    from emoheal.monitoring.reference import read_reference

    texts = read_prepared(ci_pipeline["params"]["paths"]["prepared"], "test")["text"].tolist()
    frame, meta = read_reference(reference)
    assert len(frame) == len(texts) == meta["n"] and meta["labels"][-1] == "neutral"
    cells = {v for column in frame.columns if frame[column].dtype == object for v in frame[column].dropna()}
    long_texts = [t for t in texts if len(t) >= 25]
    assert long_texts and not any(t in str(cell) for cell in cells for t in long_texts)
