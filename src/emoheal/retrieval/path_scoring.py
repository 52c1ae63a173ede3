"""Scoring items against a plan's path minute by minute: the path interpolated at any second,
a stage's scorer that moves its target ranges and valence/arousal along the path, and the
octave-folded distances (tempo, circle of fifths) that continuity is measured in."""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

import numpy as np

from emoheal.kg.planner import RANGE_KEYS
from emoheal.retrieval.item_arrays import EPS, ItemArrays
from emoheal.retrieval.scoring import ScoringSettings, range_fit, text_rank, timbre_values, valence_arousal_fit

# what the path says per minute, and the ranges that follow it
PATH_PARAMS = ("tempo_bpm", "loudness_lufs", "density_onsets_per_s")
_RATIO = {"tempo_bpm", "density_onsets_per_s"}  # ranges that follow the path by ratio, not by offset
STATIC_PARAMS = ("mode_major", "register_midi", "brightness_hz")


def felt_tempo(tempo: float, reference: float) -> float:
    """folded_tempo for one value (plain Python)."""
    return min((tempo * 0.5, tempo, tempo * 2.0), key=lambda x: abs(x - reference))


def folded_tempo(tempo: np.ndarray | float, reference: np.ndarray | float) -> np.ndarray:
    """The metrical level of a measured tempo (×½, ×1, ×2) nearest a reference: the felt tempo
    a beat tracker may report at double or half time."""
    tempo = np.asarray(tempo, dtype=np.float64)
    levels = np.stack([tempo * 0.5, tempo, tempo * 2.0])
    best = np.argmin(np.abs(levels - reference), axis=0)
    return np.take_along_axis(levels, best[None], axis=0)[0]


def tempo_step(a: np.ndarray | float, b: float) -> np.ndarray:
    """Octave-folded tempo difference (BPM): the nearest of a/2, a, 2a to b."""
    a = np.asarray(a, dtype=np.float64)
    return np.minimum(np.minimum(np.abs(a - b), np.abs(0.5 * a - b)), np.abs(2.0 * a - b))


def fifths_step(a: np.ndarray, b: int) -> np.ndarray:
    d = np.abs(a - b)
    return np.minimum(d, 12 - d)


class PlanPath:
    """The plan's per-minute waypoints, interpolated at any second (plain Python: a scalar lookup
    per track, where numpy's call overhead would dominate)."""

    KEYS = ("valence", "arousal", *PATH_PARAMS)

    def __init__(self, plan: dict):
        path = plan.get("path") or []
        if not path:  # a plan without a path: each stage's values, held
            path = [{"minute": st["start_minute"], "valence": st["valence"], "arousal": st["arousal"],
                     **{p: st["targets"][p] for p in PATH_PARAMS}} for st in plan["stages"]]
        self.minutes = [float(w["minute"]) for w in path]
        self.rows = [[float(w[k]) for k in self.KEYS] for w in path]

    def at(self, second: float) -> dict[str, float]:
        m, xs = second / 60.0, self.minutes
        if m <= xs[0]:
            values = self.rows[0]
        elif m >= xs[-1]:
            values = self.rows[-1]
        else:
            j = bisect.bisect_right(xs, m) - 1
            x = (m - xs[j]) / (xs[j + 1] - xs[j])
            values = [a + x * (b - a) for a, b in zip(self.rows[j], self.rows[j + 1])]
        return dict(zip(self.KEYS, values))


