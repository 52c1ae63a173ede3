"""Domain metrics for Prometheus next to BentoML's request metrics: sessions by goal and
safety outcome, detected labels, feedback ratings, errors by code. Counts only — no text."""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("emoheal.serving")
BACKEND = "prometheus_client"
_metrics: dict[str, Any] = {}
_state: dict[str, Any] = {"problem": None}


class MetricsUnavailable(RuntimeError):
    """The domain metrics could not be registered (no prometheus_client, or a name already taken)."""


def _register() -> dict[str, Any]:
    # prometheus_client directly: bentoml.metrics is only a deprecated alias of it since BentoML 1.4
    # (one that warns and is to be removed). Imported here, at first use, not at module import: a
    # BentoML worker sets PROMETHEUS_MULTIPROC_DIR at start-up and the client reads it when imported.
    from prometheus_client import Counter, Histogram

    return {
        "sessions": Counter("emoheal_sessions_total", "sessions by goal and outcome",
                            ["goal", "outcome", "safety_level"]),
        "labels": Counter("emoheal_detected_labels_total", "active emotion labels detected", ["label"]),
        "feedback": Counter("emoheal_feedback_total", "feedback received", ["kind"]),
        "ratings": Histogram("emoheal_stage_rating", "stage ratings (1-5)", ["stage"], buckets=(1, 2, 3, 4, 5)),
        "batch": Histogram("emoheal_detect_batch_size", "texts per forward pass (adaptive batching)",
                           buckets=(1, 2, 4, 8, 16, 32, 64)),
        "errors": Counter("emoheal_request_errors_total", "4xx/5xx answers by code", ["code"]),
    }


def setup() -> None:
    """Register the metrics now (idempotent). A failure is logged once, kept for `status()` and
    raised as `MetricsUnavailable`; it is never retried, since a half-done registration would
    only fail again as a duplicate."""
    if _metrics:
        return
    if _state["problem"]:
        raise MetricsUnavailable(_state["problem"])
    try:
        made = _register()
    except (ImportError, ValueError) as exc:  # no client / a metric name already registered
        _state["problem"] = f"domain metrics not registered with {BACKEND}: {type(exc).__name__}: {exc}"
        log.error("%s; requests are served without them", _state["problem"])
        raise MetricsUnavailable(_state["problem"]) from exc
    _metrics.update(made)


def status() -> dict[str, Any]:
    """What /readyz and the version stamps can show: the backend, whether the metrics are registered,
    whether they aggregate across worker processes, and the problem if registration failed."""
    return {"backend": BACKEND, "registered": bool(_metrics),
            "multiprocess": bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")), "problem": _state["problem"]}


def _get() -> dict[str, Any] | None:
    """The registered metrics, or None after a failed registration: counting must not fail a
    person's request; the failure is in the log and in `status()`."""
    try:
        setup()
    except MetricsUnavailable:
        return None
    return _metrics


def session(payload: dict) -> None:
    safety = payload["safety"]
    waiting = bool(safety.get("check_in")) and safety["check_in"].get("answer") is None
    outcome = ("music" if payload["stages"] else "check_in" if waiting
               else "crisis" if safety["level"] in ("medium", "high") else "notice")
    if (registered := _get()) is None:
        return
    registered["sessions"].labels(goal=payload["goal"], outcome=outcome, safety_level=safety["level"]).inc()
    if payload.get("emotions"):
        detected(payload["emotions"]["labels"])


def detected(labels: list[str]) -> None:
    if (registered := _get()) is None:
        return
    for label in labels:
        registered["labels"].labels(label=label).inc()


def feedback(kind: str, body: Any) -> None:
    if (registered := _get()) is None:
        return
    registered["feedback"].labels(kind=kind).inc()
    if kind == "stage" and body.rating is not None:
        registered["ratings"].labels(stage=body.stage).observe(body.rating)


def batch(size: int) -> None:
    if (registered := _get()) is not None:
        registered["batch"].observe(size)


def errors(code: str) -> None:
    if (registered := _get()) is not None:
        registered["errors"].labels(code=code).inc()
