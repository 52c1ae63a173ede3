"""The Evidently reports: drift of recent records against the reference, a pass/fail test suite,
and feedback quality.

Drift uses tests whose verdict accounts for sample size (Kolmogorov–Smirnov for numbers,
chi-square for categories): with distance measures (Evidently's default for references over
1,000 rows) a quiet hour of 100 ordinary requests already "drifts" on half the emotion columns
(measured: benchmarks/results/monitoring.json). The emotion distribution counts as drifted when a
share of its columns drift (columns move together, so one column at p < 0.05 means little);
confidence and text statistics are single-column tests at a stricter p.

Checks that need more data than the window holds are reported as skipped, not passed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from emoheal.monitoring.feedback import STAGES, feedback_quality, per_session
from emoheal.monitoring.frame import TEXT_COLUMNS, emotion_columns, monitoring_frame

CATEGORICAL = ["top_label", "language", "length_bucket"]
FAILED = ("FAIL", "ERROR")


@dataclass
class Check:
    """One named check: Evidently metrics, the tests on them, and what a failure means."""

    name: str
    meaning: str
    metrics: list = field(default_factory=list)
    skipped: str | None = None


@dataclass
class MonitorResult:
    summary: dict[str, Any]
    drift: Any = None       # Evidently snapshot (records vs reference)
    feedback: Any = None    # Evidently snapshot (ratings), None without ratings

    @property
    def passed(self) -> bool:
        return self.summary["passed"]


def coarse_languages(frames: list[pd.DataFrame], reference: pd.DataFrame, min_share: float) -> None:
    """Languages rarer than `min_share` in the reference become "other" (in place): chi-square is
    unreliable on categories expected a handful of times, and a new language shows up as "other"."""
    shares = reference["language"].value_counts(normalize=True)
    keep = set(shares[shares >= min_share].index)
    for frame in frames:
        frame["language"] = frame["language"].where(frame["language"].isin(keep), "other")
        frame["other_language"] = (frame["language"] == "other").astype(float)


def _definition(labels: list[str]):
    from evidently import DataDefinition

    numerical = [f"p_{label}" for label in labels] + ["top_probability", "n_labels", "neutral", "has_emotions",
                                                      "language_confidence", "crisis", "other_language"]
    return DataDefinition(numerical_columns=numerical, categorical_columns=CATEGORICAL)


def _checks(current: pd.DataFrame, reference: pd.DataFrame, labels: list[str], cfg: dict) -> list[Check]:
    from evidently.metrics import DriftedColumnsCount, MeanValue, RowCount, ValueDrift
    from evidently.tests import gte, lt, lte

    drift, tests, minimum = cfg["drift"], cfg["tests"], int(cfg["min_records"])
    alpha = float(drift["threshold"])

    def method(column: str) -> str:
        return drift["cat_method"] if column in CATEGORICAL else drift["num_method"]

    def value_drift(column: str, critical: bool = True):
        return ValueDrift(column=column, method=method(column), threshold=alpha,
                          tests=[gte(alpha, is_critical=critical)])

    answered = int(current["has_emotions"].sum())
    screened = int(current["crisis"].notna().sum())
    ref_mean = {c: float(reference[c].mean()) for c in ("has_emotions", "neutral", "top_probability", "crisis")}
    short = f"needs {minimum} records"
    too_few = None if len(current) >= minimum else short
    enough = None if answered >= minimum else f"{answered} answered records; {short} the model answered"
    checks = [
        Check("volume", f"at least {minimum} records in the window (fewer: drift checks are skipped)",
              [RowCount(tests=[gte(minimum, is_critical=False)])]),
        Check("readable_share", "share of texts the emotion model answered (a crisis stop or an unreadable language "
              f"lowers it) is at most {tests['readable_drop']} below the reference {ref_mean['has_emotions']:.3f}",
              [MeanValue(column="has_emotions", tests=[gte(ref_mean["has_emotions"] - tests["readable_drop"])])],
              too_few),
    ]
    columns = emotion_columns(labels)
    share = float(drift["emotion_share"])
    checks.append(Check(
        "emotion_drift", f"fewer than {share:.0%} of the emotion columns (28 probabilities + top label) drift "
        f"(p < {drift['emotion_threshold']})",
        [DriftedColumnsCount(columns=columns, drift_share=share, num_method=drift["num_method"],
                             cat_method=drift["cat_method"], threshold=float(drift["emotion_threshold"]),
                             tests=[], share_tests=[lt(share)])]
        + [ValueDrift(column=c, method=method(c), threshold=float(drift["emotion_threshold"]), tests=[])
           for c in columns],
        enough))
    checks += [
        Check("confidence_drift", f"the top probability's distribution does not drift (p < {alpha})",
              [value_drift("top_probability")], enough),
        Check("mean_confidence", f"mean top probability at most {tests['confidence_drop']} below the reference "
              f"{ref_mean['top_probability']:.3f}",
              [MeanValue(column="top_probability",
                         tests=[gte(ref_mean["top_probability"] - tests["confidence_drop"])])], enough),
        Check("neutral_share", f"share of texts with neutral active within ±{tests['neutral_share_tolerance']} of "
              f"the reference {ref_mean['neutral']:.3f}",
              [MeanValue(column="neutral", tests=[gte(ref_mean["neutral"] - tests["neutral_share_tolerance"]),
                                                  lte(ref_mean["neutral"] + tests["neutral_share_tolerance"])])],
              enough),
    ]
    # languages: a share test, not chi-square (a single text in a language the reference saw five times
    # in 5,000 "drifts" a window of 100); the distribution is still drawn in the report
    other = float(reference["other_language"].mean())
    checks.append(Check(
        "language_shift", f"share of texts confidently in a language the reference rarely has (< "
        f"{tests['min_language_share']:.0%}) at most {tests['other_language_jump']} above the reference {other:.4f}",
        [MeanValue(column="other_language", tests=[lte(other + tests["other_language_jump"])]),
         ValueDrift(column="language", method=method("language"), threshold=alpha, tests=[])], too_few))
    # what the texts look like (language-ID confidence, length) is a warning, not an alert: it says
    # nothing about what the model answers, and with one p < 0.01 test per column per window, ordinary
    # traffic tripped one of them (a fresh clone's window of 150 dev texts: language confidence, p < 0.01)
    checks += [Check(f"{column}_drift", f"the {column.replace('_', ' ')} distribution does not drift (p < {alpha}; "
                     "a warning)", [value_drift(column, critical=False)], too_few)
               for column in TEXT_COLUMNS if column != "language"]
    checks.append(Check(
        "crisis_rate", f"share of screened sessions flagged high risk at most {tests['crisis_rate_jump']} above the "
        f"reference {ref_mean['crisis']:.4f}",
        [MeanValue(column="crisis", tests=[lte(ref_mean["crisis"] + tests["crisis_rate_jump"])])],
        None if screened >= minimum else f"{screened} screened sessions; {short}"))
    return checks


def _run(metrics: list, current: pd.DataFrame, reference: pd.DataFrame | None, definition):
    from evidently import Dataset, Report

    with warnings.catch_warnings():  # evidently divides by zero on all-NaN columns; the result says so
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = Dataset.from_pandas(reference, data_definition=definition) if reference is not None else None
        return Report(metrics, include_tests=True).run(Dataset.from_pandas(current, data_definition=definition), ref)


def _verdicts(checks: list[Check], snapshot) -> list[dict[str, Any]]:
    """Each check with Evidently's test results for its metrics (status, what was measured)."""
    results = snapshot.dict()["tests"] if snapshot is not None else []
    out = []
    for check in checks:
        if check.skipped:
            status = "WARNING" if check.name == "volume" else "SKIPPED"
            out.append({"name": check.name, "status": status, "critical": False, "meaning": check.meaning,
                        "detail": check.skipped})
            continue
        ids = {m.metric_id for m in check.metrics}
        mine = [t for t in results if t["metric_config"]["metric_id"] in ids]
        critical = any(t["test_config"].get("is_critical", True) for t in mine)
        failed = [t for t in mine if t["status"] in FAILED]
        warned = [t for t in mine if t["status"] == "WARNING"]
        status = "FAIL" if failed and critical else "WARNING" if failed or warned else "SUCCESS"
        out.append({"name": check.name, "status": status, "critical": critical, "meaning": check.meaning,
                    "detail": "; ".join(t["description"] for t in (failed + warned or mine))})
    return out


