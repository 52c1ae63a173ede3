"""The fresh-clone timing benchmark reads stage boundaries from `make run`'s output correctly."""

from __future__ import annotations

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
