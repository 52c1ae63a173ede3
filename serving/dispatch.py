"""Our adapter over BentoML's adaptive-batching dispatcher, and the only module that touches
BentoML internals.

The CorkDispatcher (what `@bentoml.api(batchable=True)` runs on) lives in a private module
(`bentoml._internal`), so an upgrade may move or change it. This adapter keeps that risk in one
place: importing it fails at once, saying what to do, when BentoML no longer has the classes, and
tests/serving/test_dispatch.py pins the behaviour we rely on — concurrent calls are batched, each
caller gets its own results in order, and a request the dispatcher would hold past its latency
budget is refused with our own `DetectorUnavailable` (the app answers 503 + Retry-After).

Written against bentoml 1.4.40 (requirements/lock.txt)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


def _bentoml_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bentoml")
    except PackageNotFoundError:
        return "(not installed)"


try:
    from bentoml._internal.marshal.dispatcher import CorkDispatcher
    from bentoml.exceptions import ServiceUnavailable
except ImportError as exc:  # a BentoML that moved them: say so now, not at the first request
    raise ImportError(
        f"serving/dispatch.py needs BentoML's CorkDispatcher (bentoml._internal.marshal.dispatcher) and "
        f"ServiceUnavailable (bentoml.exceptions), which bentoml {_bentoml_version()} does not have there "
        f"(1.4.40 did): pin bentoml==1.4.40, or port this adapter and run tests/serving/test_dispatch.py"
    ) from exc

OVERLOADED = "emotion detection is overloaded right now"


class DetectorUnavailable(RuntimeError):
    """Detection is overloaded: the server's problem, answered with a 503 and Retry-After."""


def _refuse() -> Any:
    # The dispatcher calls its fallback for a request it dropped because holding it would break the
    # latency budget. Raising BentoML's own exception (as its server does) keeps one translation point.
    raise ServiceUnavailable(OVERLOADED)


class Dispatcher:
    """`await dispatcher(item)` from many concurrent callers → `infer(items)` on batches of at most
    `max_batch_size` (counted with `size(item)`; a larger item is split), one batch at a time; each
    caller gets the output for its own item. A request that would wait past `max_latency_ms` raises
    `DetectorUnavailable` instead.

    Bound to the event loop of its first call (BentoML runs one loop per worker process)."""

    def __init__(self, infer: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]], max_batch_size: int,
                 max_latency_ms: int, size: Callable[[Any], int] = len):
        cork = CorkDispatcher(max_latency_in_ms=max_latency_ms, max_batch_size=max_batch_size, fallback=_refuse,
                              get_batch_size=size, batch_dim=(0, 0))
        self._call = cork(infer)

    async def __call__(self, item: Any) -> Any:
        try:
            return await self._call(item)
        except ServiceUnavailable as exc:
            # The dispatcher turns *any* cancellation of a waiting caller into its fallback, a client
            # that went away included: that is a cancellation to pass on, not an overload to report.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from exc
            raise DetectorUnavailable(OVERLOADED) from exc
