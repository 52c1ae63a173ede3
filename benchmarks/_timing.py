"""Shared by the benchmark scripts: timing calls."""

from __future__ import annotations

import time


def timed(fn, repeats: int) -> list[float]:
    """Wall-clock seconds of `repeats` calls of `fn`."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out
