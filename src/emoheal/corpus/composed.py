"""The composed part of the corpus: pieces written by the rule-based composer (corpus/compose.py)
for the calm and guide parts of the knowledge graph's goals, rendered with fluidsynth, with a
manifest row each (licence "generated": no third party holds rights in them).

Each piece is planned from a real session plan: for a (goal, stage) pair and a seeded emotion
the planner gives the stage's musical targets, and the piece takes its tempo, loudness and
density from inside the stage's ranges, its mode from the mode probability, its register from
the target, and its two timbres from the stage's timbres and the goal's preferences (never a
timbre the stage avoids). What it was composed for is kept with it (`composition`, JSON), so the
corpus stage can report how often the measured piece agrees.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoheal.corpus.compose import STRUCK, SUSTAINED, ComposeError, ComposeSpec, compose
from emoheal.corpus.manifest import write_manifest
from emoheal.corpus.render import RenderSettings, check_renderer, render_all
from emoheal.corpus.timbres import TIMBRE_SEPARATOR, TimbreProgram
from emoheal.utils.hashing import sha256_file

log = logging.getLogger(__name__)
GENERATED_LICENCE = "generated"  # composed here: licence-clean (README: what `corpus.licence: commercial` means)


@dataclass(frozen=True)
class ComposeSettings:
    pieces: int = 36
    seconds: tuple[float, float] = (120.0, 240.0)  # each piece's length, drawn in this range
    goals: tuple[str, ...] = ("sleep", "calm", "uplift")
    stages: tuple[str, ...] = ("target", "guide")
    range_share: float = 0.6  # tempo, loudness and density drawn from this central share of the stage's ranges
    # a stage at least this far from neutral arousal leans to that half of its ranges, and its
    # pieces are composed for its quadrant (nearer neutral: for its values, no quadrant)
    lean_arousal: float = 0.3


def quadrant_of(valence: float, arousal: float) -> int:
    """Russell quadrant of a point (EMOPIA's numbering); 0 on an axis counts as its low side."""
    return (1 if valence > 0 else 2) if arousal > 0 else (4 if valence > 0 else 3)


def intended_quadrant(valence: float, arousal: float, clear: float) -> int | None:
    """The quadrant a piece is composed for, when the stage lies clearly in one (at least `clear`
    from neutral arousal, and not neutral in valence); None for a near-neutral stage (a guide
    halfway to calm is composed for its values, not for a quadrant)."""
    if abs(arousal) < clear or abs(valence) < 0.1:
        return None
    return quadrant_of(valence, arousal)


def _goal_timbres(graph: dict, goal: str) -> list[str]:
    """The goal's preferred timbres, best first (the graph's `prefers` edges)."""
    edges = [e for e in graph["edges"] if e["from"] == f"goal:{goal}" and e["kind"] == "prefers"
             and e["to"].startswith("timbre:")]
    return [e["to"].removeprefix("timbre:") for e in sorted(edges, key=lambda e: e["rank"])]


def pick_timbres(stage_timbres: list[str], goal_timbres: list[str], avoid: list[str],
                 table: dict[str, TimbreProgram], turn: int) -> tuple[str, str]:
    """(harmony tag, line tag): the harmony in a sustained timbre of the stage's (else its first
    playable one), the line in a struck or plucked timbre of the stage's or the goal's (a melody
    instrument only when none is allowed), taken in turn so the pieces vary. Never an avoided or
    unplayable tag."""
    def usable(tag: str, plays: tuple[str, ...]) -> bool:
        return tag in table and table[tag].plays in plays and tag not in avoid

    stage = [t for t in stage_timbres if usable(t, ("any",))]
    if not stage:
        raise ComposeError(f"none of the stage's timbres {stage_timbres} can be rendered")
    sustained = [t for t in stage if t in SUSTAINED]
    harmony = sustained[turn % len(sustained)] if sustained else stage[0]
    candidates = list(dict.fromkeys([*stage_timbres, *goal_timbres]))
    # struck or plucked first: a flute's soft attack over a pad left the tempo unheard (measured at
    # 2/3 to 4x the composed one); a melody instrument only when the stage allows nothing struck
    lines = [t for t in candidates if t in STRUCK and usable(t, ("any",))] or \
        [t for t in candidates if usable(t, ("melody",))]
    line = lines[turn % len(lines)] if lines else harmony
    return harmony, line


def _draw(rng: np.random.Generator, bounds: list[float], share: float, lean: float = 0.0,
          log_scale: bool = False) -> float:
    """A value from a `share` of [low, high] (uniform; on a log scale for ratios): the central
    share, or with `lean` -1 (+1) the lower (upper) half's central share."""
    lo, hi = (np.log(bounds[0]), np.log(bounds[1])) if log_scale else (bounds[0], bounds[1])
    mid = (lo + hi) / 2 + lean * (hi - lo) / 4
    half = share * (hi - lo) / (4 if lean else 2)
    x = float(rng.uniform(mid - half, mid + half))
    return float(np.exp(x)) if log_scale else x


def stage_spec(stage: dict, goal: str, emotion: str, harmony: TimbreProgram, line: TimbreProgram,
               settings: ComposeSettings, rng: np.random.Generator) -> ComposeSpec:
    """A piece for one plan stage: its tempo, loudness and density drawn inside the stage's
    ranges, its mode from the mode probability, its register around the target."""
    t, share = stage["targets"], settings.range_share
    # a stage clearly low (high) in arousal takes its tempo, density and loudness from the calm
    # (lively) half of its ranges: the middle of a calm target's ranges was estimated neutral
    lean = float(np.sign(stage["arousal"])) if abs(stage["arousal"]) >= settings.lean_arousal else 0.0
    tempo = round(_draw(rng, t["tempo_range_bpm"], share, lean, log_scale=True), 1)
    # at least a note a beat, so the pulse (and the measured tempo) is the composed one: sparser
    # lines were measured at 2.4x their tempo (the tracker found a pulse in the harmony's swells)
    density = max(_draw(rng, t["density_range_onsets_per_s"], share, lean, log_scale=True), tempo / 60)
    return ComposeSpec(
        tempo_bpm=tempo, mode="major" if t["mode_major"] >= 0.5 else "minor", tonic=int(rng.integers(12)),
        register_midi=round(float(t["register_midi"]) + float(rng.uniform(-2, 2)), 1),
        density_per_s=round(density, 3), loudness_lufs=round(_draw(rng, t["loudness_range_lufs"], share, lean), 1),
        harmony_program=harmony.program, line_program=line.program,
        timbres=tuple(dict.fromkeys((harmony.timbre, line.timbre))),
        seconds=round(float(rng.uniform(*settings.seconds)), 1), seed=int(rng.integers(2**31 - 1)),
        beats_per_bar=4,  # in 3/4 the tempo was often heard at 2/3 or 3/2 of the composed one
        # a guitar arpeggiates; a harp plays the melody (its slow arpeggios under a string pad were
        # heard at 2.5x the composed tempo: ringing strings blur the pulse)
        line="arpeggio" if line.timbre == "acoustic_guitar" else "melody",
        intent={"goal": goal, "stage": stage["name"], "emotion": emotion, "valence": stage["valence"],
                "arousal": stage["arousal"],
                "quadrant": intended_quadrant(stage["valence"], stage["arousal"], settings.lean_arousal),
                "targets": {k: t[k] for k in ("tempo_range_bpm", "loudness_range_lufs", "density_range_onsets_per_s",
                                              "register_range_midi", "mode_major", "timbres", "avoid_timbres")}})


def plan_specs(planner: Any, graph: dict, table: dict[str, TimbreProgram], settings: ComposeSettings,
               seed: int) -> list[ComposeSpec]:
    """`settings.pieces` specs spread in turn over the (goal, stage) pairs, each from a plan for a
    seeded one-hot emotion (the guide stage depends on it; the target mostly does not)."""
    rng = np.random.default_rng(seed)
    parts = [(g, s) for g in settings.goals for s in settings.stages]
    labels = [label for label in graph["labels"] if label != "neutral"]
    specs = []
    for i in range(settings.pieces):
        goal, stage_name = parts[i % len(parts)]
        emotion = labels[int(rng.integers(len(labels)))]
        plan = planner.plan({emotion: 1.0}, goal).to_dict()
        stage = next(st for st in plan["stages"] if st["name"] == stage_name)
        t = stage["targets"]
        harmony, line = pick_timbres(t["timbres"], _goal_timbres(graph, goal), t["avoid_timbres"], table,
                                     i // len(parts))
        specs.append(stage_spec(stage, goal, emotion, table[harmony], table[line], settings, rng))
    return specs


def piece_id(spec: ComposeSpec, i: int) -> str:
    return f"composed_{spec.intent['goal']}_{spec.intent['stage']}_{i:03d}"


def build_composed(specs: list[ComposeSpec], out_dir: str | Path, settings: RenderSettings,
                   names: dict[str, str], workers: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Write each piece's MIDI to `out_dir/midi/`, render it to `out_dir/audio/`, and write
    `out_dir/manifest.parquet` (every column of the corpus manifest)."""
    version = check_renderer(settings)
    out_dir = Path(out_dir)
    for sub in ("midi", "audio"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    ids = [piece_id(spec, i) for i, spec in enumerate(specs)]
    for sub, suffix in (("midi", ".mid"), ("audio", ".flac")):  # fewer pieces leave no stale ones
        for stale in (out_dir / sub).glob(f"*{suffix}"):
            if stale.stem not in set(ids):
                stale.unlink()
    started = time.perf_counter()
    pieces = [compose(spec) for spec in specs]
    midis = [p.write_midi(out_dir / "midi" / f"{ident}.mid") for ident, p in zip(ids, pieces)]
    composed_s = time.perf_counter() - started
    rendered = render_all([(ident, str(midi), str(out_dir / "audio" / f"{ident}.flac"))
                           for ident, midi in zip(ids, midis)], settings, workers)
    rows = []
    for ident, spec, piece, midi, r in zip(ids, specs, pieces, midis, rendered):
        sound = " and ".join(names.get(t, t) for t in spec.timbres)
        rows.append({
            "id": ident, "title": f"Composed for {spec.intent['goal']} ({spec.intent['stage']}): {spec.key}, "
                                  f"{spec.tempo_bpm:g} BPM, {sound}",
            "media_type": "audio", "audio_path": r.audio_path, "media_path": r.audio_path, "poster_path": None,
            "duration_s": r.duration_s, "sample_rate": r.sample_rate, "content_sha256": sha256_file(r.audio_path),
            "source": "composed", "licence": GENERATED_LICENCE, "song_id": None, "quadrant": None,
            "split": "composed", "midi_path": str(midi), "loudness_before_lufs": r.loudness_before_lufs,
            "gain_db": r.gain_db, "timbre": TIMBRE_SEPARATOR.join(spec.timbres), "source_id": ident,
            "composition": json.dumps({**spec.to_dict(), "bars": piece.bars, "midi_seconds": round(piece.seconds, 3),
                                       "progression": list(piece.progression)}, sort_keys=True),
        })
    manifest = pd.DataFrame(rows)
    write_manifest(manifest, out_dir / "manifest.parquet")
    audio_s = float(manifest["duration_s"].sum()) if len(manifest) else 0.0
    total = time.perf_counter() - started
    log.info("composed %d pieces (%.1f min) in %.1f s, rendered in %.0f s: %.0fx real time in all",
             len(manifest), audio_s / 60, composed_s, total - composed_s, audio_s / max(total, 1e-9))
    report = {"renderer": version, "pieces": len(manifest), "audio_minutes": round(audio_s / 60, 2),
              "by_part": manifest["id"].str.extract(r"composed_(\w+?)_(target|guide|match)_")
              .apply(lambda r: f"{r[0]}/{r[1]}", axis=1).value_counts().sort_index().to_dict() if len(manifest) else {},
              "by_timbre": manifest.groupby("timbre").size().to_dict() if len(manifest) else {}}
    return manifest, report