class StageScorer:
    """A stage's score of items at a waypoint: the same formula as `score_stage` (descriptors
    and valence/arousal, text rank, personal), with the tempo, loudness and density ranges and
    the valence/arousal moved from the stage's centre to the path's values at that waypoint."""

    def __init__(self, stage: dict, arr: ItemArrays, s: ScoringSettings, path_weight: float, path_scale: float,
                 text_cosine: np.ndarray | None, personal: np.ndarray | None):
        """`path_weight`, `path_scale`: the weight of the felt tempo's closeness to the path's, and
        the distance (octaves) at which it falls to exp(-1/2)."""
        self.stage, self.s = stage, s
        self.path_weight, self.path_scale = path_weight, max(path_scale, EPS)
        t = stage["targets"]
        pw = s.parameter_weights
        self.pw, self.pw_sum = pw, sum(pw[p] for p in (*PATH_PARAMS, *STATIC_PARAMS))
        static = pw["mode_major"] * np.where(np.isfinite(arr.mode), 1 - np.abs(arr.mode - float(t["mode_major"])), 0.0)
        static = static + pw["register_midi"] * range_fit("register_midi", arr.register,
                                                          *t[RANGE_KEYS["register_midi"]], s)
        static = static + pw["brightness_hz"] * range_fit("brightness_hz", arr.brightness,
                                                          *t[RANGE_KEYS["brightness_hz"]], s)
        self.static_fit = static
        w = s.weights
        if text_cosine is None:
            self.norm = w["descriptors"] + w["valence_arousal"]
            self.text_part = np.zeros(len(arr))
        else:
            self.norm = sum(w.values())
            self.text_part = w["text"] * text_rank(text_cosine)
        # the timbre's fit to the stage's timbres (weighted); an avoided timbre is refused by the caller
        codes, values = arr.timbre_table()
        fit, _, matched = timbre_values(values, list(t.get("timbres", [])), [], s)
        self.timbre_part = s.timbre.weight * fit[codes]
        self.matched_timbre = [matched[c] for c in range(len(values))], codes
        self.norm += s.timbre.weight
        self.text_part = self.text_part / (self.norm + path_weight)  # as in the total
        self.personal = s.personal_weight * personal if personal is not None else np.zeros(len(arr))
        self.centre = {p: float(t[p]) for p in PATH_PARAMS}
        self.ranges = {p: tuple(float(x) for x in t[RANGE_KEYS[p]]) for p in PATH_PARAMS}

    def timbre_matched(self, row: int) -> str | None:
        """The stage timbre the item at `row` sounds in (its best ranked), None for none."""
        names, codes = self.matched_timbre
        return names[codes[row]]

    def shifted_range(self, param: str, value: float) -> tuple[float, float]:
        lo, hi = self.ranges[param]
        c = self.centre[param]
        if param in _RATIO:
            k = value / c if c > 0 else 1.0
            return lo * k, hi * k
        return lo + value - c, hi + value - c

    def view(self, arr: ItemArrays, rows: np.ndarray | None = None) -> ScoreView:
        """The columns scoring needs, for `rows` (all items for None), taken once."""
        take = (lambda x: x) if rows is None else (lambda x: x[rows])
        return ScoreView(rows=np.arange(len(arr)) if rows is None else rows, tempo=take(arr.tempo),
                     log_tempo=take(arr.log_tempo), log_density=take(arr.log_density), loudness=take(arr.loudness),
                     valence=take(arr.valence), arousal=take(arr.arousal), fifths=take(arr.fifths),
                     duration=take(arr.duration), base=take(self.static_fit), timbre=take(self.timbre_part),
                     extra=take(self.text_part + self.personal))

    def grid(self, v: ScoreView, path: PlanPath, seconds: np.ndarray, light: bool = False) -> np.ndarray:
        """Scores of the view's items at each of `seconds` (rows): one vectorised pass per stage,
        where scoring at every track would pay numpy's call overhead a hundred times."""
        waypoints = [path.at(float(t)) for t in seconds]
        return self.score(v, {k: np.array([w[k] for w in waypoints])[:, None] for k in PlanPath.KEYS}, light)

    def score(self, v: ScoreView, wp: dict, light: bool = False) -> np.ndarray:
        """Scores at one waypoint (scalars), or at several (column arrays: one row each). `light`
        leaves out the tempo, density and loudness range fits (a cheaper ranking, to pick a pool)."""
        s, pw = self.s, self.pw
        if light:
            va = valence_arousal_fit(v.valence, v.arousal, wp["valence"], wp["arousal"], s.va_sharpness)
            off = v.log_tempo - np.log2(np.maximum(wp["tempo_bpm"], EPS))
            near = np.exp(-0.5 * (np.abs(off - np.clip(np.round(off), -1, 1)) / self.path_scale) ** 2)
            return self.s.weights["descriptors"] * v.base / self.pw_sum + self.s.weights["valence_arousal"] * va \
                + self.path_weight * np.where(np.isfinite(near), near, 0.0) + v.timbre
        lo, hi = self.shifted_range("tempo_bpm", wp["tempo_bpm"])
        lo, hi = np.log2(np.maximum(lo, EPS)), np.log2(np.maximum(hi, EPS))
        d = np.minimum(outside(v.log_tempo, lo, hi),
                       np.minimum(outside(v.log_tempo - 1, lo, hi), outside(v.log_tempo + 1, lo, hi))
                       + s.tempo_octave_penalty)
        desc = v.base + pw["tempo_bpm"] * decay(d, s.scales["tempo_bpm"])
        lo, hi = self.shifted_range("density_onsets_per_s", wp["density_onsets_per_s"])
        d = outside(v.log_density, np.log2(np.maximum(lo, EPS)), np.log2(np.maximum(hi, EPS)))
        desc += pw["density_onsets_per_s"] * decay(d, s.scales["density_onsets_per_s"])
        lo, hi = self.shifted_range("loudness_lufs", wp["loudness_lufs"])
        desc += pw["loudness_lufs"] * decay(outside(v.loudness, lo, hi), s.scales["loudness_lufs"])
        va = valence_arousal_fit(v.valence, v.arousal, wp["valence"], wp["arousal"], s.va_sharpness)
        # closeness of the felt tempo (the nearest of x1/2, x1, x2) to the path's, in octaves
        off = v.log_tempo - np.log2(np.maximum(wp["tempo_bpm"], EPS))
        octaves = np.abs(off - np.clip(np.round(off), -1, 1))
        near = np.exp(-0.5 * (octaves / self.path_scale) ** 2)
        near = np.where(np.isfinite(near), near, 0.0)
        w = s.weights
        return (w["descriptors"] * desc / self.pw_sum + w["valence_arousal"] * va + self.path_weight * near
                + v.timbre) / (self.norm + self.path_weight) + v.extra


