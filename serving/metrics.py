"""Domain metrics for Prometheus next to BentoML's request metrics: sessions by goal and
safety outcome, detected labels, feedback ratings, errors by code. Counts only — no text."""

from __future__ import annotations

from typing import Any

_metrics: dict[str, Any] = {}


def _get():
    if not _metrics:
        try:  # BentoML's wrapper: works in its multi-process servers
            import bentoml

            counter, histogram = bentoml.metrics.Counter, bentoml.metrics.Histogram
        except Exception:  # noqa: BLE001 - fall back to plain prometheus_client (tests, other servers)
            from prometheus_client import Counter as counter
            from prometheus_client import Histogram as histogram
        _metrics["sessions"] = counter("emoheal_sessions_total", "sessions by goal and outcome",
                                       ["goal", "outcome", "safety_level"])
        _metrics["labels"] = counter("emoheal_detected_labels_total", "active emotion labels detected", ["label"])
        _metrics["feedback"] = counter("emoheal_feedback_total", "feedback received", ["kind"])
        _metrics["ratings"] = histogram("emoheal_stage_rating", "stage ratings (1-5)", ["stage"],
                                        buckets=(1, 2, 3, 4, 5))
        _metrics["batch"] = histogram("emoheal_detect_batch_size", "texts per forward pass (adaptive batching)",
                                      buckets=(1, 2, 4, 8, 16, 32, 64))
        _metrics["errors"] = counter("emoheal_request_errors_total", "4xx/5xx answers by code", ["code"])
    return _metrics


def session(payload: dict) -> None:
    safety = payload["safety"]
    waiting = bool(safety.get("check_in")) and safety["check_in"].get("answer") is None
    outcome = ("music" if payload["stages"] else "check_in" if waiting
               else "crisis" if safety["level"] in ("medium", "high") else "notice")
    _get()["sessions"].labels(goal=payload["goal"], outcome=outcome, safety_level=payload["safety"]["level"]).inc()
    if payload.get("emotions"):
        detected(payload["emotions"]["labels"])


def detected(labels: list[str]) -> None:
    for label in labels:
        _get()["labels"].labels(label=label).inc()


def feedback(kind: str, body: Any) -> None:
    _get()["feedback"].labels(kind=kind).inc()
    if kind == "stage" and body.rating is not None:
        _get()["ratings"].labels(stage=body.stage).observe(body.rating)


def batch(size: int) -> None:
    _get()["batch"].observe(size)


def errors(code: str) -> None:
    _get()["errors"].labels(code=code).inc()
