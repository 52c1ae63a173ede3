"""Plan a three-stage iso-principle session from emotion probabilities.

match  — the person's current state: every emotion above a small floor counts in
         proportion to its probability (never winner-takes-all), projected through the
         graph's emotion→GEMS edges to valence/arousal, a GEMS mix and musical targets;
target — the goal's own state (the same whatever the input);
guide  — between them at the schedule's progress, inside the goal's constraints.

Every operation is continuous in the probabilities (weights rise from zero at the floor,
constraints are clamps), so a small change of input gives a small change of plan.
Plain Python on small tuples: a plan takes tens of microseconds.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from emoheal.kg.graph import graph_version, read_graph
from emoheal.kg.prompt import dynamics_marking, stage_prompt
from emoheal.kg.schema import GEMS_FACTORS, PARAMETERS, RANGED, STAGES
from emoheal.settings.base import validate
from emoheal.settings.music import Planner as PlannerSettings  # conf/kg `planner`, compiled into the graph

PARAMS = tuple(PARAMETERS)
_I = {p: i for i, p in enumerate(PARAMS)}
# Carriers of arousal (Juslin & Laukka 2003): under a goal's direction they never move against it.
AROUSAL_CARRIERS = ("tempo_bpm", "loudness_lufs", "density_onsets_per_s")
NEUTRAL = "neutral"
# the key of each ranged parameter's [low, high] in a stage's targets, e.g. tempo_range_bpm
RANGE_KEYS = {
    "tempo_bpm": "tempo_range_bpm", "loudness_lufs": "loudness_range_lufs", "register_midi": "register_range_midi",
    "density_onsets_per_s": "density_range_onsets_per_s", "brightness_hz": "brightness_range_hz",
}
assert set(RANGE_KEYS) == set(RANGED)


class PlanInputError(ValueError):
    """The emotions, goal or minutes given to the planner are not usable."""


@dataclass
class Stage:
    name: str
    order: int
    share: float
    minutes: float
    start_minute: float
    end_minute: float
    valence: float
    arousal: float
    gems_mix: dict[str, float]
    targets: dict[str, Any]
    prompt: str
    explanation: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "order": self.order, "share": self.share, "minutes": round(self.minutes, 4),
                "start_minute": round(self.start_minute, 4), "end_minute": round(self.end_minute, 4),
                "valence": round(self.valence, 4), "arousal": round(self.arousal, 4),
                "gems_mix": _rounded(self.gems_mix), "targets": _rounded(self.targets), "prompt": self.prompt,
                "explanation": _rounded(self.explanation)}


@dataclass
class SessionPlan:
    goal: str
    minutes: float
    stages: list[Stage]
    path: list[dict[str, float]]
    emotions: dict[str, float]  # the input, as given (labels with probability > 0)
    graph_version: str
    notes: list[str] = field(default_factory=list)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, floats rounded to 4 decimals; stages in match, guide, target order."""
        return {"goal": self.goal, "minutes": self.minutes, "graph_version": self.graph_version,
                "emotions": _rounded(self.emotions), "stages": [s.to_dict() for s in self.stages],
                "path": _rounded(self.path), "notes": list(self.notes)}


