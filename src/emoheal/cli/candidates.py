"""`emoheal candidates`: train fine-tuning recipes side by side and compare them on dev."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from emoheal.cli._io import print_lines
from emoheal.cli.errors import UsageError

DEFAULT_FILE = "conf/experiments/emotion_candidates.yaml"
DEFAULT_RESULTS = "metrics/emotion_candidates.json"
DEFAULT_TABLE = "docs/emotion_candidates.md"


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "candidates", help="train fine-tuning recipes (full runs: ~10-30 min each on 2 cores) and score them on dev")
    cmd.add_argument("names", nargs="*", help="candidates to run (default: every one in --file)")
    cmd.add_argument("--file", default=DEFAULT_FILE, help=f"recipes (default: {DEFAULT_FILE})")
    cmd.add_argument("--out", default="models/candidates", help="one model folder per candidate")
    cmd.add_argument("--results", default=DEFAULT_RESULTS, help=f"results file (default: {DEFAULT_RESULTS})")
    cmd.add_argument("--table", default=DEFAULT_TABLE, help=f"the table's page (default: {DEFAULT_TABLE})")
    cmd.add_argument("--table-only", action="store_true", help="rewrite the table from the results file only")
    cmd.set_defaults(func=candidates_command)


def candidates_command(args: argparse.Namespace) -> int:
    import yaml

    from emoheal.emotion.candidate_table import write_table
    from emoheal.emotion.candidates import candidate_params, read_candidates, run_candidate, update_results
    from emoheal.utils.io import read_json

    try:
        base, candidates = read_candidates(args.file)
    except (yaml.YAMLError, ValueError) as exc:
        raise UsageError(f"{args.file}: not a candidates file ({str(exc).splitlines()[0]})") from None
    unknown = [n for n in args.names if n not in candidates]
    if unknown:
        raise UsageError(f"unknown candidate(s) {', '.join(unknown)}; {args.file} has {', '.join(candidates)}")
    if not args.table_only:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for name in args.names or list(candidates):
            params = candidate_params(name, base, candidates[name], Path(args.out))
            result = run_candidate(name, candidates[name], params)
            update_results(args.results, name, result)
            dev = result["dev"]
            print(f"{name}: dev macro-F1 {dev['macro_f1']:.4f} micro-F1 {dev['micro_f1']:.4f} "
                  f"(cross-fitted), {result['train_seconds'] / 60:.1f} min", flush=True)
    results = read_json(args.results) if Path(args.results).is_file() else {}
    print_lines([f"wrote {write_table(results, candidates, args.table)}"])
    return 0
