"""Build the EMOPIA part of the corpus: pick the clips, render each in every configured timbre,
describe the result.

A clip rendered in piano keeps EMOPIA's id; in another timbre it becomes `<clip>.<timbre>`, with
`source_id` naming the clip. EMOPIA's quadrant annotations were made listening to the piano
performance: the manifest keeps them on every render (the emotion model's training label, said
so in metrics), but a title never presents one as the label of another timbre."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from emoheal.corpus.emopia import read_emopia, subset
from emoheal.corpus.manifest import write_manifest
from emoheal.corpus.render import RenderSettings, check_renderer, render_all
from emoheal.utils.hashing import sha256_file

log = logging.getLogger(__name__)
EMOPIA_LICENCE = "CC BY 4.0 (EMOPIA 1.0, Zenodo 5090631); non-commercial use of the compositions"


PIANO = "piano"  # EMOPIA's own timbre: rendered as written, under the clip's own id
EMOPIA_PROGRAM = 0  # every EMOPIA clip is one piano track (GM program 1)


def choose_clips(raw: str | Path, limit: int | None, seed: int, full_splits: tuple[str, ...] = ()) -> pd.DataFrame:
    """The stratified subset of `limit` clips, plus every clip of `full_splits` (e.g. the whole
    test split, so a timbre's accuracy is measured on all of it whatever the subset)."""
    every = read_emopia(raw)
    chosen = subset(every, limit, seed)
    if full_splits:
        extra = every[every["split"].isin(full_splits) & ~every["id"].isin(chosen["id"])]
        chosen = pd.concat([chosen, extra]).sort_values("id").reset_index(drop=True)
    return chosen


def plan_renders(clips: pd.DataFrame, tags: list[str], train_timbres: int | None = None) -> list[tuple[Any, str]]:
    """(clip, timbre) pairs to render. Every clip plays in piano; a train-split clip plays in
    `train_timbres` of the other timbres, taken in turn along the clips (None: in all of them), so
    each timbre still meets every quadrant in training at a fraction of the renders; val and test
    clips play in every timbre (the model is chosen on val and each timbre measured on test)."""
    others = [t for t in tags if t != PIANO]
    rotate = train_timbres is not None and train_timbres < len(others)
    planned, turn = [], 0
    for clip in clips.itertuples():
        chosen = others
        if rotate and clip.split == "train":
            chosen = [others[(turn + j) % len(others)] for j in range(train_timbres)]
            turn += 1
        planned += [(clip, tag) for tag in tags if tag == PIANO or tag in chosen]
    return planned


def render_id(clip_id: str, timbre: str) -> str:
    return clip_id if timbre == PIANO else f"{clip_id}.{timbre}"  # song ids hold "_" and "-"


def render_emopia(raw: str | Path, out_dir: str | Path, limit: int | None, seed: int,
                  settings: RenderSettings, workers: int | None = None, programs: dict[str, int] | None = None,
                  full_splits: tuple[str, ...] = (), names: dict[str, str] | None = None,
                  train_timbres: int | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Render the chosen EMOPIA clips in each timbre of `programs` ({tag: GM program, 0-based};
    default piano only) to `out_dir/audio/*.flac`; write `out_dir/manifest.parquet`. `names`:
    each tag's instrument name for titles; `train_timbres`: see `plan_renders`."""
    version = check_renderer(settings)  # fail before any work when fluidsynth or the soundfont is missing
    programs = programs or {PIANO: EMOPIA_PROGRAM}
    names = names or {}
    clips = choose_clips(raw, limit, seed, tuple(full_splits))
    out_dir = Path(out_dir)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    planned = plan_renders(clips, list(programs), train_timbres)
    wanted = {render_id(clip.id, tag) for clip, tag in planned}
    for stale in audio_dir.glob("*.flac"):  # a smaller subset must not leave old clips behind
        if stale.stem not in wanted:
            stale.unlink()
    jobs = [(render_id(clip.id, tag), clip.midi_path, str(audio_dir / f"{render_id(clip.id, tag)}.flac"),
             None if programs[tag] == EMOPIA_PROGRAM else programs[tag]) for clip, tag in planned]
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            log.info("rendered %d/%d", done, total)

    rendered = render_all(jobs, settings, workers, progress)
    seconds = time.perf_counter() - started
    by_id = {r.id: r for r in rendered}
    rows = []
    for clip, tag in planned:
        r = by_id[render_id(clip.id, tag)]
        title = f"EMOPIA {clip.song_id} #{clip.clip} (Q{clip.quadrant})" if tag == PIANO else \
            f"EMOPIA {clip.song_id} #{clip.clip} on {names.get(tag, tag)}"
        rows.append({
            "id": r.id, "title": title,
            "media_type": "audio", "audio_path": r.audio_path, "media_path": r.audio_path, "poster_path": None,
            "duration_s": r.duration_s, "sample_rate": r.sample_rate, "content_sha256": sha256_file(r.audio_path),
            "source": "emopia", "licence": EMOPIA_LICENCE, "song_id": clip.song_id, "quadrant": clip.quadrant,
            "split": clip.split, "midi_path": _relative(clip.midi_path),
            "loudness_before_lufs": r.loudness_before_lufs, "gain_db": r.gain_db,
            "timbre": tag, "source_id": clip.id, "composition": None,
        })
    manifest = pd.DataFrame(rows).sort_values("id").reset_index(drop=True)
    write_manifest(manifest, out_dir / "manifest.parquet")
    audio_s = float(manifest["duration_s"].sum())
    report = {
        "renderer": version, "settings": asdict(settings), "programs": {t: p + 1 for t, p in programs.items()},
        "clips": len(clips), "renders": len(manifest), "of": len(read_emopia(raw, verify=False)),
        "full_splits": list(full_splits), "train_timbres": train_timbres, "audio_hours": round(audio_s / 3600, 3),
        "by_split": clips.groupby("split").size().to_dict(),
        "by_quadrant": {f"Q{k}": int(v) for k, v in clips.groupby("quadrant").size().items()},
        "by_timbre": manifest.groupby("timbre").size().to_dict(),
    }  # timings go to the log (and benchmarks/), so the stage's outputs are byte-reproducible
    log.info("rendered %d clips in %d timbres, %.2f h of audio in %.0f s (%.0fx real time)",
             len(clips), len(programs), audio_s / 3600, seconds, audio_s / seconds)
    return manifest, report


def _relative(path: str) -> str:
    """Relative to the project root when inside it, so the manifest travels with the repository."""
    p = Path(path)
    return str(p.relative_to(Path.cwd())) if p.is_relative_to(Path.cwd()) else path
