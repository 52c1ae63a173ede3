"""Wall time of the quickstart `make run` from a fresh clone, stage by stage, against its budget.

    .venv/bin/python benchmarks/fresh_clone_run.py [--rev HEAD] [--budget-min 40] [--log FILE]

Clones the committed `--rev` of this repository into a temporary folder — no venv, no DVC cache,
no MLflow store: what a newcomer gets, apart from pip's download cache and the Debian packages
already installed — and runs `make run` there, timestamping every line of its output as it
arrives. Stage boundaries are DVC's "Running stage '...'" lines; `setup` is everything before the
first (venv, params.yaml), `demo` everything after the pipeline's last stage (the sample
detection, screen and session `make run` prints). Nothing else should run meanwhile: on 2 cores a
second job slows training several-fold. Takes as long as `make run` (30-45 min on 2 cores).
Writes benchmarks/results/fresh_clone_run.json: total and per-stage minutes, the corpus stages'
and training's share, whether the total is within `--budget-min`, and whether the clone's
metrics/emotion.json reproduces the one committed at `--rev` to the last digit (every figure but
the run's MLflow ids and its timings).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emoheal.utils.io import write_json

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^Running stage '([\w-]+)'")
WALL = re.compile(r"^pipeline wall time")
CORPUS_STAGES = ("render_corpus", "compose_corpus", "ingest_media", "describe_corpus", "corpus_emotion",
                 "embed_corpus", "cut_points", "build_index")
TRAINING_STAGES = ("train", "thresholds")
NOTE = "the clone's own .venv; pip's download cache is shared"
EMOTION_METRICS = "metrics/emotion.json"
# What legitimately differs between two runs of the same commit: the MLflow ids and wall-clock timings.
VOLATILE = ("mlflow", "inference_seconds", "fit_seconds")


def timed_lines(cmd: list[str], cwd: Path, log: Path) -> tuple[list[tuple[float, str]], int]:
    """Run `cmd`, returning (seconds since start, line) for each output line and the exit status."""
    start = time.monotonic()
    lines: list[tuple[float, str]] = []
    with log.open("w") as out, subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                 text=True, bufsize=1) as proc:
        for line in proc.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
            out.write(line)
            out.flush()
        status = proc.wait()
    lines.append((time.monotonic() - start, ""))
    return lines, status


def stage_times(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per part: setup, each stage that ran, demo (after the pipeline's wall-time line)."""
    marks: list[tuple[str, float]] = [("setup", 0.0)]
    for at, text in lines:
        found = STAGE.match(text)
        if found:
            marks.append((found.group(1), at))
        elif WALL.match(text):
            marks.append(("demo", at))
    ends = [at for _, at in marks[1:]] + [lines[-1][0]]
    return {name: round(end - begin, 1) for (name, begin), end in zip(marks, ends, strict=True)}


def _without_volatile(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def metrics_digest(path: Path) -> str | None:
    """SHA-256 of a metrics file's figures, MLflow ids and timings left out; None when it is absent."""
    if not path.is_file():
        return None
    figures = _without_volatile(json.loads(path.read_text()))
    return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()


def emotion_summary(clone: Path, committed_digest: str | None) -> dict:
    """The clone's emotion figures and whether they equal, to the last digit, those committed at the rev."""
    path = clone / EMOTION_METRICS
    test = json.loads(path.read_text())["test"] if path.is_file() else {}
    digest = metrics_digest(path)
    return {"macro_f1": test.get("macro_f1"), "micro_f1": test.get("micro_f1"), "digest": digest,
            "committed_digest": committed_digest,
            "reproduces_committed": digest is not None and digest == committed_digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--budget-min", type=float, default=45.0)
    parser.add_argument("--log", default=str(Path(tempfile.gettempdir()) / "emoheal_fresh_clone_run.log"),
                        help="where make run's output goes")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fresh_clone_run.json"))
    args = parser.parse_args()
    found = subprocess.run(["git", "rev-parse", "--verify", f"{args.rev}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        sys.exit(f"--rev {args.rev!r} is not a commit of this repository")
    commit = found.stdout.strip()
    with tempfile.TemporaryDirectory(prefix="emoheal-fresh-") as tmp:
        clone = Path(tmp) / "emoheal"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", commit], cwd=clone, check=True)
        committed = metrics_digest(clone / EMOTION_METRICS)
        log = Path(args.log)
        print(f"make run in a fresh clone of {commit[:12]} (log: {log}) ...", flush=True)
        lines, status = timed_lines(["make", "run"], clone, log)
        emotion = emotion_summary(clone, committed)
    if status != 0:
        tail = "\n".join(text for _, text in lines[-20:])
        sys.exit(f"make run failed (exit {status}); the last lines:\n{tail}")
    parts = stage_times(lines)
    total = lines[-1][0]
    minutes = {name: round(seconds / 60, 2) for name, seconds in parts.items()}
    corpus = sum(parts.get(s, 0.0) for s in CORPUS_STAGES) / 60
    training = sum(parts.get(s, 0.0) for s in TRAINING_STAGES) / 60
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "note": NOTE},
        "commit": commit, "budget_minutes": args.budget_min,
        "total_minutes": round(total / 60, 2), "within_budget": total / 60 <= args.budget_min,
        "corpus_stages_minutes": round(corpus, 2), "training_minutes": round(training, 2),
        "minutes": minutes, "emotion": emotion,
    }
    for name, value in minutes.items():
        print(f"  {name:<20} {value:6.2f} min")
    print(f"make run from a fresh clone: {total / 60:.1f} min (budget {args.budget_min:.0f}: "
          f"{'within' if result['within_budget'] else 'OVER'}); corpus stages {corpus:.1f}, training {training:.1f}")
    print(f"emotion test macro-F1 {emotion['macro_f1']}, micro-F1 {emotion['micro_f1']}; reproduces the "
          f"committed {EMOTION_METRICS} to the last digit: {'yes' if emotion['reproduces_committed'] else 'NO'}")
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
