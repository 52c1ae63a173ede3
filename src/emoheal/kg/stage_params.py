"""The musical state of each stage: the emotions' blend (match), the goal's own state (target),
the point between them (guide), and a state's targets as the plan shows them.

A state's parameters are kept as lists in PARAMS order, so a blend is a few multiply-adds on
small tuples; the goal's constraints (goal_constraints.py) then clamp them in place.
Every operation here is continuous in the probabilities: weights rise from zero at the floor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emoheal.kg.prompt import dynamics_marking
from emoheal.kg.schema import GEMS_FACTORS, PARAMETERS, RANGED
from emoheal.settings.music import Planner as PlannerSettings

PARAMS = tuple(PARAMETERS)
PARAM_INDEX = {p: i for i, p in enumerate(PARAMS)}
NEUTRAL = "neutral"
# the key of each ranged parameter's [low, high] in a stage's targets, e.g. tempo_range_bpm
RANGE_KEYS = {
    "tempo_bpm": "tempo_range_bpm", "loudness_lufs": "loudness_range_lufs", "register_midi": "register_range_midi",
    "density_onsets_per_s": "density_range_onsets_per_s", "brightness_hz": "brightness_range_hz",
}
assert set(RANGE_KEYS) == set(RANGED)


@dataclass(frozen=True)
class Profile:
    """Musical profile of a GEMS factor or a goal: per parameter (value, low, high), timbre scores."""
    values: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    timbres: dict[str, float]
    source: str


def profiles(graph: dict[str, Any]) -> dict[str, Profile]:
    """The profile of every node with `sets` edges (GEMS factors and goals), by node id."""
    sets: dict[str, dict[str, dict]] = {}
    timbres: dict[str, dict[str, float]] = {}
    for e in graph["edges"]:
        if e["kind"] == "sets":
            sets.setdefault(e["from"], {})[e["to"].removeprefix("param:")] = e
        elif e["kind"] in ("prefers", "avoids"):
            timbres.setdefault(e["from"], {})[e["to"].removeprefix("timbre:")] = e["weight"]
    sources = {n["id"]: n.get("source", "") for n in graph["nodes"]}
    return {
        node: Profile(tuple(p[q]["value"] for q in PARAMS), tuple(p[q]["low"] for q in PARAMS),
                      tuple(p[q]["high"] for q in PARAMS), timbres.get(node, {}), sources[node])
        for node, p in sets.items()
    }


@dataclass
class StageState:
    """Where a stage sits: emotional coordinates, GEMS mix (GEMS_FACTORS order), musical parameters
    with their ranges (PARAMS order) and timbre scores. Lists, so the constraints clamp in place."""
    valence: float
    arousal: float
    gems: list[float]
    values: list[float]
    lows: list[float]
    highs: list[float]
    timbres: dict[str, float]


def emotion_shares(probs: Mapping[str, float], label_order: Mapping[str, int],
                   settings: PlannerSettings) -> dict[str, float]:
    """Each emotion's share of the blend: its probability above the floor (neutral down-weighted),
    plus a small neutral prior, normalised — never winner-takes-all."""
    weights: dict[str, float] = {}
    # canonical label order: the same input in any order sums in the same order (bit-identical plans)
    for label, p in sorted(probs.items(), key=lambda kv: label_order[kv[0]]):
        w = max(p - settings.floor, 0.0)
        if label == NEUTRAL:
            w *= settings.neutral_weight
        if w > 0:
            weights[label] = w
    weights[NEUTRAL] = weights.get(NEUTRAL, 0.0) + settings.neutral_prior
    total = sum(weights.values())
    return {lab: w / total for lab, w in weights.items()}


def blended_state(shares: Mapping[str, float], emotion_nodes: Mapping[str, dict],
                  gems_vectors: Mapping[str, tuple[float, ...]], factor_profiles: Mapping[str, Profile]) -> StageState:
    """The match stage before the goal's constraints: valence and arousal averaged by share, the
    emotions' GEMS mix through the emotion→GEMS edges, and the factors' profiles weighted by the mix."""
    valence = sum(sh * emotion_nodes[lab]["valence"] for lab, sh in shares.items())
    arousal = sum(sh * emotion_nodes[lab]["arousal"] for lab, sh in shares.items())
    mix = [0.0] * len(GEMS_FACTORS)
    for lab, sh in shares.items():
        for i, w in enumerate(gems_vectors[lab]):
            mix[i] += sh * w
    values, lows, highs = [0.0] * len(PARAMS), [0.0] * len(PARAMS), [0.0] * len(PARAMS)
    timbre_score: dict[str, float] = {}
    for f, m in zip(GEMS_FACTORS, mix):
        if m == 0:
            continue
        prof = factor_profiles[f]
        for i in range(len(PARAMS)):
            values[i] += m * prof.values[i]
            lows[i] += m * prof.lows[i]
            highs[i] += m * prof.highs[i]
        for tag, w in prof.timbres.items():
            timbre_score[tag] = timbre_score.get(tag, 0.0) + m * w
    return StageState(valence, arousal, mix, values, lows, highs, timbre_score)


def goal_state(goal: dict[str, Any]) -> StageState:
    """The target stage: the goal's own state, the same whatever the input."""
    gp: Profile = goal["profile"]
    return StageState(goal["valence"], goal["arousal"], [goal["gems"][f] for f in GEMS_FACTORS], list(gp.values),
                      list(gp.lows), list(gp.highs), dict(gp.timbres))


