"""Why each stage is what it is: the explanation a plan carries per stage — a one-line summary,
the graph's nodes and edges that shaped it (with their sources), where each parameter came from,
and the goal's rules that moved something. Contributions below the planner's
`explain_min_share` are left out so an explanation lists what mattered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emoheal.kg.goal_constraints import rule
from emoheal.kg.schema import GEMS_FACTORS
from emoheal.kg.stage_params import NEUTRAL, PARAM_INDEX, PARAMS

if TYPE_CHECKING:  # the planner's tables are read here; the planner imports this module
    from emoheal.kg.planner import Planner


def explain_match(planner: Planner, probs: Mapping[str, float], shares: Mapping[str, float], mix: list[float],
                  blend: list[float], values: list[float], rules: list[dict]) -> dict[str, Any]:
    """`blend`: the match's parameters before the goal's constraints, `values` after them."""
    s = planner.settings
    cut = s.explain_min_share
    nodes = planner.emotion_nodes
    emotions = [{"label": lab, "probability": probs.get(lab, 0.0), "share": sh,
                 "valence": nodes[lab]["valence"], "arousal": nodes[lab]["arousal"], "source": nodes[lab]["source"]}
                for lab, sh in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])) if sh >= cut]
    edges = []
    for lab, sh in shares.items():
        for f, w in planner.evokes[lab].items():
            if sh * w >= cut:
                edges.append({"from": f"emotion:{lab}", "to": f"gems:{f}", "kind": "evokes", "weight": w,
                              "contribution": sh * w, "source": nodes[lab]["source"]})
    edges.sort(key=lambda e: (-e["contribution"], e["from"], e["to"]))
    factors = [{"node": f"gems:{f}", "share": m, "source": planner.factor_profiles[f].source}
               for f, m in sorted(zip(GEMS_FACTORS, mix), key=lambda fm: (-fm[1], fm[0])) if m >= cut]
    named = ", ".join(f"{e['label']} {e['probability']:.2f}" for e in emotions if e["label"] != NEUTRAL or
                      e["probability"] > 0)
    summary = (f"Meets the current state: {named or 'no strong emotion'}, blended by probability "
               f"(above {s.floor:g}; neutral at {s.neutral_weight:g} weight) and projected through GEMS "
               f"({', '.join(f['node'].removeprefix('gems:') for f in factors[:3])}).")
    used = [(f, m, planner.factor_profiles[f].values) for f, m in zip(GEMS_FACTORS, mix) if m >= cut]
    parameters = {
        p: {"value": values[i], "blend": blend[i],
            "from": [{"edge": f"gems:{f} -> param:{p}", "share": m, "value": vals[i]} for f, m, vals in used]}
        for i, p in enumerate(PARAMS)
    }
    return {"summary": summary, "emotions": emotions, "edges": edges, "gems": factors,
            "parameters": parameters, "rules": rules}


def explain_guide(planner: Planner, goal: str, progress: float, match: list[float], guide: list[float],
                  rules: list[dict]) -> dict[str, Any]:
    """`match` and `guide`: the two stages' parameters after the goal's constraints."""
    row = planner.stages["guide"]
    target = planner.goals[goal]["profile"].values
    return {"summary": f"Moves {progress:.0%} of the way from the current state toward the {goal} goal "
                       f"(iso schedule), inside the goal's constraints.",
            "parameters": {p: {"match": match[PARAM_INDEX[p]], "target": target[PARAM_INDEX[p]],
                               "value": guide[PARAM_INDEX[p]]} for p in PARAMS},
            "edges": [{"from": "stage:match", "to": "stage:guide", "kind": "precedes", "progress": progress,
                       "source": row["source"]}],
            "rules": rules}


def explain_target(goal: str, g: dict[str, Any]) -> dict[str, Any]:
    """`g`: the goal's row of the planner's tables."""
    return {"summary": f"Settles in the {goal} goal's state: {g['description']}.",
            "edges": [{"from": f"goal:{goal}", "to": "stage:target", "kind": "defines", "source": g["source"]},
                      *({"from": f"goal:{goal}", "to": f"gems:{f}", "kind": "aims_at", "weight": w}
                        for f, w in g["gems"].items() if w > 0)],
            "parameters": {p: {"value": g["profile"].values[PARAM_INDEX[p]],
                               "from": [{"edge": f"goal:{goal} -> param:{p}"}]} for p in PARAMS},
            "rules": [rule("target", f"valence {g['valence']:+.2f}, arousal {g['arousal']:+.2f}", g["source"])]}
