"""The fresh-clone timing benchmark reads stage boundaries from `make run`'s output correctly."""

from __future__ import annotations

import json

from tests.helpers import load_script


def _module():
    return load_script("benchmarks/fresh_clone_run.py", "fresh_clone_run")


def test_stage_times_split_the_run_at_dvc_stage_lines():
    lines = [(1.0, "wrote params.yaml"), (180.0, "Running stage 'prepare':"), (200.0, "> python pipelines/prepare.py"),
             (240.0, "Running stage 'render_corpus':"), (480.0, "Stage 'x' didn't change, skipping"),
             (500.0, "Running stage 'train':"), (1700.0, "pipeline wall time: 1520 s"), (1730.0, "a session"),
             (1760.0, "")]
    parts = _module().stage_times(lines)
    assert parts == {"setup": 180.0, "prepare": 60.0, "render_corpus": 260.0, "train": 1200.0, "demo": 60.0}
    assert sum(parts.values()) == 1760.0  # every second belongs to one part


def test_the_metrics_digest_ignores_mlflow_ids_and_timings_but_not_a_figure(tmp_path):
    module = _module()
    figures = {"test": {"macro_f1": 0.5512345, "inference_seconds": 40.1},
               "baselines": {"tfidf_logreg": {"macro_f1": 0.4, "fit_seconds": 43.7}}, "mlflow": {"run_id": "a"}}
    first, second, moved = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    first.write_text(json.dumps(figures))
    figures["test"]["inference_seconds"], figures["mlflow"]["run_id"] = 52.0, "b"
    figures["baselines"]["tfidf_logreg"]["fit_seconds"] = 40.0
    second.write_text(json.dumps(figures))
    figures["test"]["macro_f1"] = 0.5512346
    moved.write_text(json.dumps(figures))
    assert module.metrics_digest(first) == module.metrics_digest(second)
    assert module.metrics_digest(first) != module.metrics_digest(moved)
    assert module.metrics_digest(tmp_path / "absent.json") is None


def test_a_clone_without_emotion_metrics_does_not_count_as_reproducing(tmp_path):
    summary = _module().emotion_summary(tmp_path, committed_digest=None)
    assert summary["reproduces_committed"] is False and summary["macro_f1"] is None
