"""The sequencer's look-ahead: enough music stays in reach for the rest of the session.

Toward a goal the estimated arousal only moves one way, so every item a track passes over on the
way (between the last track's arousal and the candidate's) can never be played later. The music
beyond what the rest of the session needs (the slack) is spread over the tracks still to come,
so arousal comes down across the whole session instead of all at once; and the final stage's
music (within the goal's limits) is kept in reserve for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from emoheal.retrieval.item_arrays import EPS, ItemArrays
from emoheal.retrieval.path_scoring import ScoreView

RESERVE = "reserve"  # what the next-track choice says when a stage must end to leave the final stage its music


class Supply:
    """Items ranked by arousal toward the goal (ascending for calming goals): the music in reach
    beyond a candidate is a cumulative sum over that ranking, updated as items are used. The
    ranking is made once per catalogue and direction."""

    def __init__(self, arr: ItemArrays, sign: float):
        cache = arr.__dict__.setdefault("_rankings", {})
        if sign not in cache:
            key = sign * arr.arousal
            order = np.argsort(key, kind="stable")
            rank = np.empty(len(arr), dtype=np.int64)
            rank[order] = np.arange(len(arr))
            cache[sign] = (order, rank, np.searchsorted(key[order], key, side="right") - 1)
        # the last rank at or beyond each item's arousal (ties included)
        self.order, self.rank, self.reach_at = cache[sign]

    def cumulative(self, durations: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Seconds at or beyond each rank, shifted by one: entry 0 is 0 (an item ranked before
        everything), so a candidate's reach is one lookup at `reach_at + 1`."""
        return np.concatenate([[0.0], np.cumsum(np.where(mask[self.order], durations[self.order], 0.0))])

    def use(self, cum: np.ndarray | None, row: int, seconds: float) -> None:
        if cum is not None and seconds:
            cum[self.rank[row] + 1:] -= seconds


@dataclass
class SessionState:
    """What the session has taken so far: the items used, the music left in reach, and the end of
    the timeline with the track that ends it."""
    used: np.ndarray  # per item: already in this session
    supply: np.ndarray  # seconds of unused music at or beyond each arousal rank (toward the goal)
    reserve: np.ndarray | None  # the same within the final stage's limits
    cursor: float = 0.0  # session seconds filled so far
    prev: int | None = None  # row of the last track
    prev_play: float = 0.0
    prev_track: dict | None = None

    def take(self, arr: ItemArrays, row: int, track: dict, supply: Supply, final_limits: np.ndarray | None) -> None:
        """Record the placed `track` (item `row`) as the session's latest."""
        for r in arr.siblings(row):  # the piece in every timbre: none of them plays again
            if self.used[r]:
                continue
            self.used[r] = True
            supply.use(self.supply, r, float(arr.duration[r]))
            if final_limits is not None and final_limits[r]:
                supply.use(self.reserve, r, float(arr.duration[r]))
        self.prev, self.prev_play, self.prev_track = row, track["duration_s"], track
        self.cursor = track["at_s"] + track["duration_s"]


class Need(NamedTuple):
    """Music the rest of the session needs in reach (seconds): in all, and within the final
    stage's limits for the final stage's time. (A tuple: one is made per track.)"""
    total: float
    final: float
    final_limits: np.ndarray | None
    tracks_left: float  # about how many tracks the rest of the session holds
    in_final: bool  # the track is for the final stage


def look_ahead(free: np.ndarray, v: ScoreView, state: SessionState, need: Need, supply: Supply) -> np.ndarray | str:
    """The candidates among `free` (a mask over the view's rows) that leave enough music in reach;
    if none does, those that fall least short — or RESERVE when every candidate would take the
    final stage's music, so the stage must end here. Applied before any continuity rule."""
    prev_at = 0 if state.prev is None else int(supply.reach_at[state.prev]) + 1
    checks = []  # (wanted, reach, floor) per kind of music: all of it, and the final stage's
    ok = free
    for cum, wanted, is_reserve in ((state.supply, need.total, False), (state.reserve, need.final, True)):
        if cum is None or wanted <= 0:
            continue
        reach = cum[v.reach_idx]  # the candidate and all beyond it
        if is_reserve and not need.in_final:
            # before the final stage its music is a reserve: a track taken from it now is gone then
            after = reach - v.final_duration
            ok = ok & (after >= wanted)
            checks.append((wanted, after, wanted))
        if state.prev is None:  # the opening sits where the person is, with enough beyond it
            floor = wanted
        else:
            before = float(cum[prev_at])
            floor = before - max(before - wanted, 0.0) / max(need.tracks_left, 1.0) - EPS
        ok = ok & (reach >= floor)
        checks.append((wanted, reach, floor))
    if ok.any():
        return ok
    shortfall = np.zeros(len(v.rows))
    for _, value, floor in checks:
        shortfall = np.maximum(shortfall, floor - value)
    if not need.in_final and need.final > 0 and state.reserve is not None and state.reserve[-1] > 0 \
            and v.final_duration is not None \
            and ((need.final - (state.reserve[v.reach_idx] - v.final_duration))[free] > 0).all():
        return RESERVE  # every candidate would take the final stage's music: end this stage here
    return free & (shortfall <= shortfall[free].min() + EPS)  # those that fall least short