@dataclass(frozen=True)
class ScoreView:
    rows: np.ndarray
    tempo: np.ndarray
    log_tempo: np.ndarray
    log_density: np.ndarray
    loudness: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    fifths: np.ndarray
    duration: np.ndarray
    base: np.ndarray  # the static part of the descriptor fit (weighted)
    timbre: np.ndarray  # the timbre's fit to the stage's timbres (weighted, like `base` before normalising)
    extra: np.ndarray  # text rank and personal bonus, already weighted
    limits: np.ndarray | None = None  # the stage's hard limits, the person's exclusions, the final stage's
    excluded: np.ndarray | None = None  # limits and the look-ahead's rank of each row (set by `with_masks`)
    in_final: np.ndarray | None = None
    reach_idx: np.ndarray | None = None  # into the padded cumulative sums (see sequence_supply.Supply.cumulative)
    final_duration: np.ndarray | None = None  # duration where the row is within the final stage's limits, else 0
    tempo_half: np.ndarray | None = None
    tempo_double: np.ndarray | None = None

    def key_near(self, max_distance: int) -> np.ndarray:
        """(12, rows): whether each row's key lies within `max_distance` fifths of each position."""
        table = self.__dict__.get("_key_near")
        if table is None:
            steps = np.abs(np.arange(12)[:, None] - self.fifths[None, :])
            table = np.minimum(steps, 12 - steps) <= max_distance
            object.__setattr__(self, "_key_near", table)
        return table

    def with_masks(self, limits, excluded, final_limits, reach_at) -> ScoreView:
        in_final = None if final_limits is None else final_limits[self.rows]
        return dataclasses.replace(self, limits=limits[self.rows], excluded=excluded[self.rows], in_final=in_final,
                                   reach_idx=reach_at[self.rows] + 1,
                                   final_duration=None if in_final is None else self.duration * in_final,
                                   tempo_half=0.5 * self.tempo, tempo_double=2.0 * self.tempo)


def outside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.maximum(low - values, 0) + np.maximum(values - high, 0)


def decay(distance: np.ndarray, scale: float) -> np.ndarray:
    fit = np.exp(-0.5 * (distance / scale) ** 2)
    return np.where(np.isfinite(fit), fit, 0.0)  # an unmeasurable value fits nothing
