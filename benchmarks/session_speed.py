"""Sequenced-session latency: a 60-minute session laid out as tracks along the plan's path
(retrieval.sequence) at 1k and 10k items — goal: p99 <= 20 ms on 2 cores — against one item
per stage (the behaviour before sequences) at the same sizes in the same run; then the scale
path for large catalogues: at 100k and 1M items the sequence draws from the FAISS (HNSW)
neighbours of the stages and of 16 waypoints along the path, so its cost stays that of ~10k items.

    .venv/bin/python benchmarks/session_speed.py [--max-items 1000000] [--sessions 200]

Items are the real quickstart index's items resampled with jitter (real descriptor
distributions; see retrieval_speed.py). Plans: the 28 one-hot emotions plus detector-like
mixtures, goal sleep, 60 minutes, a different seed per session. Threads are pinned to 2.
Writes benchmarks/results/session_speed.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # the 2 cores of the goal
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from retrieval_speed import synthetic_items  # noqa: E402  (the script's folder is on the path)

from emoheal.kg.planner import load_planner  # noqa: E402
from emoheal.retrieval.index import RetrievalIndex, _faiss_index, descriptor_vectors, load_index  # noqa: E402
from emoheal.retrieval.retrieve import retrieve, retrieve_sequence  # noqa: E402
from emoheal.settings import load_settings  # noqa: E402
from emoheal.utils.io import write_json  # noqa: E402

GOAL_P99_MS = 20.0


def make_index(items, kind: str = "flat") -> RetrievalIndex:
    unit, mean, scale = descriptor_vectors(items)
    meta = {"backend": "descriptors", "mean": mean.tolist(), "scale": scale.tolist(), "vector_tags": None,
            "descriptor_index": kind}
    index = _faiss_index(unit, kind, max(16, int(np.sqrt(len(items)))))
    if kind == "hnsw":
        index.hnsw.efSearch = 128
    return RetrievalIndex(items, unit, meta, None, index)


def plans_for(planner, n: int, minutes: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    labels = planner.labels
    plans = [planner.plan({label: 1.0}, "sleep", minutes).to_dict() for label in labels]
    while len(plans) < n:
        k = int(rng.integers(1, 4))
        picked = rng.choice(len(labels), k, replace=False)
        plans.append(planner.plan({labels[i]: float(rng.uniform(0.3, 1)) for i in picked}, "sleep",
                                  minutes).to_dict())
    return plans[:n]


def latency(fn, plans: list[dict]) -> dict:
    for plan in plans[:3]:
        fn(plan, 0)  # warm-up (the item arrays are made once per index)
    times = []
    for i, plan in enumerate(plans):
        start = time.perf_counter()
        fn(plan, i)
        times.append(1000 * (time.perf_counter() - start))
    t = np.array(times)
    return {"sessions": len(t), "p50_ms": round(float(np.percentile(t, 50)), 2),
            "p99_ms": round(float(np.percentile(t, 99)), 2), "max_ms": round(float(t.max()), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", help="retrieval index (default: the one in the params' paths.corpus)")
    parser.add_argument("--graph", help="compiled graph (default: the one in the params' paths.kg)")
    parser.add_argument("--params", default="params.yaml", help="composed params (retrieval settings, paths)")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--max-items", type=int, default=1_000_000)
    parser.add_argument("--out", default="benchmarks/results/session_speed.json")
    args = parser.parse_args()
    from emoheal.retrieval.config import settings_from_config

    params = load_settings(args.params)
    one_item, sequence = settings_from_config(params.retrieval)
    real = load_index(args.index or params.paths.index).items
    planner = load_planner(args.graph or params.paths.graph)
    goal = planner.goals["sleep"]
    plans = plans_for(planner, args.sessions, args.minutes, seed=1)
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "threads": os.environ["OMP_NUM_THREADS"]},
              "minutes": args.minutes, "goal_p99_ms": GOAL_P99_MS, "sizes": {}}
    for n in (1_000, 10_000):
        index = make_index(synthetic_items(real, n, seed=n))
        seq = latency(lambda plan, i, index=index: retrieve_sequence(plan, index, sequence, goal, seed=i), plans)
        one = latency(lambda plan, i, index=index: retrieve(plan, index, one_item, goal), plans)
        tracks = [retrieve_sequence(p, index, sequence, goal, seed=i)["timeline"] for i, p in enumerate(plans[:20])]
        filled = float(np.mean([t["filled_s"] / t["requested_s"] for t in tracks]))
        result["sizes"][str(n)] = {"sequence": seq, "one_per_stage": one,
                                   "tracks_per_session": round(float(np.mean([t["tracks"] for t in tracks])), 1),
                                   "minutes_filled": round(filled, 4)}
        print(f"{n:>9,} items: a {args.minutes:g}-min sequence p50 {seq['p50_ms']} ms, p99 {seq['p99_ms']} ms "
              f"({result['sizes'][str(n)]['tracks_per_session']} tracks, filled {filled:.3f}); one item per stage "
              f"p50 {one['p50_ms']} ms")
    for n in [s for s in (100_000, 1_000_000) if s <= args.max_items]:
        start = time.perf_counter()
        index = make_index(synthetic_items(real, n, seed=n), kind="hnsw")
        build = time.perf_counter() - start
        few = plans[: min(len(plans), 50)]
        seq = latency(lambda plan, i, index=index: retrieve_sequence(plan, index, sequence, goal, seed=i), few)
        result["sizes"][str(n)] = {"sequence": seq, "hnsw_build_s": round(build, 1),
                                   "note": "FAISS HNSW neighbours of the stages and 16 path waypoints"}
        print(f"{n:>9,} items: p50 {seq['p50_ms']} ms, p99 {seq['p99_ms']} ms (HNSW candidates; "
              f"index built in {build:.0f} s)")
    p99 = result["sizes"]["10000"]["sequence"]["p99_ms"]
    result["goal_met"] = p99 <= GOAL_P99_MS
    print(f"goal: a {args.minutes:g}-min session at 10k items in <= {GOAL_P99_MS:g} ms p99: "
          f"{'met' if result['goal_met'] else 'MISSED'} ({p99} ms)")
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    main()
