"""`make reference`: the full-corpus figures the README quotes, regenerated — not a DVC stage.

The README's corpus and retrieval tables are measured on all 1,078 EMOPIA clips, which the default
profile does not render. This runs the pipeline with `corpus=full` as a DVC experiment in a temporary
copy of the project (`dvc exp run --temp`, under .dvc/tmp/exps), so the workspace's params.yaml,
dvc.lock, models/ and metrics/ stay as they are, then copies the experiment's metrics/corpus.json and
metrics/retrieval.json byte for byte to metrics/reference/corpus_full.json and retrieval_full.json.
metrics/reference/run.json records the experiment, the commit it started from and the wall time.

Only the two stages whose metrics are kept, and what they need, run: the emotion model comes from
the DVC cache as the workspace's dvc.lock records it, so run `make run` first. The experiment stays
as a git ref (`dvc exp show`; `dvc exp remove <name>` drops it); its audio stays in the DVC cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from emoheal.utils.io import write_json

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES = ("corpus=full",)
TARGETS = ("corpus_emotion", "evaluate_retrieval")  # the stages that write the two metrics files
# what the targets need but the experiment must not redo: with their deps, the emotion model and the graph
UPSTREAM = ("thresholds", "compile_kg")
COPIES = {"metrics/corpus.json": "metrics/reference/corpus_full.json",
          "metrics/retrieval.json": "metrics/reference/retrieval_full.json"}
RUN_FILE = "metrics/reference/run.json"


def experiment_command(name: str) -> list[str]:
    return ["dvc", "exp", "run", "--temp", "--name", name,
            *[arg for override in OVERRIDES for arg in ("-S", override)], *TARGETS]


def find_experiment(refs: str, name: str) -> str:
    """The commit of experiment `name` in `git for-each-ref refs/exps` output ('<sha> <ref>' lines);
    DVC keeps an experiment at refs/exps/<baseline[:2]>/<baseline[2:]>/<name>."""
    found = [sha for sha, ref in (line.split(" ", 1) for line in refs.splitlines() if line.strip())
             if ref.rsplit("/", 1)[-1] == name]
    if len(found) != 1:
        raise SystemExit(f"error: expected one experiment named {name!r} under refs/exps, found {len(found)}")
    return found[0]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print what would run and be written; run nothing")
    args = parser.parse_args()

    name = datetime.now(UTC).strftime("reference-full-%Y%m%d-%H%M%S")
    command = experiment_command(name)
    # The stages call a bare `python`: it must be this interpreter's (the venv's, with emoheal), whatever
    # the caller's PATH (outside the venv the first stage fails with ModuleNotFoundError).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    # corpus_emotion logs an MLflow run: into the project's store, not one inside the temp copy that
    # is deleted with it (the default store is relative to the working directory)
    env.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{ROOT / 'mlflow' / 'mlflow.db'}")
    if args.dry_run:
        print(" ".join(command))
        for src, dst in COPIES.items():
            print(f"{src} of the experiment -> {dst}")
        print(f"provenance -> {RUN_FILE}")
        return 0
    if shutil.which("dvc", path=env["PATH"]) is None:
        raise SystemExit("error: dvc not found: run `make setup` (or `make reference`, which runs it)")

    # a stale emotion model would be retrained inside the experiment (twenty minutes on 2 cores), and the
    # reference would then not be measured with the model metrics/emotion.json describes
    if subprocess.run(["dvc", "status", "--quiet", "--with-deps", *UPSTREAM], cwd=ROOT, env=env).returncode:
        raise SystemExit(f"error: `dvc status --with-deps {' '.join(UPSTREAM)}` shows changes: "
                         "run `make run` first, so that the experiment reuses the current emotion model")
    params = ROOT / "params.yaml"
    before = params.read_bytes() if params.is_file() else None
    baseline = _git("rev-parse", "HEAD").strip()
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no").strip())
    started = time.monotonic()
    print("+ " + " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    seconds = round(time.monotonic() - started)

    sha = find_experiment(_git("for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"), name)
    for src, dst in COPIES.items():
        (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / dst).write_text(_git("show", f"{sha}:{src}"))
        print(f"{dst} <- {src} of experiment {name} ({sha[:7]})")
    write_json(ROOT / RUN_FILE, {
        "command": "make reference", "experiment": name, "experiment_commit": sha, "baseline_commit": baseline,
        # the experiment carries the workspace's uncommitted changes to tracked files, as DVC stashes them
        "baseline_had_uncommitted_changes": dirty, "overrides": list(OVERRIDES), "targets": list(TARGETS),
        "files": COPIES, "wall_seconds": seconds,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    print(f"{RUN_FILE}: {seconds} s of wall time")
    if params.is_file() and params.read_bytes() != before:  # DVC restores it; say so if it ever did not
        print("warning: params.yaml changed during the experiment", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
