"""A session as a sequence: for each stage of a plan, an ordered list of tracks that fills the
stage's minutes, each scored against the plan's path at the minute it plays, so the music moves
along the path inside a stage too.

Rules (SequenceSettings, from `conf/retrieval/` → `sequence`):
- the filled time lands within `fill_tolerance` of the requested minutes: the last track of a
  stage may be trimmed, at a cut point of the item (a quiet frame or a beat, from the index)
  when one lies near, else with a fade-out over the cross-fade — never cut at full level;
- no item twice in a session, nor one piece in two timbres; items in `exclude` (heard recently,
  in any timbre) left out unless nothing else continues the sequence (said so on the stage);
- no item in a timbre the stage avoids (never relaxed); the stage's timbres are rewarded in
  the score and each track says which one it matched;
- consecutive tracks continuous: tempo step (octave-folded), circle-of-fifths key distance and
  loudness step bounded — relaxed in that order of importance (loudness, key, tempo) and said
  so when nothing else fits; estimated arousal never rises toward a calmer goal (never falls
  toward `uplift`) — never relaxed: the stage ends short with its reason instead;
- a look-ahead keeps enough music for the rest of the session: the music a track passes over on
  the way down is limited to the slack spread over the tracks still to come, and the final
  stage's music (within the goal's limits) is kept in reserve for it;
- variety: among near-equal candidates (score within `near_equal` of the best, at most
  `near_equal_pool` of them) a seeded, score-weighted draw (weights exp((score − best) / T))
  picks the track, so people with the same plan get different sequences and a `seed`
  reproduces one.

Speed: every item's static fit (mode, register, brightness, text, personal) is computed once
per stage; each stage then draws from a pool — the best `pool_per_waypoint` items at its start
and end by a cheaper ranking — scored once on a grid of the path's minutes (path_scoring), so a
track costs a handful of array operations over the pool; when the pool runs dry the whole
catalogue is scored once and a fresh pool made. Above a threshold the caller restricts the
catalogue to FAISS neighbours of waypoints (see `retrieve_sequence`), so the cost per track does
not grow with the catalogue (benchmarks/session_speed.py).

This module runs the session stage by stage and chooses each next track; the parts live beside
it: sequence_supply.py (the look-ahead), sequence_continuity.py (continuity and its relaxation),
sequence_pool.py (the pool and its score grid), sequence_placement.py (the timeline and results).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emoheal.retrieval.item_arrays import EPS, ItemArrays
from emoheal.retrieval.path_scoring import PlanPath, ScoreView, StageScorer
from emoheal.retrieval.scoring import timbre_values
from emoheal.retrieval.sequence_continuity import continuous_candidates
from emoheal.retrieval.sequence_placement import (
    Slot,
    empty_stage,
    fade_into,
    place_track,
    session_timeline,
    stage_result,
)
from emoheal.retrieval.sequence_pool import StageCandidates
from emoheal.retrieval.sequence_supply import RESERVE, Need, SessionState, Supply, look_ahead
from emoheal.settings.retrieval import SequenceSettings  # conf/retrieval `sequence` + the session's scoring

__all__ = ["SequenceSettings", "sequence_session"]  # SequenceSettings re-exported: callers import it from here


def sequence_session(plan: dict, items: pd.DataFrame | ItemArrays, s: SequenceSettings,
                     goal: dict | None = None, exclude=(), seed: int | None = None,
                     text_cosines: dict[str, np.ndarray] | None = None, personal: np.ndarray | None = None,
                     backend: str = "descriptors") -> dict:
    """`plan`: `SessionPlan.to_dict()`; `exclude`: ids heard recently. Stages come back in plan order,
    each with `tracks` (session time `at_s`, offset `start_s`, `duration_s`, fades, measured
    values, score) and its first track as `item`; the session gets a `timeline`."""
    arr = items if isinstance(items, ItemArrays) else ItemArrays.from_items(items)
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    run = _Session.start(plan, arr, s, goal, exclude, seed)
    results = []
    last_stage = len(plan["stages"]) - 1
    for k, stage in enumerate(plan["stages"]):
        if len(arr) == 0:
            results.append(empty_stage(stage, "the index holds no items"))
            continue
        cosines = None if text_cosines is None else text_cosines[stage["name"]]
        results.append(_sequence_stage(run, stage, k == last_stage, cosines, personal))
    timeline = session_timeline(results, run.state, run.requested, run.tol, run.crossfades, seed, s)
    status = "ok" if all(r["status"] == "ok" for r in results) else ("empty_index" if len(arr) == 0 else "partial")
    return {"backend": backend, "status": status, "stages": results, "timeline": timeline}


def _target_limits(arr: ItemArrays, stage: dict, goal: dict | None, s: SequenceSettings) -> tuple[np.ndarray, list]:
    """(per item: within the stage's hard limits, those limits as text): only the target stage of
    a calming goal has any — its loudness ceiling, a density and an arousal cap, a valence floor."""
    ok = np.ones(len(arr), dtype=bool)
    if goal is None or stage["name"] != "target" or goal.get("arousal_direction") != "down":
        return ok, []
    ceiling = goal["loudness_ceiling_lufs"]
    density_max = stage["targets"]["density_range_onsets_per_s"][1] * s.target_density_factor
    ok &= (arr.loudness <= ceiling) & (arr.density <= density_max) & (arr.arousal <= s.target_max_arousal)
    rules = [f"loudness <= {ceiling:g} LUFS", f"density <= {density_max:.2f} onsets/s",
             f"estimated arousal <= {s.target_max_arousal:g}"]
    if s.target_min_valence is not None:
        ok &= arr.valence >= s.target_min_valence
        rules.append(f"estimated valence >= {s.target_min_valence:g}")
    return ok, rules


def _stage_limits(arr: ItemArrays, stage: dict, goal: dict | None, s: SequenceSettings) -> tuple[np.ndarray, list]:
    """The target stage's limits (above) and, for every stage, no item in a timbre it avoids."""
    ok, rules = _target_limits(arr, stage, goal, s)
    avoid = list(stage["targets"].get("avoid_timbres", []))
    if avoid and len(arr):
        codes, values = arr.timbre_table()
        avoided = timbre_values(values, [], avoid, s.scoring)[1][codes]
        if avoided.any():
            ok = ok & ~avoided
            rules = rules + [f"no item in an avoided timbre ({', '.join(avoid)})"]
    return ok, rules


@dataclass
class _Session:
    """What every stage of one session shares: the catalogue, the plan's path, the goal's direction
    and the final stage's limits, what has been taken so far, the seeded draw and the cross-fades."""
    arr: ItemArrays
    s: SequenceSettings
    path: PlanPath
    goal: dict | None
    direction: str | None  # the goal's arousal direction: "down", "up" or neither
    excluded: np.ndarray  # per item: heard recently
    requested: float  # seconds
    tol: float  # seconds the filled time may miss the requested by
    typical: float  # median item duration (s)
    final_limits: np.ndarray | None  # per item: within the final stage's limits
    final_start: float  # seconds
    supply: Supply
    state: SessionState
    rng: np.random.Generator
    crossfades: list

    @classmethod
    def start(cls, plan: dict, arr: ItemArrays, s: SequenceSettings, goal: dict | None, exclude, seed: int) -> _Session:
        n = len(arr)
        requested = 60.0 * float(plan["minutes"])
        excluded = np.zeros(n, dtype=bool)
        row_of = arr.row_of
        for i in exclude:  # heard recently: the piece, in whichever timbre
            if i in row_of:
                excluded[arr.siblings(row_of[i])] = True
        final_limits = _stage_limits(arr, plan["stages"][-1], goal, s)[0] if plan["stages"] and n else None
        direction = (goal or {}).get("arousal_direction")
        # look-ahead supply: unused music ranked by arousal toward the goal (descending for uplift)
        supply = Supply(arr, -1.0 if direction == "up" else 1.0)
        everything = np.ones(n, dtype=bool)
        state = SessionState(used=np.zeros(n, dtype=bool), supply=supply.cumulative(arr.duration, everything),
                             reserve=None if final_limits is None else supply.cumulative(arr.duration, final_limits))
        return cls(arr=arr, s=s, path=PlanPath(plan), goal=goal, direction=direction, excluded=excluded,
                   requested=requested, tol=s.fill_tolerance * requested,
                   typical=float(np.median(arr.duration)) if n else 0.0, final_limits=final_limits,
                   final_start=60.0 * float(plan["stages"][-1]["start_minute"]) if plan["stages"] else 0.0,
                   supply=supply, state=state, rng=np.random.default_rng(seed), crossfades=[])

    def need(self, in_final: bool) -> Need:
        """What must stay in reach from the cursor on: the rest of the session (a candidate's reach
        counts itself), and the final stage's time (a reserve: taken before it, gone for it)."""
        s, cursor, requested = self.s, self.state.cursor, self.requested
        return Need(s.supply_factor * max(requested - cursor, 0.0),
                    s.supply_factor * (requested - max(cursor, self.final_start)),
                    self.final_limits, max(requested - cursor, 0.0) / max(self.typical, 1.0), in_final)

    def masked(self, view: ScoreView, limits: np.ndarray) -> ScoreView:
        return view.with_masks(limits, self.excluded, self.final_limits, self.supply.reach_at)


def _sequence_stage(run: _Session, stage: dict, final: bool, cosines: np.ndarray | None,
                    personal: np.ndarray | None) -> dict:
    """The stage's tracks, chosen and placed one after another until its time is filled, or until
    nothing continues the sequence (the stage then says why)."""
    s, arr, state = run.s, run.arr, run.state
    stage_end = run.requested if final else 60.0 * float(stage["end_minute"])
    scorer = StageScorer(stage, arr, s.scoring, s.path_tempo_weight, s.path_tempo_scale_octaves, cosines, personal)
    limits, rules = _stage_limits(arr, stage, run.goal, s)
    candidates = StageCandidates(arr, scorer, run.path, lambda view: run.masked(view, limits),
                                 (60.0 * float(stage["start_minute"]), stage_end), state.cursor, run.typical,
                                 s.pool_per_waypoint)
    slot = Slot(stage_end, final, min(s.min_track_s, 60.0 * float(stage["minutes"])), run.tol, run.requested)
    tracks, notes, alternatives, first_personal = [], [], [], 0.0
    stop_reason = None
    while not _stage_filled(state.cursor, slot):
        middle = state.cursor + min(run.typical, stage_end - state.cursor) / 2
        wp = run.path.at(middle)
        pick, view_index = _next_pick(run, candidates, scorer, wp, middle, final, want_alternatives=not tracks)
        if pick == RESERVE:
            stop_reason = "ended early: the remaining calm music is kept for the final stage"
            break
        if pick is None:
            stop_reason = _why_none(state, limits, run.direction, rules)
            break
        row, score, relaxed, alts = pick
        if view_index > 0 and candidates.pool is not None:  # the pool ran dry: a fresh one around this minute
            candidates.refresh_pool(state.used, limits, row, wp, run.direction, state.cursor)
        if not tracks:
            alternatives, first_personal = alts, float(scorer.personal[row])
        notes.extend(n_ for n_ in relaxed if n_ not in notes)
        track = place_track(arr, row, score, state, slot, s, run.path, run.crossfades)
        track["relaxed"] = relaxed
        track["timbre"] = arr.timbre[row] if isinstance(arr.timbre[row], str) else None
        track["timbre_match"] = scorer.timbre_matched(row)
        fade_into(state.prev_track, track, s)
        tracks.append(track)
        state.take(arr, row, track, run.supply, run.final_limits)
    result = stage_result(stage, tracks, stop_reason, rules, notes, alternatives, arr)
    if tracks:
        result["score"]["personal"] = round(first_personal, 4)
    return result


def _stage_filled(cursor: float, slot: Slot) -> bool:
    """Whether the stage's time is filled: the session's to within the tolerance for the last
    stage, else to within half the shortest excerpt worth playing."""
    remaining = slot.stage_end - cursor
    return (slot.final and remaining <= slot.tol / 2) or (not slot.final and remaining <= slot.min_len / 2) \
        or remaining <= 0.5


def _next_pick(run: _Session, candidates: StageCandidates, scorer: StageScorer, wp: dict, middle: float, final: bool,
               want_alternatives: bool):
    """(the choice as `_choose` gives it, index of the view it came from): the stage's pool first,
    scored on its grid, and the whole catalogue when the pool runs dry."""
    row_scores = candidates.grid_scores(middle)
    need = run.need(final)
    pick, i = None, 0
    for i in range(len(candidates.views)):
        pick = _choose(run, candidates.view(i), scorer, wp, need, want_alternatives,
                       scores=row_scores if i == 0 else None)
        if pick is not None:
            break
    return pick, i


def _choose(run: _Session, v: ScoreView, scorer: StageScorer, wp: dict, need: Need, want_alternatives: bool = False,
            scores: np.ndarray | None = None):
    """(row, score, relaxed rules, alternatives) of the next track among the view's rows, None when
    none continues the sequence, or RESERVE when the stage must end to leave the final stage music."""
    s, state, arr = run.s, run.state, run.arr
    free = ~state.used[v.rows] & v.limits
    if state.prev is not None and run.direction in ("down", "up"):
        # the arousal direction, never relaxed
        a_prev = arr.arousal[state.prev]
        free &= (v.arousal <= a_prev + s.arousal_tolerance) if run.direction == "down" else \
            (v.arousal >= a_prev - s.arousal_tolerance)
    if not free.any():
        return None
    if run.direction in ("down", "up") and need.total > 0:
        free = look_ahead(free, v, state, need, run.supply)
        if isinstance(free, str):
            return RESERVE
    allowed, relaxed = continuous_candidates(arr, v, state.prev, free, s)
    score = scorer.score(v, wp) if scores is None else scores
    masked = np.where(allowed, score, -np.inf)
    chosen = _near_equal_draw(masked, s, run.rng)
    alts = []
    if want_alternatives:
        ranked = np.argsort(-masked, kind="stable")[: s.alternatives + 1]
        alts = [(int(v.rows[i]), float(masked[i])) for i in ranked if i != chosen and np.isfinite(masked[i])]
    return int(v.rows[chosen]), float(score[chosen]), relaxed, alts[: s.alternatives]


def _near_equal_draw(masked: np.ndarray, s: SequenceSettings, rng: np.random.Generator) -> int:
    """Index of a seeded, score-weighted draw (weights exp((score − best) / T)) among the candidates
    within `near_equal` of the best, at most `near_equal_pool` of them (-inf: not a candidate)."""
    best = float(masked.max())
    near = np.flatnonzero(masked >= best - s.near_equal)
    if len(near) > s.near_equal_pool:
        near = near[np.argsort(-masked[near], kind="stable")][: max(s.near_equal_pool, 1)]
    near = near.tolist()
    weights = [math.exp((float(masked[i]) - best) / max(s.temperature, EPS)) for i in near]
    draw, total, chosen = rng.random() * sum(weights), 0.0, near[-1]
    for i, w in zip(near, weights):
        total += w
        if draw < total:
            chosen = i
            break
    return chosen


def _why_none(state: SessionState, limits: np.ndarray, direction: str | None, rules: list[str]) -> str:
    """Why no item continues the stage's sequence."""
    free = ~state.used
    if not free.any():
        return "every item is already in this session"
    if not (free & limits).any():
        return "every remaining item breaks the goal's limits (" + "; ".join(rules) + ")"
    if direction == "down":
        return "no remaining item keeps the estimated arousal from rising"
    if direction == "up":
        return "no remaining item keeps the estimated arousal from falling"
    return "every remaining item is excluded"
