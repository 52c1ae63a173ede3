"""The contract we rely on from BentoML's adaptive-batching dispatcher, through our adapter
(serving/dispatch.py) and AdaptiveBatcher: concurrent calls share forward passes and each caller
gets its own results in order; a request the dispatcher would hold too long is refused quickly as
DetectorUnavailable, which the app answers with 503 + Retry-After; a caller that goes away is
cancelled, not counted as an overload; a model error stays that error. A BentoML upgrade that
changes any of this fails here, not in production.

A tiny fake predictor stands in for the model: the dispatcher is what is under test (the real
model behind it: tests/serving/test_api.py, test_bento.py)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from serving.batching import AdaptiveBatcher
from serving.dispatch import DetectorUnavailable


class FakePredictor:
    """`predict(texts)` that takes `seconds` per call (in a worker thread, like the model) and
    records every batch it saw."""

    meta = {"version": "fake"}

    def __init__(self, seconds: float, make=lambda text: f"p({text})"):
        self.seconds, self.make, self.batches = seconds, make, []

    def predict(self, texts: list[str]) -> list:
        self.batches.append(list(texts))
        time.sleep(self.seconds)
        return [self.make(text) for text in texts]


def gather(calls, timeout: float = 60.0):
    """Run the calls concurrently on one event loop (a dispatcher is bound to its first loop)."""

    async def main():
        return await asyncio.wait_for(asyncio.gather(*(call() for call in calls), return_exceptions=True), timeout)

    return asyncio.run(main())


def test_concurrent_calls_share_forward_passes_and_each_gets_its_own_results_in_order():
    predictor = FakePredictor(seconds=0.01)
    batcher = AdaptiveBatcher(predictor, max_batch_size=8, max_latency_ms=10_000)
    requests = [[f"{i}.{j}" for j in range(1 + i % 3)] for i in range(40)]
    requests[20] = [f"big.{j}" for j in range(19)]  # more than a batch: split across passes, joined back
    results = gather([lambda r=r: batcher.apredict(r) for r in requests])
    assert results == [[f"p({text})" for text in r] for r in requests]
    sizes = [len(b) for b in predictor.batches]
    assert sum(sizes) == sum(map(len, requests)) and max(sizes) <= 8
    assert max(sizes) > 1 and len(sizes) < len(requests), sizes  # fewer forward passes than callers


def test_a_request_that_would_wait_too_long_is_refused_quickly_as_detector_unavailable():
    predictor = FakePredictor(seconds=1.0)
    batcher = AdaptiveBatcher(predictor, max_batch_size=4, max_latency_ms=50)
    started = time.perf_counter()

    async def timed(i: int):
        try:
            return await batcher.apredict([f"t{i}"])
        except DetectorUnavailable as exc:
            return exc, time.perf_counter() - started

    results = gather([lambda i=i: timed(i) for i in range(12)])
    refused = [r for r in results if isinstance(r, tuple)]
    served = {i: r for i, r in enumerate(results) if isinstance(r, list)}
    assert refused and served and len(refused) + len(served) == 12, results
    assert all(isinstance(exc, DetectorUnavailable) and "overloaded" in str(exc) for exc, _ in refused)
    assert max(seconds for _, seconds in refused) < 0.9  # refused while the first pass still ran
    assert all(r == [f"p(t{i})"] for i, r in served.items())


def test_a_caller_that_goes_away_is_cancelled_not_reported_as_overload():
    predictor = FakePredictor(seconds=0.3)
    batcher = AdaptiveBatcher(predictor, max_batch_size=4, max_latency_ms=10_000)

    async def main():
        first = asyncio.ensure_future(batcher.apredict(["a"]))
        await asyncio.sleep(0.05)  # `a` is in the model now; `b` has to wait
        second = asyncio.ensure_future(batcher.apredict(["b"]))
        await asyncio.sleep(0.05)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        return await first

    assert asyncio.run(main()) == ["p(a)"]


def test_a_model_error_reaches_its_caller_as_itself():
    def broken(text: str):
        raise ValueError("the model broke")

    batcher = AdaptiveBatcher(FakePredictor(seconds=0.0, make=broken), max_batch_size=4, max_latency_ms=10_000)
    results = gather([lambda i=i: batcher.apredict([f"t{i}"]) for i in range(3)])
    assert all(isinstance(r, ValueError) and not isinstance(r, DetectorUnavailable) for r in results), results


def test_the_app_answers_an_overload_with_503_and_retry_after():
    import httpx

    from serving.app import build_app

    found = SimpleNamespace(probabilities={"joy": 0.9, "neutral": 0.1}, labels=["joy"], truncated=False)
    batcher = AdaptiveBatcher(FakePredictor(seconds=1.0, make=lambda _: found), max_batch_size=4, max_latency_ms=50)
    backend = SimpleNamespace(versions={"emoheal": "test"}, predict=batcher.apredict,
                              records=SimpleNamespace(append=lambda record: None))
    app = build_app(lambda: backend, max_text_chars=2000)

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emoheal") as client:
            return await asyncio.gather(*(client.post("/detect", json={"text": f"hi {i}"}) for i in range(8)))

    responses = asyncio.run(asyncio.wait_for(main(), 60))
    busy = [r for r in responses if r.status_code == 503]
    assert busy and {r.status_code for r in responses} == {200, 503}, [r.text for r in responses]
    for r in busy:
        assert r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "busy"
        assert "overloaded" in r.json()["error"]["message"]


def test_a_bentoml_that_moved_the_dispatcher_fails_at_import_saying_what_to_do(monkeypatch):
    import importlib.util
    import sys

    from tests.helpers import ROOT

    monkeypatch.setitem(sys.modules, "bentoml._internal.marshal.dispatcher", None)  # as if it were gone
    spec = importlib.util.spec_from_file_location("dispatch_probe", ROOT / "serving" / "dispatch.py")
    with pytest.raises(ImportError, match=r"CorkDispatcher.*pin bentoml==1\.4\.40.*test_dispatch\.py"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
