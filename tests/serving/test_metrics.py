"""Domain metrics: registered with prometheus_client and said so in `metrics.status()`; a
registration that fails (no client, a name already taken) is loud — logged once, kept in
`status()`, raised by `setup()` — and never fails the request that was being counted."""

from __future__ import annotations

import logging
import sys

import pytest

from serving import metrics


@pytest.fixture
def fresh(monkeypatch):
    """The module as before its first registration (restored afterwards). The default registry
    still holds the names a first `setup()` registered."""
    metrics.setup()
    monkeypatch.setattr(metrics, "_metrics", {})
    monkeypatch.setattr(metrics, "_state", {"problem": None})
    return metrics


def test_metrics_register_with_prometheus_client_and_count():
    from prometheus_client import REGISTRY

    metrics.setup()
    metrics.setup()  # idempotent
    status = metrics.status()
    assert status["backend"] == "prometheus_client" and status["registered"] and status["problem"] is None
    assert isinstance(status["multiprocess"], bool)
    before = REGISTRY.get_sample_value("emoheal_request_errors_total", {"code": "busy"}) or 0.0
    metrics.errors("busy")
    assert REGISTRY.get_sample_value("emoheal_request_errors_total", {"code": "busy"}) == before + 1


def test_a_metric_name_already_taken_is_loud_and_never_fails_a_request(fresh, caplog):
    with caplog.at_level(logging.ERROR, logger="emoheal.serving"):
        with pytest.raises(fresh.MetricsUnavailable, match="Duplicated timeseries"):
            fresh.setup()
        fresh.errors("busy")  # counting is skipped, not raised
        fresh.batch(3)
        fresh.detected(["joy"])
        with pytest.raises(fresh.MetricsUnavailable):  # not retried: it would only fail again
            fresh.setup()
    status = fresh.status()
    assert not status["registered"] and "Duplicated timeseries" in status["problem"]
    assert [r.levelname for r in caplog.records if "not registered" in r.getMessage()] == ["ERROR"]


def test_a_missing_prometheus_client_is_reported(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # what `import` sees when it is not installed
    with pytest.raises(fresh.MetricsUnavailable, match="ModuleNotFoundError|ImportError"):
        fresh.setup()
    assert "prometheus_client" in fresh.status()["problem"]
