"""Rendering, composing and description speed as multiples of real time, and peak memory.

    .venv/bin/python benchmarks/corpus_speed.py [--clips 48] [--pieces 12]

Renders `--clips` EMOPIA clips (stratified, seed 42) with fluidsynth and describes them,
first in one process (the baseline), then over every core, in the same run; then again with
fluidsynth loading the whole soundfont (its default; we load only the samples played); then renders
the same clips in each default timbre (conf/corpus `timbres`) over every core, and composes and
renders `--pieces` pieces planned from the compiled graph (models/kg, so after `make run`, or
skipped with a note). Targets on 2 cores: render >= 50x real time, describe >= 20x, composing
and rendering >= 50x. Writes benchmarks/results/corpus_speed.json.
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
from emoheal.corpus.timbres import read_programs, score_programs
from emoheal.utils.io import load_params, write_json


def _peak_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"this_process_mb": round(own, 1), "largest_child_mb": round(children, 1)}


def _sample_loading(clips: pd.DataFrame, tmp: str, cores: int, dynamic_x: float) -> dict:
    """The same clips with fluidsynth loading the whole soundfont first (its default) against
    loading only the samples played (the render default), both over every core."""
    jobs = [(c.id, c.midi_path, f"{tmp}/whole_soundfont/{c.id}.flac") for c in clips.itertuples()]
    start = time.perf_counter()
    rendered = render_all(jobs, RenderSettings(dynamic_sample_loading=False), cores)
    seconds = time.perf_counter() - start
    whole_x = sum(r.duration_s for r in rendered) / seconds
    print(f"whole soundfont loaded per render: {whole_x:.0f}x real time vs {dynamic_x:.0f}x loading only the "
          f"samples played ({dynamic_x / whole_x:.2f}x faster)")
    return {"whole_soundfont_x_realtime": round(whole_x, 1), "dynamic_x_realtime": dynamic_x,
            "speedup": round(dynamic_x / whole_x, 2)}


def _timbres(clips: pd.DataFrame, tmp: str, cores: int, piano_x: float) -> dict:
    """Each default timbre's render speed on every core, against piano's in the same run."""
    params = compose_params()
    table = read_programs(params["paths"]["gm_programs"])
    out = {}
    for tag, program in score_programs(table, params["corpus"]["timbres"]).items():
        jobs = [(c.id, c.midi_path, f"{tmp}/{tag}/{c.id}.flac", None if program == 0 else program)
                for c in clips.itertuples()]
        start = time.perf_counter()
        rendered = render_all(jobs, RenderSettings(polyphony=params["corpus"]["render"]["polyphony"]), cores)
        seconds = time.perf_counter() - start
        audio_s = sum(r.duration_s for r in rendered)
        out[tag] = {"render_seconds": round(seconds, 1), "render_x_realtime": round(audio_s / seconds, 1)}
        print(f"  {tag}: render {audio_s / seconds:.0f}x real time on {cores} cores")
    slowest = min(v["render_x_realtime"] for v in out.values())
    print(f"slowest timbre {slowest:.0f}x vs piano as written {piano_x:.0f}x in the same run")
    return out


def _composed(pieces: int, tmp: str, cores: int) -> dict:
    """Composing (MIDI only) and composing + rendering `pieces` pieces planned from the graph."""
    graph = Path(compose_params()["paths"]["kg"]) / "graph.json"
    if pieces <= 0 or not graph.is_file():
        print("composed: skipped (no compiled graph at models/kg: run `make run` first)")
        return {"skipped": "no compiled graph"}
    from emoheal.corpus.compose import compose
    from emoheal.corpus.composed import ComposeSettings, build_composed, plan_specs
    from emoheal.kg.planner import load_planner

    planner = load_planner(graph)
    params = compose_params()
    table = read_programs(params["paths"]["gm_programs"])
    specs = plan_specs(planner, planner.graph, table, ComposeSettings(pieces=pieces), 42)
    start = time.perf_counter()
    for spec in specs:
        compose(spec)
    midi_s = time.perf_counter() - start
    start = time.perf_counter()
    manifest, _ = build_composed(specs, f"{tmp}/composed", RenderSettings(), {}, cores)
    total_s = time.perf_counter() - start
    audio_s = float(manifest["duration_s"].sum())
    print(f"composed {pieces} pieces ({audio_s / 60:.1f} min): the MIDI in {midi_s * 1000:.0f} ms, "
          f"composed and rendered {audio_s / total_s:.0f}x real time on {cores} cores")
    return {"pieces": pieces, "audio_minutes": round(audio_s / 60, 1), "compose_midi_ms": round(midi_s * 1000, 1),
            "compose_and_render_seconds": round(total_s, 1),
            "compose_and_render_x_realtime": round(audio_s / total_s, 1)}


def compose_params() -> dict:
    return load_params("params.yaml")  # the composed conf/ (the quickstart profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--pieces", type=int, default=12)
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
        result["sample_loading"] = _sample_loading(clips, tmp, cores, result["all_cores"]["render_x_realtime"])
        result["by_timbre"] = _timbres(clips, tmp, cores, result["all_cores"]["render_x_realtime"])
        result["composed"] = _composed(args.pieces, tmp, cores)
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
