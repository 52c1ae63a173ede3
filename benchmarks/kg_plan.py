"""Knowledge-graph compile time and plan latency, against a winner-takes-all lookup in the same run.

    .venv/bin/python benchmarks/kg_plan.py [--plans 2000]

Compile = validate the CSV rules + build and hash the graph (drawing timed apart).
Plan = `Planner.plan` for the 28 one-hot inputs and seeded random mixtures shaped like the
detector's output (all 28 labels, a few of them large). The baseline is what the original
system did: take the top emotion and look its profile up (no blend, no constraints, no
explanation) — the floor any planner's latency can be compared with. Writes
benchmarks/results/kg_plan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
from pathlib import Path

from _timing import timed

from emoheal.kg.compile import compile_graph
from emoheal.kg.draw import draw_html, draw_png
from emoheal.kg.planner import Planner
from emoheal.utils.io import load_params, write_json


def _stats_us(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"median_us": round(1e6 * statistics.median(ordered), 1),
            "p95_us": round(1e6 * ordered[int(0.95 * (len(ordered) - 1))], 1),
            "p99_us": round(1e6 * ordered[int(0.99 * (len(ordered) - 1))], 1),
            "calls": len(ordered)}


def detector_like(labels: list[str], rng: random.Random) -> dict[str, float]:
    """All 28 labels: most near zero, one to three large, as a calibrated detector gives."""
    probs = {label: rng.random() * 0.04 for label in labels}
    for label in rng.sample(labels, rng.randint(1, 3)):
        probs[label] = rng.uniform(0.3, 0.95)
    return probs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--plans", type=int, default=2000, help="random mixtures to plan")
    parser.add_argument("--out", default="benchmarks/results/kg_plan.json")
    args = parser.parse_args()
    params = load_params(args.params)
    paths, settings = params["paths"], params["kg"]["planner"]

    compile_times = timed(lambda: compile_graph(paths["kg_rules"], paths["raw"], settings), 5)
    graph = compile_graph(paths["kg_rules"], paths["raw"], settings)
    tmp = Path(".cache/bench_kg")
    draw_times = timed(lambda: (draw_png(graph, tmp / "g.png"), draw_html(graph, tmp / "g.html")), 2)
    load_times = timed(lambda: Planner(graph), 20)
    planner = Planner(graph)

    rng = random.Random(42)
    labels = list(planner.labels)
    inputs = [{label: 1.0} for label in labels] + [detector_like(labels, rng) for _ in range(args.plans)]
    for emotions in inputs[:200]:  # warm-up
        planner.plan(emotions)
    plan_times = [t for emotions in inputs for t in timed(lambda e=emotions: planner.plan(e), 1)]
    json_times = [t for emotions in inputs[:500]
                  for t in timed(lambda e=emotions: json.dumps(planner.plan(e).to_dict()), 1)]

    # baseline: winner-takes-all lookup of a precomputed one-hot plan's match targets
    table = {label: planner.plan({label: 1.0}).stages[0].targets for label in labels}
    lookup_times = [t for emotions in inputs
                    for t in timed(lambda e=emotions: table[max(e, key=e.get)], 1)]
    # how much the blend matters: the match tempo a blend gives vs the top emotion's alone
    differences = [abs(planner.plan(e).stages[0].targets["tempo_bpm"] - table[max(e, key=e.get)]["tempo_bpm"])
                   for e in inputs[len(labels):len(labels) + 500]]

    result = {
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "cpus": os.cpu_count()},
        "graph": {"version": planner.version, "nodes": len(graph["nodes"]), "edges": len(graph["edges"])},
        "compile_ms_median": round(1000 * statistics.median(compile_times), 1),
        "draw_ms_median": round(1000 * statistics.median(draw_times), 1),
        "planner_load_ms_median": round(1000 * statistics.median(load_times), 2),
        "plan": _stats_us(plan_times),
        "plan_to_json": _stats_us(json_times),
        "baseline_winner_takes_all_lookup": _stats_us(lookup_times),
        "blend_vs_top_emotion_match_tempo_bpm": {"mean_abs_difference": round(statistics.mean(differences), 2),
                                                 "max_abs_difference": round(max(differences), 2)},
    }
    print(f"graph {result['graph']['version']}: {result['graph']['nodes']} nodes, {result['graph']['edges']} edges")
    print(f"compile (validate + build + hash): {result['compile_ms_median']} ms median; "
          f"drawing {result['draw_ms_median']} ms; planner load {result['planner_load_ms_median']} ms")
    p, j, b = result["plan"], result["plan_to_json"], result["baseline_winner_takes_all_lookup"]
    print(f"plan: median {p['median_us']} us, p95 {p['p95_us']} us, p99 {p['p99_us']} us over {p['calls']} inputs")
    print(f"plan + JSON: median {j['median_us']} us, p99 {j['p99_us']} us")
    print(f"baseline top-emotion lookup: median {b['median_us']} us "
          f"(the plan costs {p['median_us'] / max(b['median_us'], 0.1):.0f}x a lookup, and is "
          f"{'under' if p['p99_us'] < 1000 else 'OVER'} 1 ms at p99)")
    d = result["blend_vs_top_emotion_match_tempo_bpm"]
    print(f"blend vs top emotion alone: match tempo differs by {d['mean_abs_difference']} BPM on average "
          f"(max {d['max_abs_difference']})")
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
