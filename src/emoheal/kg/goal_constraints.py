"""The goal's constraints on the match and guide stages: clamps, so a plan stays continuous in its
input, each recorded as a rule (what moved, and the source that asks for it) for the explanation.

- arousal direction: toward a calming goal the arousal carriers (and the match's arousal) never
  start below the goal's, so nothing rises on the way; toward `uplift` never above it;
- tempo step: no step between consecutive stages exceeds the goal's `max_tempo_step_bpm`;
- loudness ceiling: no stage is louder than the goal's `loudness_ceiling_lufs`.
"""

from __future__ import annotations

import math
from typing import Any

from emoheal.kg.stage_params import PARAM_INDEX, StageState

# Carriers of arousal (Juslin & Laukka 2003): under a goal's direction they never move against it.
AROUSAL_CARRIERS = ("tempo_bpm", "loudness_lufs", "density_onsets_per_s")


def rule(name: str, detail: str, source: str) -> dict[str, str]:
    return {"rule": name, "detail": detail, "source": source}


def constrain_match(goal: dict[str, Any], match: StageState) -> list[dict]:
    """Clamp the match stage in place to what the goal allows; the rules that moved something."""
    rules = _constrain_match_parameters(goal, match.values, match.lows, match.highs)
    target_arousal = goal["arousal"]
    if goal["arousal_direction"] == "down" and match.arousal < target_arousal:
        rules.append(rule("arousal_direction", f"arousal {match.arousal:+.2f} is already below the goal's "
                          f"{target_arousal:+.2f}: held at the goal's so it never rises", goal["source"]))
        match.arousal = target_arousal
    elif goal["arousal_direction"] == "up" and match.arousal > target_arousal:
        rules.append(rule("arousal_direction", f"arousal {match.arousal:+.2f} is above the goal's "
                          f"{target_arousal:+.2f}: held at the goal's so it never falls", goal["source"]))
        match.arousal = target_arousal
    return rules


def _constrain_match_parameters(goal: dict, values: list[float], lows: list[float], highs: list[float]) -> list[dict]:
    rules: list[dict] = []
    target = goal["profile"].values

    def shift(param: str, to: float, why: str) -> None:
        """Move the parameter to `to`, its range with it."""
        i = PARAM_INDEX[param]
        delta = to - values[i]
        rules.append(rule(why, f"{param} {values[i]:.1f} -> {to:.1f}", goal["source"]))
        values[i] += delta
        lows[i] += delta
        highs[i] += delta

    direction = goal["arousal_direction"]
    for param in AROUSAL_CARRIERS:
        i = PARAM_INDEX[param]
        if direction == "down" and values[i] < target[i]:
            shift(param, target[i], "arousal_direction")
        elif direction == "up" and values[i] > target[i]:
            shift(param, target[i], "arousal_direction")
    # with three stages, the opening can be at most two steps from the goal's tempo
    i, step = PARAM_INDEX["tempo_bpm"], goal["max_tempo_step_bpm"]
    if abs(values[i] - target[i]) > 2 * step:
        bound = target[i] + math.copysign(2 * step, values[i] - target[i])
        shift("tempo_bpm", bound, "max_tempo_step_bpm")
    i, ceiling = PARAM_INDEX["loudness_lufs"], goal["loudness_ceiling_lufs"]
    if values[i] > ceiling:
        rules.append(rule("loudness_ceiling_lufs", f"loudness_lufs {values[i]:.1f} -> {ceiling:.1f}", goal["source"]))
        values[i] = ceiling
    highs[i] = min(highs[i], ceiling)
    lows[i] = min(lows[i], ceiling)
    return rules


def constrain_guide(goal: dict[str, Any], match_values: list[float], guide: StageState) -> list[dict]:
    """Clamp the guide stage in place so that neither tempo step (match→guide, guide→target)
    exceeds the goal's and it stays under the loudness ceiling; the rules that moved something."""
    gv, gl, gh = guide.values, guide.lows, guide.highs
    rules: list[dict] = []
    i, step = PARAM_INDEX["tempo_bpm"], goal["max_tempo_step_bpm"]
    m, t = match_values[i], goal["profile"].values[i]
    lo, hi = max(m, t) - step, min(m, t) + step  # non-empty: the match is within two steps
    clipped = min(max(gv[i], lo), hi)
    if clipped != gv[i]:
        rules.append(rule("max_tempo_step_bpm", f"tempo_bpm {gv[i]:.1f} -> {clipped:.1f} so that neither step "
                          f"exceeds {step:g} BPM", goal["source"]))
        delta = clipped - gv[i]
        gv[i] += delta
        gl[i] += delta
        gh[i] += delta
    i, ceiling = PARAM_INDEX["loudness_lufs"], goal["loudness_ceiling_lufs"]
    gv[i], gl[i], gh[i] = min(gv[i], ceiling), min(gl[i], ceiling), min(gh[i], ceiling)
    return rules