def _values(snapshot, checks: list[Check]) -> dict[str, Any]:
    """Headline figures for the JSON summary and MLflow: the metrics' values by check."""
    values = {m["id"]: m["value"] for m in snapshot.dict()["metrics"]} if snapshot is not None else {}
    out: dict[str, Any] = {}
    for check in checks:
        if check.skipped or not check.metrics:
            continue
        value = values.get(check.metrics[0].metric_id)
        if isinstance(value, dict):
            out[f"{check.name}.share"] = value.get("share")
        elif value is not None:
            out[check.name] = float(value)
    return out


def build_reports(records: pd.DataFrame, reference_records: pd.DataFrame, ratings: pd.DataFrame,
                  labels: list[str], cfg: dict) -> MonitorResult:
    """`records` are the window's service records, `reference_records` the reference stage's."""
    current = monitoring_frame(records, labels)
    reference = monitoring_frame(reference_records, labels)
    coarse_languages([current, reference], reference, float(cfg["tests"]["min_language_share"]))
    checks = _checks(current, reference, labels, cfg)
    if current.empty:  # nothing to test: say so (a warning, not a failure: a quiet night is not an incident)
        for check in checks:
            check.skipped = check.skipped or "no records in the window"
    metrics = [m for check in checks if not check.skipped for m in check.metrics]
    definition = _definition(labels)
    drop = ["endpoint", "time"]
    drift = None if current.empty else _run(metrics, current.drop(columns=drop), reference.drop(columns=drop),
                                            definition)
    verdicts = _verdicts(checks, drift)
    feedback, feedback_snapshot, feedback_verdicts = _feedback(ratings, cfg)
    verdicts += feedback_verdicts
    summary = {
        "passed": not any(v["status"] == "FAIL" for v in verdicts),
        "records": {"n": int(len(current)), "answered": int(current["has_emotions"].sum()),
                    "by_endpoint": current["endpoint"].value_counts().to_dict(),
                    "model_versions": sorted(records["model_version"].dropna().unique().tolist())},
        "reference": {"n": int(len(reference)),
                      "neutral_share": round(float(reference["neutral"].mean()), 4),
                      "mean_confidence": round(float(reference["top_probability"].mean()), 4),
                      "crisis_rate": round(float(reference["crisis"].mean()), 5)},
        "current": {"neutral_share": _mean(current, "neutral"), "mean_confidence": _mean(current, "top_probability"),
                    "crisis_rate": _mean(current, "crisis"), "readable_share": _mean(current, "has_emotions")},
        "values": _values(drift, checks),
        "tests": verdicts,
        "feedback": feedback,
    }
    return MonitorResult(summary, drift, feedback_snapshot)