def state_between(match: StageState, target: StageState, progress: float) -> StageState:
    """The guide stage: `progress` of the way from the (constrained) match to the target, every
    field alike; the goal's constraints on the guide come after (goal_constraints.constrain_guide)."""
    def lerp(a: list[float], b: list[float]) -> list[float]:
        return [m + progress * (t - m) for m, t in zip(a, b)]

    timbres = {tag: (1 - progress) * match.timbres.get(tag, 0.0) + progress * target.timbres.get(tag, 0.0)
               for tag in set(match.timbres) | set(target.timbres)}
    return StageState(match.valence + progress * (target.valence - match.valence),
                      match.arousal + progress * (target.arousal - match.arousal), lerp(match.gems, target.gems),
                      lerp(match.values, target.values), lerp(match.lows, target.lows),
                      lerp(match.highs, target.highs), timbres)


def stage_targets(state: StageState, avoid: list[str]) -> dict[str, Any]:
    """A state's musical targets as the plan shows them: each parameter (with its [low, high]
    under RANGE_KEYS), the dynamics marking, the register in Hz, the top three timbres and the
    timbres to avoid (the goal's and any the state scores below zero)."""
    values, timbre_score = state.values, state.timbres
    t: dict[str, Any] = {}
    for p in PARAMS:
        i = PARAM_INDEX[p]
        t[p] = values[i]
        if p in RANGE_KEYS:
            t[RANGE_KEYS[p]] = [state.lows[i], state.highs[i]]
    t["dynamics"] = dynamics_marking(values[PARAM_INDEX["loudness_lufs"]])
    t["register_hz"] = 440.0 * 2 ** ((values[PARAM_INDEX["register_midi"]] - 69) / 12)
    ranked = sorted((tag for tag, w in timbre_score.items() if w > 0 and tag not in avoid),
                    key=lambda tag: (-timbre_score[tag], tag))
    t["timbres"] = ranked[:3]
    t["avoid_timbres"] = sorted(set(avoid) | {tag for tag, w in timbre_score.items() if w < 0})
    return t


def top_factor(state: StageState) -> str:
    """The GEMS factor with the largest share of the state's mix (the first of equals)."""
    return GEMS_FACTORS[max(range(len(state.gems)), key=state.gems.__getitem__)]
