"""The crisis screen's added latency per text, against the pattern-only screen in the same run.

    .venv/bin/python benchmarks/safety_screen.py [--model models/safety] [--repeats 20]

Times, per single text as a request brings it: the curated patterns alone (the screen before the
learned layer: the baseline), and the layered screen's assessment (patterns + the int8 sentence
encoder + the two-head classifier) with one and two ONNX Runtime threads, on the serving
benchmark's 40 ordinary bedtime sentences and on long texts (2,000 characters). The added latency
is the layered median minus the pattern median; the goal is <= 5 ms on 2 cores. Also counts how
many of the 40 sentences (written for the benchmarks, never used to train or tune the screen) the
screen would answer with a check-in or a crisis, as a measure of how often an ordinary user is
asked. Writes benchmarks/results/safety_screen.json. A missed goal prints FAIL; exit code 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
OUT = ROOT / "benchmarks" / "results" / "safety_screen.json"
GOAL_ADDED_MS = 5.0


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1e3, 3),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1e3, 3), "n": len(ordered)}


def measure(model: str | Path, texts: list[str], repeats: int = 20) -> dict:
    """Latency of the pattern layer alone and of the layered assessment, per single text."""
    from _timing import timed

    from emoheal.safety.patterns import load_rules
    from emoheal.safety.screen import CrisisScreen

    rules = load_rules()
    long_text = " ".join(texts)[:2000]
    out: dict = {"texts": len(texts), "repeats": repeats}
    out["patterns_only"] = _ms([s for t in texts for s in timed(lambda t=t: rules.match(t), repeats)])
    for threads in (1, 2):
        assess = CrisisScreen(model, threads=threads).assess
        for t in texts[:5]:  # warm-up: first calls allocate
            assess(t)
        out[f"layered_{threads}_thread"] = _ms([s for t in texts for s in timed(lambda t=t, f=assess: f(t), repeats)])
        out[f"layered_{threads}_thread_long_text"] = _ms(timed(lambda f=assess: f(long_text), repeats))
    screen = CrisisScreen(model, threads=1)
    levels = [screen.screen(t).level for t in texts]
    out["ordinary_sentences"] = {level: levels.count(level) for level in ("none", "low", "medium", "high")}
    out["model_version"] = screen.version
    best = min(out["layered_1_thread"]["median_ms"], out["layered_2_thread"]["median_ms"])
    out["added_median_ms"] = round(best - out["patterns_only"]["median_ms"], 3)
    out["goal"] = {"added_median_ms_at_most": GOAL_ADDED_MS, "met": out["added_median_ms"] <= GOAL_ADDED_MS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/safety")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from serving_latency import TEXTS

    result = measure(args.model, TEXTS, args.repeats)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    for key in ("patterns_only", "layered_1_thread", "layered_2_thread", "layered_1_thread_long_text"):
        print(f"{key:28} median {result[key]['median_ms']:7.3f} ms   p90 {result[key]['p90_ms']:7.3f} ms")
    verdict = "ok" if result["goal"]["met"] else "FAIL"
    print(f"added latency per text (median): {result['added_median_ms']:.2f} ms (goal <= {GOAL_ADDED_MS} ms) "
          f"{verdict}")
    print(f"the {result['texts']} ordinary bedtime sentences: {result['ordinary_sentences']}")
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
