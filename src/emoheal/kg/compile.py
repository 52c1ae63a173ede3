"""The `compile_kg` stage: validate the rules, build and hash the graph, draw it, and
audit what the planner makes of it (one plan per emotion and goal)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from emoheal.kg.draw import draw_html, draw_png
from emoheal.kg.graph import build_graph, graph_version, summarise, write_graph
from emoheal.kg.planner import Planner, PlannerSettings, SessionPlan
from emoheal.kg.rules import Rules, load_rules
from emoheal.settings.base import validate
from emoheal.settings.root import GRAPH_FILE

log = logging.getLogger(__name__)


def goemotions_labels(raw: str | Path) -> tuple[list[str], dict[str, list[str]]]:
    """The 28 label names and the Ekman grouping the rules are checked against."""
    from emoheal.data.goemotions import read_label_names

    raw = Path(raw)
    ekman_path = raw / "ekman_mapping.json"
    ekman = json.loads(ekman_path.read_text(encoding="utf-8")) if ekman_path.is_file() else None
    return read_label_names(raw), ekman


def load_validated_rules(rules_dir: str | Path, raw: str | Path) -> Rules:
    labels, ekman = goemotions_labels(raw)
    return load_rules(rules_dir, labels, ekman)


def compile_graph(rules_dir: str | Path, raw: str | Path, planner: dict[str, Any]) -> dict[str, Any]:
    """The graph document, built in memory (tests and tools use this without writing files)."""
    # fail on a bad setting before building anything
    validate(PlannerSettings, planner, "planner settings", lambda key: f"kg.planner.{key}: conf/kg/*.yaml")
    rules = load_validated_rules(rules_dir, raw)
    graph = build_graph(rules, dict(planner))  # as written in conf/ (the graph's hash covers it)
    Planner(graph)  # the graph must be plannable (e.g. its default goal exists)
    return graph


def _monotone(values: list[float], direction: str, tol: float = 1e-9) -> bool:
    pairs = list(zip(values, values[1:]))
    if direction == "down":
        return all(b <= a + tol for a, b in pairs)
    if direction == "up":
        return all(b >= a - tol for a, b in pairs)
    return True


def audit(planner: Planner) -> dict[str, Any]:
    """What the planner does with each one-hot emotion under each goal: the figures an
    analyst compares across rule changes (`dvc metrics diff`)."""
    report: dict[str, Any] = {}
    for goal, g in planner.goals.items():
        plans: dict[str, SessionPlan] = {lab: planner.plan({lab: 1.0}, goal) for lab in planner.labels}
        direction = g["arousal_direction"]
        tempo_steps, arousal_ok, tempo_ok = [], 0, 0
        match_states = set()
        for p in plans.values():
            tempos = [s.targets["tempo_bpm"] for s in p.stages]
            arousals = [s.arousal for s in p.stages]
            arousal_ok += _monotone(arousals, direction)
            tempo_ok += _monotone(tempos, direction)
            tempo_steps += [abs(b - a) for a, b in zip(tempos, tempos[1:])]
            m = p.stages[0]
            match_states.add((round(m.valence, 2), round(m.arousal, 2), round(m.targets["tempo_bpm"])))
        match_tempos = [p.stages[0].targets["tempo_bpm"] for p in plans.values()]
        report[goal] = {
            "one_hot_plans": len(plans),
            "distinct_match_states": len(match_states),
            "arousal_monotone_share": arousal_ok / len(plans),
            "tempo_monotone_share": tempo_ok / len(plans),
            "largest_tempo_step_bpm": round(max(tempo_steps), 2),
            "allowed_tempo_step_bpm": g["max_tempo_step_bpm"],
            "match_tempo_bpm": [round(min(match_tempos), 1), round(max(match_tempos), 1)],
            "target_tempo_bpm": round(next(iter(plans.values())).stages[-1].targets["tempo_bpm"], 1),
        }
    return report


def compile_kg(rules_dir: str | Path, raw: str | Path, out_dir: str | Path, plots_dir: str | Path,
               planner: dict[str, Any]) -> dict[str, Any]:
    """Validate, build, write `out_dir/graph.json` (GRAPH_FILE), draw into `plots_dir`, return the metrics."""
    graph = compile_graph(rules_dir, raw, planner)
    out_dir, plots_dir = Path(out_dir), Path(plots_dir)
    write_graph(graph, out_dir / GRAPH_FILE)
    draw_png(graph, plots_dir / "graph.png")
    draw_html(graph, plots_dir / "graph.html")
    summary = summarise(graph)
    if summary.isolated:  # validation should make this impossible; a builder bug if not
        raise RuntimeError(f"isolated nodes in the compiled graph: {summary.isolated}")
    metrics = {
        "version": graph_version(graph),
        "hash": graph["hash"],
        "nodes": summary.nodes,
        "edges": summary.edges,
        "emotions_with_profile": sum(1 for n in graph["nodes"] if n["type"] == "emotion"),
        "audit": audit(Planner(graph)),
    }
    log.info("compiled %s: %d nodes, %d edges", metrics["version"], len(graph["nodes"]), len(graph["edges"]))
    return metrics
