"""The typed knowledge graph compiled from the rules, its content hash and its file format.

Nodes: emotion, gems, parameter, timbre, goal, stage. Edges keep their weight and the
source (citation keys and curated reasoning) of the CSV row they came from:

  emotion -evokes(weight)-> gems            goal -aims_at(weight)-> gems
  gems/goal -sets(low, high, value)-> parameter
  gems/goal -prefers(weight) / avoids-> timbre
  goal -defines-> stage:target              stage -precedes-> stage

The planner reads only this graph (not the CSVs), so a plan is a projection through
the compiled artefact whose hash it reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoheal.kg.rules import Rules
from emoheal.kg.schema import GEMS_FACTORS, PARAMETERS, RANGED, SINGLE, STAGES
from emoheal.utils.hashing import sha256_json

FORMAT = "emoheal-kg/1"


class GraphFileError(RuntimeError):
    """The compiled graph is missing, unreadable or was changed after compiling."""


def _source(row) -> str:
    return "; ".join(row["source"])


def _profile_edges(node: str, row, edges: list[dict]) -> None:
    for param, (low, high) in RANGED.items():
        lo, hi = float(row[low]), float(row[high])
        edges.append({"from": node, "to": f"param:{param}", "kind": "sets", "low": lo, "high": hi,
                      "value": (lo + hi) / 2, "source": _source(row)})
    for param, column in SINGLE.items():
        value = float(row[column])
        edges.append({"from": node, "to": f"param:{param}", "kind": "sets", "low": value, "high": value,
                      "value": value, "source": _source(row)})
    # preference decays with rank: the first-named timbre suits best
    for rank, tag in enumerate(row["prefer_timbres"]):
        edges.append({"from": node, "to": f"timbre:{tag}", "kind": "prefers", "weight": round(1.0 / (1 + rank), 6),
                      "rank": rank + 1, "source": _source(row)})
    for tag in row["avoid_timbres"]:
        edges.append({"from": node, "to": f"timbre:{tag}", "kind": "avoids", "weight": -1.0, "source": _source(row)})


def build_graph(rules: Rules, planner_settings: dict[str, Any]) -> dict[str, Any]:
    """The graph as a JSON-ready document, with its content hash."""
    nodes: list[dict] = []
    edges: list[dict] = []
    for label, row in rules.emotions.items():
        nodes.append({"id": f"emotion:{label}", "type": "emotion", "label": label, "family": row["family"],
                      "valence": row["valence"], "arousal": row["arousal"], "source": _source(row)})
        for factor in GEMS_FACTORS:
            if row[factor] > 0:
                edges.append({"from": f"emotion:{label}", "to": f"gems:{factor}", "kind": "evokes",
                              "weight": float(row[factor]), "source": _source(row)})
    for factor in GEMS_FACTORS:  # the paper's order, whatever the file order
        row = rules.gems[factor]
        nodes.append({"id": f"gems:{factor}", "type": "gems", "label": factor, "description": row["description"],
                      "source": _source(row)})
        _profile_edges(f"gems:{factor}", row, edges)
    for param, (unit, doc) in PARAMETERS.items():
        nodes.append({"id": f"param:{param}", "type": "parameter", "label": param, "unit": unit, "description": doc})
    for tag, row in rules.timbres.items():
        nodes.append({"id": f"timbre:{tag}", "type": "timbre", "label": tag, "phrase": row["phrase"],
                      "gm_family": row["gm_family"], "source": _source(row)})
    for goal, row in rules.goals.items():
        nodes.append({"id": f"goal:{goal}", "type": "goal", "label": goal, "description": row["description"],
                      "valence": row["valence"], "arousal": row["arousal"],
                      "max_tempo_step_bpm": row["max_tempo_step_bpm"],
                      "loudness_ceiling_lufs": row["loudness_ceiling_lufs"],
                      "arousal_direction": row["arousal_direction"], "source": _source(row)})
        for factor in GEMS_FACTORS:
            if row[factor] > 0:
                edges.append({"from": f"goal:{goal}", "to": f"gems:{factor}", "kind": "aims_at",
                              "weight": float(row[factor]), "source": _source(row)})
        _profile_edges(f"goal:{goal}", row, edges)
        edges.append({"from": f"goal:{goal}", "to": "stage:target", "kind": "defines", "source": _source(row)})
    for stage in STAGES:
        row = rules.schedule[stage]
        nodes.append({"id": f"stage:{stage}", "type": "stage", "label": stage, "order": row["order"],
                      "share": row["share"], "progress": row["progress"], "curve": row["curve"],
                      "purpose": row["purpose"], "source": _source(row)})
    for before, after in zip(STAGES, STAGES[1:]):
        edges.append({"from": f"stage:{before}", "to": f"stage:{after}", "kind": "precedes",
                      "source": _source(rules.schedule[after])})
    body = {
        "format": FORMAT,
        "labels": list(rules.emotions),
        "gems_factors": list(GEMS_FACTORS),
        "parameters": {p: {"unit": u, "description": d} for p, (u, d) in PARAMETERS.items()},
        "planner": planner_settings,
        "sources": {k: {"citation": r["citation"], "url": r["url"]} for k, r in rules.sources.items()},
        "inputs": rules.file_hashes,
        "nodes": nodes,
        "edges": edges,
    }
    return {"hash": sha256_json(body), **body}


def graph_version(graph: dict[str, Any]) -> str:
    return f"kg-{graph['hash'][:12]}"


def check_integrity(graph: dict[str, Any]) -> None:
    body = {k: v for k, v in graph.items() if k != "hash"}
    if graph.get("format") != FORMAT:
        raise GraphFileError(f"unknown graph format {graph.get('format')!r} (expected {FORMAT})")
    if sha256_json(body) != graph.get("hash"):
        raise GraphFileError("the graph's content does not match its hash: it was edited after compiling; "
                             "recompile it with `dvc repro compile_kg`")


def write_graph(graph: dict[str, Any], path: str | Path) -> None:
    from emoheal.utils.io import write_json

    write_json(path, graph)


def read_graph(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GraphFileError(f"compiled knowledge graph not found at {path}: build it with "
                             "`make run` (or `dvc repro compile_kg`)")
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphFileError(f"{path} is not a readable graph file ({exc}); recompile it") from None
    if not isinstance(graph, dict):
        raise GraphFileError(f"{path} is not a graph file; recompile it")
    check_integrity(graph)
    return graph


def to_networkx(graph: dict[str, Any]):
    """A networkx MultiDiGraph view, for analysis and drawing."""
    import networkx as nx

    g = nx.MultiDiGraph(hash=graph["hash"])
    for node in graph["nodes"]:
        g.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
    for edge in graph["edges"]:
        g.add_edge(edge["from"], edge["to"], **{k: v for k, v in edge.items() if k not in ("from", "to")})
    return g


@dataclass(frozen=True)
class GraphSummary:
    version: str
    nodes: dict[str, int]
    edges: dict[str, int]
    isolated: list[str]


def summarise(graph: dict[str, Any]) -> GraphSummary:
    g = to_networkx(graph)
    nodes: dict[str, int] = {}
    for _, data in g.nodes(data=True):
        nodes[data["type"]] = nodes.get(data["type"], 0) + 1
    edges: dict[str, int] = {}
    for _, _, data in g.edges(data=True):
        edges[data["kind"]] = edges.get(data["kind"], 0) + 1
    import networkx as nx

    return GraphSummary(graph_version(graph), nodes, edges, sorted(nx.isolates(g)))


def overview(graph: dict[str, Any]) -> dict[str, Any]:
    """What `emoheal kg show --json` prints: counts, goals, the stage schedule and the planner."""
    summary = summarise(graph)
    return {"version": summary.version, "hash": graph["hash"], "nodes": summary.nodes, "edges": summary.edges,
            "goals": [g["label"] for g in _goals(graph)],
            "stages": [{k: s[k] for k in ("label", "share", "progress", "curve")} for s in _stages(graph)],
            "planner": graph["planner"], "inputs": graph["inputs"]}


def summary_lines(graph: dict[str, Any]) -> list[str]:
    """`emoheal kg show` in a terminal: counts, emotion families, the stage schedule and each goal."""
    summary = summarise(graph)
    families: dict[str, list[str]] = {}
    for n in graph["nodes"]:
        if n["type"] == "emotion":
            families.setdefault(n["family"], []).append(n["label"])
    lines = [f"knowledge graph {summary.version}",
             "  nodes: " + ", ".join(f"{k} {v}" for k, v in summary.nodes.items()),
             "  edges: " + ", ".join(f"{k} {v}" for k, v in summary.edges.items()),
             "  emotions by family: " + "; ".join(f"{k} {len(v)}" for k, v in families.items()),
             "  stages: " + ", ".join(f"{s['label']} {s['share']:.0%} (progress {s['progress']:g}, {s['curve']})"
                                      for s in _stages(graph))]
    for g in _goals(graph):
        sets = {e["to"].removeprefix("param:"): e for e in graph["edges"]
                if e["from"] == g["id"] and e["kind"] == "sets"}
        tempo = sets["tempo_bpm"]
        lines.append(f"  goal {g['label']}: valence {g['valence']:+.2f} arousal {g['arousal']:+.2f}, "
                     f"{tempo['low']:g}-{tempo['high']:g} BPM, tempo step <= {g['max_tempo_step_bpm']:g} BPM, "
                     f"ceiling {g['loudness_ceiling_lufs']:g} LUFS, arousal {g['arousal_direction']}")
    lines.append(f"  planner: {json.dumps(graph['planner'])}")
    return lines


def _goals(graph: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in graph["nodes"] if n["type"] == "goal"]


def _stages(graph: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((n for n in graph["nodes"] if n["type"] == "stage"), key=lambda n: n["order"])