def _mean(frame: pd.DataFrame, column: str) -> float | None:
    value = frame[column].mean()
    return None if pd.isna(value) else round(float(value), 4)


def _feedback(ratings: pd.DataFrame, cfg: dict) -> tuple[dict, Any, list[dict]]:
    """Feedback quality, its Evidently report (per-session table) and the rating checks."""
    from evidently import DataDefinition
    from evidently.metrics import MeanValue
    from evidently.tests import gte

    quality = feedback_quality(ratings)
    sessions = per_session(ratings)
    if sessions.empty:
        return quality, None, []
    settings = cfg["feedback"]
    columns = [f"rating_{s}" for s in STAGES] + ["reflected", "calmer"]
    floor, minimum = float(settings["min_mean_rating"]), int(settings["min_ratings"])
    checks, metrics = [], []
    for stage in STAGES:
        n = quality["stage_ratings"][stage]["n"]
        metric = MeanValue(column=f"rating_{stage}", tests=[gte(floor)] if n >= minimum else [])
        metrics.append(metric)
        checks.append(Check(f"rating_{stage}", f"mean {stage} rating at least {floor} (1-5)", [metric],
                            None if n >= minimum else f"{n} ratings; needs {minimum}"))
    metrics += [MeanValue(column="reflected", tests=[]), MeanValue(column="calmer", tests=[])]
    known = sessions[columns].dropna(how="all", axis=1)
    usable = [m for m in metrics if m.column in known.columns]
    snapshot = _run(usable, sessions[columns], None, DataDefinition(numerical_columns=columns)) if usable else None
    return quality, snapshot, _verdicts(checks, snapshot)
