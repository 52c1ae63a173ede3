"""`emoheal monitor`: the window's records against the reference, written as HTML + JSON and
logged to MLflow; the caller exits non-zero when a critical test fails (for cron or CI)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emoheal.monitoring.records import RecordStoreError, read_store
from emoheal.monitoring.reference import read_reference
from emoheal.monitoring.report import MonitorResult, build_reports
from emoheal.utils.io import write_json

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


class MonitorInputError(ValueError):
    """A window, store or reference the monitor cannot use."""


def parse_since(value: str | None, now: float | None = None) -> float | None:
    """`24h`, `7d`, `90m`, `2w` (ago) or an ISO date/time (UTC unless it says otherwise); None: all."""
    if value is None or value == "all":
        return None
    now = time.time() if now is None else now
    match = _SPAN.match(value.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MonitorInputError(f"--since {value!r}: use a span like 24h, 7d, 90m, 2w, an ISO date "
                                "(2026-12-01 or 2026-12-01T06:00), or 'all'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.timestamp() > now:
        raise MonitorInputError(f"--since {value!r} is in the future")
    return moment.timestamp()


def run_monitor(store: str | Path, reference_dir: str | Path, out_dir: str | Path, cfg: dict[str, Any],
                since: str | None = None, log_mlflow: bool = True) -> MonitorResult:
    """`store`: the service's store, a database URL or an SQLite file (every replica's records
    when they share one)."""
    if "://" not in str(store) and not Path(store).is_file():
        raise MonitorInputError(f"no records store at {store}: the service writes it (serving.store_file or "
                                "store_url, EMOHEAL_STORE_URL); pass --store to point at it")
    start = parse_since(since)
    try:
        reference, meta = read_reference(reference_dir)
    except (OSError, ValueError) as exc:  # a corrupt parquet or JSON file
        raise MonitorInputError(f"cannot read the reference in {reference_dir}: {exc}; rebuild it with "
                                "`dvc repro monitor_reference`") from None
    try:
        records, ratings = read_store(store, start)
    except RecordStoreError as exc:
        raise MonitorInputError(str(exc)) from None
    result = build_reports(records, reference, ratings, meta["labels"], cfg)
    result.summary["window"] = {"since": since, "start": _iso(start), "end": _iso(time.time())}
    result.summary["reference"].update({"model_version": meta.get("model_version"),
                                        "data_hash": meta.get("data_hash"), "split": meta.get("split")})
    served = result.summary["records"]["model_versions"]
    if served and meta.get("model_version") not in served:
        result.summary["notes"] = [f"records come from model {', '.join(served)} but the reference from "
                                   f"{meta.get('model_version')}: rebuild the reference for the served model"]
    _write(result, Path(out_dir))
    if log_mlflow:  # the logged monitor.json cannot hold its own run id: the local copy gets it after
        result.summary["mlflow_run_id"] = _log(result, Path(out_dir), cfg)
        write_json(Path(out_dir) / "monitor.json", result.summary)
    return result


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _write(result: MonitorResult, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MonitorInputError(f"cannot write the report to {out}: {exc}") from None
    write_json(out / "monitor.json", result.summary)
    if result.drift is not None:
        result.drift.save_html(str(out / "drift.html"))
        result.drift.save_json(str(out / "drift.json"))
    if result.feedback is not None:
        result.feedback.save_html(str(out / "feedback.html"))
        result.feedback.save_json(str(out / "feedback.json"))


def _log(result: MonitorResult, out: Path, cfg: dict) -> str:
    """One MLflow run per report: the figures as metrics, the files as artifacts."""
    import mlflow

    from emoheal.tracking.runs import ensure_experiment
    from emoheal.utils.git import git_commit

    summary = result.summary
    experiment = ensure_experiment(cfg["experiment"])
    metrics = {k: v for k, v in summary["values"].items() if isinstance(v, (int, float))}
    metrics.update({f"current.{k}": v for k, v in summary["current"].items() if v is not None})
    metrics.update({"records": summary["records"]["n"], "answered": summary["records"]["answered"],
                    "tests_failed": sum(t["status"] == "FAIL" for t in summary["tests"])})
    study = summary["feedback"]["study"]
    if study["correlation"]["r"] is not None:
        metrics["study.r"] = study["correlation"]["r"]
    for stage, figures in summary["feedback"]["stage_ratings"].items():
        if figures["mean"] is not None:
            metrics[f"rating.{stage}"] = figures["mean"]
    with mlflow.start_run(experiment_id=experiment, run_name=f"monitor {summary['window']['end']}") as run:
        mlflow.set_tags({"git_commit": git_commit(), "passed": str(summary["passed"]),
                         "reference_model_version": str(summary["reference"].get("model_version")),
                         "reference_data_hash": str(summary["reference"].get("data_hash"))})
        mlflow.log_params({"since": str(summary["window"]["since"]), "window_start": str(summary["window"]["start"]),
                           "min_records": cfg["min_records"], "drift": json.dumps(cfg["drift"], sort_keys=True)})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_artifacts(str(out), artifact_path="monitoring")
        return run.info.run_id