def _rounded(obj: Any) -> Any:
    kind = type(obj)
    if kind is float:
        return round(obj, 4)
    if kind is dict:
        return {k: _rounded(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [_rounded(v) for v in obj]
    return obj


# ----------------------------------------------------------------------------- the compiled tables

@dataclass(frozen=True)
class _Profile:
    """Musical profile of a GEMS factor or a goal: per parameter (value, low, high), timbre scores."""
    values: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    timbres: dict[str, float]
    source: str


def _profiles(graph: dict[str, Any]) -> dict[str, _Profile]:
    sets: dict[str, dict[str, dict]] = {}
    timbres: dict[str, dict[str, float]] = {}
    for e in graph["edges"]:
        if e["kind"] == "sets":
            sets.setdefault(e["from"], {})[e["to"].removeprefix("param:")] = e
        elif e["kind"] in ("prefers", "avoids"):
            timbres.setdefault(e["from"], {})[e["to"].removeprefix("timbre:")] = e["weight"]
    sources = {n["id"]: n.get("source", "") for n in graph["nodes"]}
    return {
        node: _Profile(tuple(p[q]["value"] for q in PARAMS), tuple(p[q]["low"] for q in PARAMS),
                       tuple(p[q]["high"] for q in PARAMS), timbres.get(node, {}), sources[node])
        for node, p in sets.items()
    }


def _sigmoid_curve(x: float, kind: str, k: float) -> float:
    """A monotone map of [0, 1] onto [0, 1] with fixed ends."""
    if kind == "linear":
        return x
    if kind == "smoothstep":
        return x * x * (3 - 2 * x)
    lo, hi = 1 / (1 + math.exp(k / 2)), 1 / (1 + math.exp(-k / 2))
    return (1 / (1 + math.exp(-k * (x - 0.5))) - lo) / (hi - lo)


class Planner:
    """Plans sessions over one compiled graph. Load once per process; `plan` is cheap."""

    def __init__(self, graph: dict[str, Any]):
        self.graph = graph
        self.version = graph_version(graph)
        self.settings = validate(PlannerSettings, graph["planner"], "the compiled graph's planner settings",
                                 lambda key: "from conf/kg/*.yaml: recompile with `dvc repro compile_kg`")
        nodes = {n["id"]: n for n in graph["nodes"]}
        self.labels: tuple[str, ...] = tuple(graph["labels"])
        self._order = {label: i for i, label in enumerate(self.labels)}
        self._emotion = {lab: nodes[f"emotion:{lab}"] for lab in self.labels}
        evokes: dict[str, dict[str, float]] = {lab: {} for lab in self.labels}
        for e in graph["edges"]:
            if e["kind"] == "evokes":
                evokes[e["from"].removeprefix("emotion:")][e["to"].removeprefix("gems:")] = e["weight"]
        self._evokes = evokes
        self._gems_vec = {lab: tuple(evokes[lab].get(f, 0.0) for f in GEMS_FACTORS) for lab in self.labels}
        profiles = _profiles(graph)
        self._factor = {f: profiles[f"gems:{f}"] for f in GEMS_FACTORS}
        self.goals: dict[str, dict[str, Any]] = {}
        for node in graph["nodes"]:
            if node["type"] == "goal":
                aims = {e["to"].removeprefix("gems:"): e["weight"] for e in graph["edges"]
                        if e["kind"] == "aims_at" and e["from"] == node["id"]}
                self.goals[node["label"]] = {**node, "gems": {f: aims.get(f, 0.0) for f in GEMS_FACTORS},
                                             "profile": profiles[node["id"]]}
        self.stages = {s: nodes[f"stage:{s}"] for s in STAGES}
        self.timbre_phrase = {n["label"]: n["phrase"] for n in graph["nodes"] if n["type"] == "timbre"}
        if self.settings.default_goal not in self.goals:
            raise ValueError(f"default goal {self.settings.default_goal!r} is not in the graph")

    @classmethod
    def from_file(cls, path: str | Path) -> Planner:
        return cls(read_graph(path))

    # ------------------------------------------------------------------ input checks

    def _check_emotions(self, emotions: Any) -> dict[str, float]:
        if not isinstance(emotions, Mapping):
            raise PlanInputError(f"emotions must be a mapping of label to probability, not {type(emotions).__name__}")
        if not emotions:
            raise PlanInputError("emotions is empty: give at least one GoEmotions label with its probability")
        clean: dict[str, float] = {}
        for label, p in emotions.items():
            if not isinstance(label, str) or label not in self._emotion:
                close = difflib.get_close_matches(str(label), self.labels, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise PlanInputError(f"unknown emotion {label!r}{hint}; the 28 GoEmotions labels are: "
                                     + ", ".join(self.labels))
            if isinstance(p, bool) or not isinstance(p, numbers.Real):
                raise PlanInputError(f"probability of {label!r} must be a number, not {type(p).__name__}")
            p = float(p)
            if math.isnan(p):
                raise PlanInputError(f"probability of {label!r} is NaN")
            if not 0.0 <= p <= 1.0:
                raise PlanInputError(f"probability of {label!r} is {p:g}, outside [0, 1]")
            clean[label] = p
        return clean

    def _check_goal(self, goal: Any) -> str:
        goal = self.settings.default_goal if goal is None else goal
        if not isinstance(goal, str) or goal not in self.goals:
            raise PlanInputError(f"unknown goal {goal!r}; goals: {', '.join(self.goals)}")
        return goal

    def check_minutes(self, minutes: Any) -> float:
        """The session length in minutes (the default for None), or PlanInputError."""
        minutes = self.settings.default_minutes if minutes is None else minutes
        if isinstance(minutes, bool) or not isinstance(minutes, numbers.Real) or not math.isfinite(minutes):
            raise PlanInputError(f"minutes must be a finite number, not {minutes!r}")
        lo, hi = self.settings.min_minutes, self.settings.max_minutes
        if not lo <= minutes <= hi:
            raise PlanInputError(f"minutes must lie in [{lo:g}, {hi:g}], not {minutes:g}")
        return float(minutes)

    # ------------------------------------------------------------------ the plan

    def plan(self, emotions: Mapping[str, float], goal: str | None = None, minutes: float | None = None) -> SessionPlan:
        probs = self._check_emotions(emotions)
        goal = self._check_goal(goal)
        minutes = self.check_minutes(minutes)
        s = self.settings
        g = self.goals[goal]
        gp: _Profile = g["profile"]

        # --- match: the blend of the person's emotions
        weights: dict[str, float] = {}
        # canonical label order: the same input in any order sums in the same order (bit-identical plans)
        for label, p in sorted(probs.items(), key=lambda kv: self._order[kv[0]]):
            w = max(p - s.floor, 0.0)
            if label == NEUTRAL:
                w *= s.neutral_weight
            if w > 0:
                weights[label] = w
        weights[NEUTRAL] = weights.get(NEUTRAL, 0.0) + s.neutral_prior
        total = sum(weights.values())
        shares = {lab: w / total for lab, w in weights.items()}
        valence = sum(sh * self._emotion[lab]["valence"] for lab, sh in shares.items())
        arousal = sum(sh * self._emotion[lab]["arousal"] for lab, sh in shares.items())
        mix = [0.0] * len(GEMS_FACTORS)
        for lab, sh in shares.items():
            for i, w in enumerate(self._gems_vec[lab]):
                mix[i] += sh * w
        values, lows, highs = [0.0] * len(PARAMS), [0.0] * len(PARAMS), [0.0] * len(PARAMS)
        timbre_score: dict[str, float] = {}
        for f, m in zip(GEMS_FACTORS, mix):
            if m == 0:
                continue
            prof = self._factor[f]
            for i in range(len(PARAMS)):
                values[i] += m * prof.values[i]
                lows[i] += m * prof.lows[i]
                highs[i] += m * prof.highs[i]
            for tag, w in prof.timbres.items():
                timbre_score[tag] = timbre_score.get(tag, 0.0) + m * w
        blend = list(values)  # before the goal's constraints, for the explanation
        match_rules = self._constrain_match(g, values, lows, highs)
        if g["arousal_direction"] == "down" and arousal < g["arousal"]:
            match_rules.append(_rule("arousal_direction", f"arousal {arousal:+.2f} is already below the goal's "
                                     f"{g['arousal']:+.2f}: held at the goal's so it never rises", g["source"]))
            arousal = g["arousal"]
        elif g["arousal_direction"] == "up" and arousal > g["arousal"]:
            match_rules.append(_rule("arousal_direction", f"arousal {arousal:+.2f} is above the goal's "
                                     f"{g['arousal']:+.2f}: held at the goal's so it never falls", g["source"]))
            arousal = g["arousal"]

        # --- target: the goal's state
        t_gems = [g["gems"][f] for f in GEMS_FACTORS]

        # --- guide: part of the way, inside the constraints
        progress = self.stages["guide"]["progress"]
        gv = [m + progress * (t - m) for m, t in zip(values, gp.values)]
        gl = [m + progress * (t - m) for m, t in zip(lows, gp.lows)]
        gh = [m + progress * (t - m) for m, t in zip(highs, gp.highs)]
        guide_rules = self._constrain_guide(g, values, gv, gl, gh)
        g_timbre = {tag: (1 - progress) * timbre_score.get(tag, 0.0) + progress * gp.timbres.get(tag, 0.0)
                    for tag in set(timbre_score) | set(gp.timbres)}

        stage_data = {
            "match": (valence, arousal, mix, values, lows, highs, timbre_score),
            "guide": (valence + progress * (g["valence"] - valence), arousal + progress * (g["arousal"] - arousal),
                      [m + progress * (t - m) for m, t in zip(mix, t_gems)], gv, gl, gh, g_timbre),
            "target": (g["valence"], g["arousal"], t_gems, list(gp.values), list(gp.lows), list(gp.highs),
                       dict(gp.timbres)),
        }
        avoid = [tag for tag, w in gp.timbres.items() if w < 0]
        explanations = {
            "match": self._explain_match(probs, shares, mix, blend, values, match_rules),
            "guide": self._explain_guide(goal, progress, values, gv, guide_rules),
            "target": self._explain_target(goal, g),
        }
        stages: list[Stage] = []
        start = 0.0
        for name in STAGES:
            v, a, gems, vals, lo, hi, tscore = stage_data[name]
            share = self.stages[name]["share"]
            length = minutes * share
            targets = self._targets(vals, lo, hi, tscore, avoid)
            top_factor = GEMS_FACTORS[max(range(len(gems)), key=gems.__getitem__)]
            phrases = [self.timbre_phrase[t] for t in targets["timbres"]]
            stages.append(Stage(
                name=name, order=self.stages[name]["order"], share=share, minutes=length, start_minute=start,
                end_minute=start + length, valence=v, arousal=a,
                gems_mix={f: w for f, w in zip(GEMS_FACTORS, gems)},
                targets=targets, prompt=stage_prompt(targets, top_factor, phrases), explanation=explanations[name],
            ))
            start += length
        stages[-1].end_minute = minutes  # no floating-point crumbs at the end
        return SessionPlan(goal=goal, minutes=minutes, stages=stages, path=self._path(stages, minutes),
                           emotions={k: v for k, v in probs.items() if v > 0}, graph_version=self.version)

    # ------------------------------------------------------------------ constraints

    def _constrain_match(self, g: dict, values: list[float], lows: list[float], highs: list[float]) -> list[dict]:
        rules: list[dict] = []
        target = g["profile"].values

        def shift(param: str, to: float, why: str) -> None:
            i = _I[param]
            delta = to - values[i]
            rules.append(_rule(why, f"{param} {values[i]:.1f} -> {to:.1f}", g["source"]))
            values[i] += delta
            lows[i] += delta
            highs[i] += delta

        direction = g["arousal_direction"]
        for param in AROUSAL_CARRIERS:
            i = _I[param]
            if direction == "down" and values[i] < target[i]:
                shift(param, target[i], "arousal_direction")
            elif direction == "up" and values[i] > target[i]:
                shift(param, target[i], "arousal_direction")
        # with three stages, the opening can be at most two steps from the goal's tempo
        i, step = _I["tempo_bpm"], g["max_tempo_step_bpm"]
        if abs(values[i] - target[i]) > 2 * step:
            bound = target[i] + math.copysign(2 * step, values[i] - target[i])
            shift("tempo_bpm", bound, "max_tempo_step_bpm")
        i, ceiling = _I["loudness_lufs"], g["loudness_ceiling_lufs"]
        if values[i] > ceiling:
            rules.append(_rule("loudness_ceiling_lufs", f"loudness_lufs {values[i]:.1f} -> {ceiling:.1f}",
                               g["source"]))
            values[i] = ceiling
        highs[i] = min(highs[i], ceiling)
        lows[i] = min(lows[i], ceiling)
        return rules

    def _constrain_guide(self, g: dict, match: list[float], gv: list[float], gl: list[float],
                         gh: list[float]) -> list[dict]:
        rules: list[dict] = []
        i, step = _I["tempo_bpm"], g["max_tempo_step_bpm"]
        m, t = match[i], g["profile"].values[i]
        lo, hi = max(m, t) - step, min(m, t) + step  # non-empty: the match is within two steps
        clipped = min(max(gv[i], lo), hi)
        if clipped != gv[i]:
            rules.append(_rule("max_tempo_step_bpm", f"tempo_bpm {gv[i]:.1f} -> {clipped:.1f} so that neither step "
                               f"exceeds {step:g} BPM", g["source"]))
            delta = clipped - gv[i]
            gv[i] += delta
            gl[i] += delta
            gh[i] += delta
        i, ceiling = _I["loudness_lufs"], g["loudness_ceiling_lufs"]
        gv[i], gl[i], gh[i] = min(gv[i], ceiling), min(gl[i], ceiling), min(gh[i], ceiling)
        return rules

    # ------------------------------------------------------------------ output pieces

    def _targets(self, values, lows, highs, timbre_score: dict[str, float], avoid: list[str]) -> dict[str, Any]:
        t: dict[str, Any] = {}
        for p in PARAMS:
            i = _I[p]
            t[p] = values[i]
            if p in RANGE_KEYS:
                t[RANGE_KEYS[p]] = [lows[i], highs[i]]
        t["dynamics"] = dynamics_marking(values[_I["loudness_lufs"]])
        t["register_hz"] = 440.0 * 2 ** ((values[_I["register_midi"]] - 69) / 12)
        ranked = sorted((tag for tag, w in timbre_score.items() if w > 0 and tag not in avoid),
                        key=lambda tag: (-timbre_score[tag], tag))
        t["timbres"] = ranked[:3]
        t["avoid_timbres"] = sorted(set(avoid) | {tag for tag, w in timbre_score.items() if w < 0})
        return t

    def _path(self, stages: list[Stage], minutes: float) -> list[dict[str, float]]:
        """Per-minute waypoints: values hold at each stage's centre and move between
        centres along the schedule's curve (sigmoid by default), so nothing jumps."""
        k = self.settings.sigmoid_steepness
        centres = [(st.start_minute + st.end_minute) / 2 for st in stages]
        curves = [self.stages[st.name]["curve"] for st in stages]
        keys = ("valence", "arousal", "tempo_bpm", "loudness_lufs", "density_onsets_per_s")
        points = [{"valence": st.valence, "arousal": st.arousal,
                   **{p: st.targets[p] for p in keys[2:]}} for st in stages]
        progress = [self.stages[st.name]["progress"] for st in stages]
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
            c = _sigmoid_curve(x, curves[j + 1], k)
            a, b = points[j], points[j + 1]
            stage = next(st.name for st in stages if minute < st.end_minute or st is stages[-1])
            out.append({"minute": minute, "stage": stage,
                        "progress": progress[j] + c * (progress[j + 1] - progress[j]),
                        **{key: a[key] + c * (b[key] - a[key]) for key in keys}})
        return out

    def _explain_match(self, probs, shares, mix, blend, values, rules) -> dict[str, Any]:
        s = self.settings
        cut = s.explain_min_share
        emotions = [{"label": lab, "probability": probs.get(lab, 0.0), "share": sh,
                     "valence": self._emotion[lab]["valence"], "arousal": self._emotion[lab]["arousal"],
                     "source": self._emotion[lab]["source"]}
                    for lab, sh in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])) if sh >= cut]
        edges = []
        for lab, sh in shares.items():
            for f, w in self._evokes[lab].items():
                if sh * w >= cut:
                    edges.append({"from": f"emotion:{lab}", "to": f"gems:{f}", "kind": "evokes", "weight": w,
                                  "contribution": sh * w, "source": self._emotion[lab]["source"]})
        edges.sort(key=lambda e: (-e["contribution"], e["from"], e["to"]))
        factors = [{"node": f"gems:{f}", "share": m, "source": self._factor[f].source}
                   for f, m in sorted(zip(GEMS_FACTORS, mix), key=lambda fm: (-fm[1], fm[0])) if m >= cut]
        named = ", ".join(f"{e['label']} {e['probability']:.2f}" for e in emotions if e["label"] != NEUTRAL or
                          e["probability"] > 0)
        summary = (f"Meets the current state: {named or 'no strong emotion'}, blended by probability "
                   f"(above {s.floor:g}; neutral at {s.neutral_weight:g} weight) and projected through GEMS "
                   f"({', '.join(f['node'].removeprefix('gems:') for f in factors[:3])}).")
        used = [(f, m, self._factor[f].values) for f, m in zip(GEMS_FACTORS, mix) if m >= cut]
        parameters = {
            p: {"value": values[i], "blend": blend[i],
                "from": [{"edge": f"gems:{f} -> param:{p}", "share": m, "value": vals[i]} for f, m, vals in used]}
            for i, p in enumerate(PARAMS)
        }
        return {"summary": summary, "emotions": emotions, "edges": edges, "gems": factors,
                "parameters": parameters, "rules": rules}

    def _explain_guide(self, goal, progress, match, guide, rules) -> dict[str, Any]:
        row = self.stages["guide"]
        return {"summary": f"Moves {progress:.0%} of the way from the current state toward the {goal} goal "
                           f"(iso schedule), inside the goal's constraints.",
                "parameters": {p: {"match": match[_I[p]], "target": self.goals[goal]["profile"].values[_I[p]],
                                   "value": guide[_I[p]]} for p in PARAMS},
                "edges": [{"from": "stage:match", "to": "stage:guide", "kind": "precedes", "progress": progress,
                           "source": row["source"]}],
                "rules": rules}

    def _explain_target(self, goal, g) -> dict[str, Any]:
        return {"summary": f"Settles in the {goal} goal's state: {g['description']}.",
                "edges": [{"from": f"goal:{goal}", "to": "stage:target", "kind": "defines", "source": g["source"]},
                          *({"from": f"goal:{goal}", "to": f"gems:{f}", "kind": "aims_at", "weight": w}
                            for f, w in g["gems"].items() if w > 0)],
                "parameters": {p: {"value": g["profile"].values[_I[p]], "from": [{"edge": f"goal:{goal} -> param:{p}"}]}
                               for p in PARAMS},
                "rules": [_rule("target", f"valence {g['valence']:+.2f}, arousal {g['arousal']:+.2f}", g["source"])]}


def _rule(rule: str, detail: str, source: str) -> dict[str, str]:
    return {"rule": rule, "detail": detail, "source": source}


@lru_cache(maxsize=4)
def _planner_for(path: str, mtime_ns: int) -> Planner:
    return Planner.from_file(path)


def load_planner(path: str | Path) -> Planner:
    """The planner for a compiled graph file, loaded once per process (reloaded if the file changes)."""
    path = Path(path)
    if not path.is_file():
        read_graph(path)  # raises the explanatory GraphFileError
    return _planner_for(str(path.resolve()), path.stat().st_mtime_ns)


def plan(emotions: Mapping[str, float], goal: str | None = None, minutes: float | None = None,
         graph: str | Path | None = None) -> SessionPlan:
    """Plan a session: `plan({"fear": 0.8, "nervousness": 0.4}, "sleep", 20)`, with the graph
    `compile_kg` wrote where params.yaml says (paths.kg), unless `graph` names another file."""
    from emoheal.settings import load_settings

    return load_planner(graph if graph is not None else load_settings().paths.graph).plan(emotions, goal, minutes)
