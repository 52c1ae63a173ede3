"""Plan a three-stage iso-principle session from emotion probabilities.

match  — the person's current state: every emotion above a small floor counts in
         proportion to its probability (never winner-takes-all), projected through the
         graph's emotion→GEMS edges to valence/arousal, a GEMS mix and musical targets;
target — the goal's own state (the same whatever the input);
guide  — between them at the schedule's progress, inside the goal's constraints.

Every operation is continuous in the probabilities (weights rise from zero at the floor,
constraints are clamps), so a small change of input gives a small change of plan.
Plain Python on small tuples: a plan takes tens of microseconds.

This module checks the input and puts a plan together; the parts live beside it:
stage_params.py (each stage's musical state and targets), goal_constraints.py (the goal's
clamps), iso_schedule.py (stage spans and the per-minute path), plan_explain.py (the
explanations) and session_plan.py (the returned `SessionPlan`, re-exported here).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from emoheal.kg.goal_constraints import constrain_guide, constrain_match
from emoheal.kg.graph import graph_version, read_graph
from emoheal.kg.iso_schedule import schedule_path, stage_spans
from emoheal.kg.plan_explain import explain_guide, explain_match, explain_target
from emoheal.kg.prompt import stage_prompt
from emoheal.kg.schema import GEMS_FACTORS, STAGES
from emoheal.kg.session_plan import SessionPlan, Stage
from emoheal.kg.stage_params import (
    RANGE_KEYS,
    StageState,
    blended_state,
    emotion_shares,
    goal_state,
    profiles,
    stage_targets,
    state_between,
    top_factor,
)
from emoheal.settings.base import validate
from emoheal.settings.music import Planner as PlannerSettings  # conf/kg `planner`, compiled into the graph

# RANGE_KEYS, PlannerSettings, SessionPlan and Stage are re-exported: callers import them from here
__all__ = ["RANGE_KEYS", "PlanInputError", "Planner", "PlannerSettings", "SessionPlan", "Stage", "load_planner",
           "plan"]


class PlanInputError(ValueError):
    """The emotions, goal or minutes given to the planner are not usable."""


class Planner:
    """Plans sessions over one compiled graph. Load once per process; `plan` is cheap."""

    def __init__(self, graph: dict[str, Any]):
        self.graph = graph
        self.version = graph_version(graph)
        self.settings = validate(PlannerSettings, graph["planner"], "the compiled graph's planner settings",
                                 lambda key: "from conf/kg/*.yaml: recompile with `dvc repro compile_kg`")
        nodes = {n["id"]: n for n in graph["nodes"]}
        self.labels: tuple[str, ...] = tuple(graph["labels"])
        self.label_order = {label: i for i, label in enumerate(self.labels)}
        self.emotion_nodes = {lab: nodes[f"emotion:{lab}"] for lab in self.labels}
        evokes: dict[str, dict[str, float]] = {lab: {} for lab in self.labels}
        for e in graph["edges"]:
            if e["kind"] == "evokes":
                evokes[e["from"].removeprefix("emotion:")][e["to"].removeprefix("gems:")] = e["weight"]
        self.evokes = evokes  # emotion -> GEMS factor -> weight
        self.gems_vectors = {lab: tuple(evokes[lab].get(f, 0.0) for f in GEMS_FACTORS) for lab in self.labels}
        by_node = profiles(graph)
        self.factor_profiles = {f: by_node[f"gems:{f}"] for f in GEMS_FACTORS}
        self.goals: dict[str, dict[str, Any]] = {}
        for node in graph["nodes"]:
            if node["type"] == "goal":
                aims = {e["to"].removeprefix("gems:"): e["weight"] for e in graph["edges"]
                        if e["kind"] == "aims_at" and e["from"] == node["id"]}
                self.goals[node["label"]] = {**node, "gems": {f: aims.get(f, 0.0) for f in GEMS_FACTORS},
                                             "profile": by_node[node["id"]]}
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
            if not isinstance(label, str) or label not in self.emotion_nodes:
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
        """The session for emotion probabilities (label -> p in [0, 1]), a goal and a length in minutes
        (the graph's defaults for None); PlanInputError when one of them is not usable."""
        probs = self._check_emotions(emotions)
        goal = self._check_goal(goal)
        minutes = self.check_minutes(minutes)
        g = self.goals[goal]

        # match: the blend of the person's emotions, then the goal's constraints
        shares = emotion_shares(probs, self.label_order, self.settings)
        match = blended_state(shares, self.emotion_nodes, self.gems_vectors, self.factor_profiles)
        blend = list(match.values)  # before the goal's constraints, for the explanation
        match_rules = constrain_match(g, match)
        # target: the goal's state; guide: part of the way, inside the constraints
        target = goal_state(g)
        progress = self.stages["guide"]["progress"]
        guide = state_between(match, target, progress)
        guide_rules = constrain_guide(g, match.values, guide)

        states = {"match": match, "guide": guide, "target": target}
        explanations = {
            "match": explain_match(self, probs, shares, match.gems, blend, match.values, match_rules),
            "guide": explain_guide(self, goal, progress, match.values, guide.values, guide_rules),
            "target": explain_target(goal, g),
        }
        avoid = [tag for tag, w in g["profile"].timbres.items() if w < 0]
        stages = self._stages(states, explanations, avoid, minutes)
        return SessionPlan(goal=goal, minutes=minutes, stages=stages,
                           path=schedule_path(stages, minutes, self.stages, self.settings.sigmoid_steepness),
                           emotions={k: v for k, v in probs.items() if v > 0}, graph_version=self.version)

    def _stages(self, states: dict[str, StageState], explanations: dict[str, dict], avoid: list[str],
                minutes: float) -> list[Stage]:
        """The stages in session order, each over its span of the minutes, with targets and prompt."""
        spans = stage_spans(minutes, [self.stages[name]["share"] for name in STAGES])
        stages: list[Stage] = []
        for name, span in zip(STAGES, spans):
            state = states[name]
            targets = stage_targets(state, avoid)
            phrases = [self.timbre_phrase[t] for t in targets["timbres"]]
            stages.append(Stage(
                name=name, order=self.stages[name]["order"], share=self.stages[name]["share"], minutes=span.minutes,
                start_minute=span.start, end_minute=span.end, valence=state.valence, arousal=state.arousal,
                gems_mix={f: w for f, w in zip(GEMS_FACTORS, state.gems)},
                targets=targets, prompt=stage_prompt(targets, top_factor(state), phrases),
                explanation=explanations[name],
            ))
        return stages


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
