"""Rendering and description speed as multiples of real time, and peak memory.

    .venv/bin/python benchmarks/corpus_speed.py [--clips 48]

Renders `--clips` EMOPIA clips (stratified, seed 42) with fluidsynth and describes them,
first in one process (the baseline), then over every core, in the same run. Targets on
2 cores: render >= 50x real time, describe >= 20x. Writes benchmarks/results/corpus_speed.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from emoheal.corpus.describe import DescribeSettings
from emoheal.corpus.descriptors import describe_manifest
from emoheal.corpus.emopia import read_emopia, subset
from emoheal.corpus.render import RenderSettings, render_all
from emoheal.utils.io import write_json


def _peak_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"this_process_mb": round(own, 1), "largest_child_mb": round(children, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--raw", default="data/raw/emopia")
    parser.add_argument("--out", default="benchmarks/results/corpus_speed.json")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    clips = subset(read_emopia(args.raw), args.clips, 42)
    result: dict = {"machine": {"python": platform.python_version(), "cpus": cores}, "clips": len(clips)}
    with tempfile.TemporaryDirectory(prefix="emoheal-bench-") as tmp:
        for label, workers in (("one_process", 1), ("all_cores", cores)):
            jobs = [(c.id, c.midi_path, f"{tmp}/{label}/{c.id}.flac") for c in clips.itertuples()]
            start = time.perf_counter()
            rendered = render_all(jobs, RenderSettings(), workers)
            render_s = time.perf_counter() - start
            audio_s = sum(r.duration_s for r in rendered)
            manifest = pd.DataFrame({"id": [r.id for r in rendered], "audio_path": [r.audio_path for r in rendered],
                                     "duration_s": [r.duration_s for r in rendered]})
            start = time.perf_counter()
            _, windows, report = describe_manifest(manifest, DescribeSettings(), workers)
            describe_s = time.perf_counter() - start
            result[label] = {
                "workers": workers, "audio_minutes": round(audio_s / 60, 1),
                "render_seconds": round(render_s, 1), "render_x_realtime": round(audio_s / render_s, 1),
                "describe_seconds": round(describe_s, 1), "describe_x_realtime": round(audio_s / describe_s, 1),
                "windows": len(windows), "failed": len(report["failed"]),
            }
            print(f"{label} ({workers} worker{'s' if workers > 1 else ''}): {audio_s / 60:.1f} min of audio; "
                  f"render {audio_s / render_s:.0f}x real time, describe {audio_s / describe_s:.0f}x")
    result["peak_memory"] = _peak_mb()
    full_h = 12.0
    best = result["all_cores"]
    result["full_corpus_estimate_minutes"] = {
        "render": round(full_h * 60 / best["render_x_realtime"], 1),
        "describe": round(full_h * 60 / best["describe_x_realtime"], 1),
    }
    one = result["one_process"]
    print(f"speed-up over one process: render {best['render_x_realtime'] / one['render_x_realtime']:.1f}x, "
          f"describe {best['describe_x_realtime'] / one['describe_x_realtime']:.1f}x; "
          f"targets render >= 50x ({'met' if best['render_x_realtime'] >= 50 else 'MISSED'}), "
          f"describe >= 20x ({'met' if best['describe_x_realtime'] >= 20 else 'MISSED'})")
    print(f"peak memory: {result['peak_memory']}; the full 12 h corpus would take "
          f"{result['full_corpus_estimate_minutes']} min")
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    main()
