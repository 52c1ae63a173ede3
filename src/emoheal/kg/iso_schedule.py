"""The iso schedule in time: each stage's span of the session, and the per-minute path that moves
between the stages' states along each stage's curve (sigmoid by default), so nothing jumps."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from emoheal.kg.session_plan import Stage

# what the path carries, besides the minute, the stage and the schedule's progress
PATH_KEYS = ("valence", "arousal", "tempo_bpm", "loudness_lufs", "density_onsets_per_s")


class Span(NamedTuple):
    start: float
    end: float
    minutes: float


def stage_spans(minutes: float, shares: Sequence[float]) -> list[Span]:
    """Consecutive spans of the session, each its share of the minutes."""
    spans = []
    start = 0.0
    for share in shares:
        length = minutes * share
        spans.append(Span(start, start + length, length))
        start += length
    spans[-1] = spans[-1]._replace(end=minutes)  # no floating-point crumbs at the end
    return spans


def sigmoid_curve(x: float, kind: str, k: float) -> float:
    """A monotone map of [0, 1] onto [0, 1] with fixed ends."""
    if kind == "linear":
        return x
    if kind == "smoothstep":
        return x * x * (3 - 2 * x)
    lo, hi = 1 / (1 + math.exp(k / 2)), 1 / (1 + math.exp(-k / 2))
    return (1 / (1 + math.exp(-k * (x - 0.5))) - lo) / (hi - lo)


def schedule_path(stages: list[Stage], minutes: float, stage_rows: Mapping[str, dict],
                  steepness: float) -> list[dict[str, float]]:
    """Per-minute waypoints (and one at the end when the length is fractional): values hold at
    each stage's centre and move between centres along the later stage's curve from the graph
    (`stage_rows`: the stage nodes by name)."""
    centres = [(st.start_minute + st.end_minute) / 2 for st in stages]
    curves = [stage_rows[st.name]["curve"] for st in stages]
    points = [{"valence": st.valence, "arousal": st.arousal,
               **{p: st.targets[p] for p in PATH_KEYS[2:]}} for st in stages]
    progress = [stage_rows[st.name]["progress"] for st in stages]
    out = []
    n = int(math.floor(minutes))
    times = [float(m) for m in range(n + 1)] + ([minutes] if minutes > n else [])
    for minute in times:
        if minute <= centres[0]:
            j, x = 0, 0.0
        elif minute >= centres[-1]:
            j, x = len(stages) - 2, 1.0
        else:
            j = 0 if minute < centres[1] else 1
            x = (minute - centres[j]) / (centres[j + 1] - centres[j])
        c = sigmoid_curve(x, curves[j + 1], steepness)
        a, b = points[j], points[j + 1]
        stage = next(st.name for st in stages if minute < st.end_minute or st is stages[-1])
        out.append({"minute": minute, "stage": stage,
                    "progress": progress[j] + c * (progress[j + 1] - progress[j]),
                    **{key: a[key] + c * (b[key] - a[key]) for key in PATH_KEYS}})
    return out
