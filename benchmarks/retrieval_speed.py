"""Session retrieval latency at 1k and 10k items, and a scale run of the FAISS indexes up to
1M items (latency and recall of the approximate indexes against exact search).

    .venv/bin/python benchmarks/retrieval_speed.py [--max-items 1000000]

Items are synthetic: the real quickstart index's items resampled with jitter (so the
descriptor distributions are those of real music), or, for the scale run, vectors drawn
the same way. Baselines in the same run: scoring every item (no candidate search), and
exact (flat) search. Writes benchmarks/results/retrieval_speed.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emoheal.kg.planner import load_planner
from emoheal.retrieval.config import settings_from_config
from emoheal.retrieval.index import RetrievalIndex, _faiss_index, descriptor_vectors, load_index
from emoheal.retrieval.retrieve import retrieve
from emoheal.settings import SessionSettings, load_settings
from emoheal.utils.io import write_json

NUMERIC = ["tempo_bpm", "mode_major", "loudness_lufs", "density_onsets_per_s", "register_midi", "brightness_hz",
           "valence", "arousal", "duration_s"]


def synthetic_items(real: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = real.iloc[rng.integers(0, len(real), n)].reset_index(drop=True).copy()
    for col in NUMERIC:
        rows[col] = rows[col] * rng.normal(1.0, 0.03, n)
    rows["valence"] = rows["valence"].clip(-1, 1)
    rows["arousal"] = rows["arousal"].clip(-1, 1)
    rows["mode_major"] = rows["mode_major"].clip(0, 1)
    rows["id"] = [f"synthetic_{i}" for i in range(n)]
    return rows


def make_index(items: pd.DataFrame) -> RetrievalIndex:
    unit, mean, scale = descriptor_vectors(items)
    meta = {"backend": "descriptors", "mean": mean.tolist(), "scale": scale.tolist(), "vector_tags": None,
            "descriptor_index": "flat"}
    return RetrievalIndex(items, unit, meta, None, _faiss_index(unit, "flat", 256))


def session_latency(index: RetrievalIndex, plans, goal, threshold: int, settings: SessionSettings) -> dict:
    for plan in plans[:3]:
        retrieve(plan, index, settings, goal, candidate_threshold=threshold)  # warm-up
    times = []
    for plan in plans:
        start = time.perf_counter()
        retrieve(plan, index, settings, goal, candidate_threshold=threshold)
        times.append(time.perf_counter() - start)
    return {"median_ms": round(1000 * statistics.median(times), 2), "max_ms": round(1000 * max(times), 2)}


def scale_run(real: np.ndarray, sizes: list[int], queries: int = 200, k: int = 100) -> list[dict]:
    rng = np.random.default_rng(1)
    out = []
    for n in sizes:
        base = real[rng.integers(0, len(real), n)] + rng.normal(0, 0.05, (n, real.shape[1])).astype(np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        q = base[rng.integers(0, n, queries)] + rng.normal(0, 0.05, (queries, real.shape[1])).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        row = {"items": n}
        exact = None
        for kind in ("flat", "hnsw", "ivf"):
            start = time.perf_counter()
            index = _faiss_index(base.astype(np.float32), kind, nlist=max(16, int(np.sqrt(n))))
            build = time.perf_counter() - start
            if kind == "hnsw":
                index.hnsw.efSearch = 128
            if kind == "ivf" and hasattr(index, "nprobe"):
                index.nprobe = 16
            start = time.perf_counter()
            _, found = index.search(q.astype(np.float32), k)
            per_query = (time.perf_counter() - start) / queries
            if kind == "flat":
                exact = found
            recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)]))
            row[kind] = {"build_s": round(build, 2), "query_ms": round(1000 * per_query, 3),
                         f"recall_at_{k}": round(recall, 4), "type": type(index).__name__}
        out.append(row)
        print(f"{n:>9,} items: " + "; ".join(
            f"{kind} {row[kind]['query_ms']} ms/query, recall {row[kind][f'recall_at_{k}']} "
            f"(build {row[kind]['build_s']} s)" for kind in ("flat", "hnsw", "ivf")))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="composed params (retrieval settings, paths)")
    parser.add_argument("--index", help="retrieval index (default: the one in the params' paths.corpus)")
    parser.add_argument("--graph", help="compiled graph (default: the one in the params' paths.kg)")
    parser.add_argument("--max-items", type=int, default=1_000_000)
    parser.add_argument("--out", default="benchmarks/results/retrieval_speed.json")
    args = parser.parse_args()
    params = load_settings(args.params)
    settings, _ = settings_from_config(params.retrieval)
    real = load_index(args.index or params.paths.index).items
    planner = load_planner(args.graph or params.paths.graph)
    plans = [planner.plan({label: 1.0}, "sleep").to_dict() for label in planner.labels]
    goal = planner.goals["sleep"]
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "sessions": {}}
    for n in (1_000, 10_000):
        index = make_index(synthetic_items(real, n, seed=n))
        full = session_latency(index, plans, goal, 10 ** 9, settings)  # baseline: score every item
        cand = session_latency(index, plans, goal, 5_000, settings)
        result["sessions"][str(n)] = {"score_every_item": full, "faiss_candidates": cand}
        print(f"{n:>6,} items: a session takes {full['median_ms']} ms scoring every item, "
              f"{cand['median_ms']} ms with FAISS candidates (aim <= 5 ms)")
    unit = make_index(synthetic_items(real, 2_000, seed=7)).unit_vectors
    sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= args.max_items]
    result["scale"] = scale_run(unit, sizes)
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    main()
