"""Where a stage's tracks are chosen from, cheaply: a pool of candidates scored once on a grid of
the path's minutes, and the whole catalogue when the pool runs dry.

Every item's static fit is computed once per stage (StageScorer); the pool — the best
`pool_per_waypoint` items at the stage's start and end by a cheaper ranking — is then scored in
one vectorised pass at each GRID_S of the stage's time, so a track costs a handful of array
operations over the pool. When no pool item continues the sequence the whole catalogue is scored
once and a fresh pool made around that minute, so the next tracks need not score every item.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emoheal.retrieval.item_arrays import ItemArrays
from emoheal.retrieval.path_scoring import PlanPath, ScoreView, StageScorer

GRID_S = 60.0  # seconds between the waypoints a stage's scores are computed at (the path is per minute)


def stage_pool(scorer: StageScorer, full: ScoreView, path: PlanPath, seconds, per_waypoint: int) -> np.ndarray | None:
    """Rows of the best items at each of `seconds` by the cheaper ranking (None: the catalogue is
    small enough to score whole at every track)."""
    n = len(full.rows)
    if n <= len(seconds) * per_waypoint:
        return None
    scores = scorer.grid(full, path, np.asarray(seconds, dtype=np.float64), light=True)  # a row per waypoint
    return np.unique(np.argpartition(-scores, per_waypoint, axis=1)[:, :per_waypoint]).astype(np.int64)


class StageCandidates:
    """The views a stage chooses its tracks from, in turn: its pool (with its score grid), then the
    whole catalogue. `masked` adds the stage's limits, exclusions and look-ahead indices to a view."""

    def __init__(self, arr: ItemArrays, scorer: StageScorer, path: PlanPath, masked: Callable[[ScoreView], ScoreView],
                 span: tuple[float, float], cursor: float, typical: float, per_waypoint: int):
        self.arr, self.scorer, self.path, self.masked = arr, scorer, path, masked
        self.stage_end, self.typical, self.per_waypoint = span[1], typical, per_waypoint
        full_view = scorer.view(arr)
        self.pool = stage_pool(scorer, full_view, path, span, per_waypoint)
        self.views = [full_view] if self.pool is None else [scorer.view(arr, self.pool), full_view]
        self.views[0] = masked(self.views[0])
        # the first view's scores on a grid over the stage's time (a track is scored at its middle)
        self._grid_from(max(cursor, 0.0))

    def _grid_from(self, t0: float) -> None:
        self.grid_t0 = t0
        self.grid_times = np.arange(t0, max(self.stage_end, t0) + self.typical + GRID_S, GRID_S)
        self.grid = self.scorer.grid(self.views[0], self.path, self.grid_times)

    def grid_scores(self, seconds: float) -> np.ndarray:
        """The first view's scores at the grid point nearest `seconds`."""
        return self.grid[min(max(int(round((seconds - self.grid_t0) / GRID_S)), 0), len(self.grid_times) - 1)]

    def view(self, i: int) -> ScoreView:
        """The i-th view, masked on first use (the whole catalogue only if the pool runs dry)."""
        if self.views[i].limits is None:
            self.views[i] = self.masked(self.views[i])
        return self.views[i]

    def refresh_pool(self, used: np.ndarray, limits: np.ndarray, row: int, wp: dict, direction: str | None,
                     cursor: float) -> None:
        """After the whole catalogue gave item `row`: a fresh pool of the items still allowed beyond
        it (toward the goal), the best of them at waypoint `wp`, with a grid from `cursor` on."""
        arr, size = self.arr, 2 * self.per_waypoint
        fresh = ~used & limits
        fresh[row] = False
        if direction in ("down", "up"):
            a_row = arr.arousal[row]
            fresh &= (arr.arousal <= a_row) if direction == "down" else (arr.arousal >= a_row)
        top = np.flatnonzero(fresh)
        if len(top) > size:
            full_scores = self.scorer.score(self.views[1], wp)[top]
            top = top[np.argpartition(-full_scores, size)[:size]]
        self.pool = np.union1d(self.pool[~used[self.pool]], top).astype(np.int64)
        self.views[0] = self.masked(self.scorer.view(arr, self.pool))
        self._grid_from(cursor)
