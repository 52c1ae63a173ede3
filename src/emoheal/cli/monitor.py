"""`emoheal monitor`: the service's recent records against the reference (Evidently drift report
and tests, feedback quality)."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC
from pathlib import Path

from emoheal.cli._io import load_params_file, print_lines


def register(sub: argparse._SubParsersAction) -> None:
    monitor = sub.add_parser("monitor", help="compare the service's recent records with the reference (Evidently "
                                             "drift report + tests, feedback quality); exit 1 when a test fails")
    monitor.add_argument("--since", help="window start: a span (90m, 24h, 7d, 2w), an ISO date/time, or all "
                                         "(default: monitoring.window)")
    monitor.add_argument("--store", "--records", dest="store",
                         help="the service's store: an SQLite file or a database URL (default: EMOHEAL_STORE_URL, "
                              "else monitoring.store)")
    monitor.add_argument("--reference", help="reference folder (default: paths.monitoring)")
    monitor.add_argument("--out", help="output folder (default: monitoring.out_dir/<UTC time>)")
    monitor.add_argument("--params", default="params.yaml", help="composed parameters (monitoring section)")
    monitor.add_argument("--no-mlflow", action="store_true", help="write the files only; log no MLflow run")
    monitor.add_argument("--json", action="store_true", help="print the summary as JSON")
    monitor.set_defaults(func=monitor_command)


def monitor_command(args: argparse.Namespace) -> int:
    """Exit 0 when every critical test passed, 1 when one failed, 2 when the monitor cannot run
    (MonitorInputError and a missing params file are usage errors in cli/errors.py)."""
    from datetime import datetime

    from emoheal.monitoring.monitor import run_monitor
    from emoheal.monitoring.summary import summary_lines
    from emoheal.store.engine import URL_ENV

    params = load_params_file(args.params)
    cfg = params["monitoring"]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out or Path(cfg["out_dir"]) / stamp)
    store = args.store or os.environ.get(URL_ENV) or cfg["store"]
    result = run_monitor(store, args.reference or params["paths"]["monitoring"], out,
                         cfg, args.since or cfg["window"], log_mlflow=not args.no_mlflow)
    if args.json:
        print(json.dumps(result.summary, indent=2))
    else:
        print_lines(summary_lines(result.summary))
        print(f"report: {out}/drift.html, {out}/monitor.json" + (" (logged to MLflow)" if not args.no_mlflow else ""))
    return 0 if result.passed else 1
