"""Build the EMOPIA part of the corpus: pick the clips, render them, describe the result."""

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


def render_emopia(raw: str | Path, out_dir: str | Path, limit: int | None, seed: int,
                  settings: RenderSettings, workers: int | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Render the chosen EMOPIA clips to `out_dir/audio/*.flac`; write `out_dir/manifest.parquet`."""
    version = check_renderer(settings)  # fail before any work when fluidsynth or the soundfont is missing
    clips = subset(read_emopia(raw), limit, seed)
    out_dir = Path(out_dir)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    for stale in audio_dir.glob("*.flac"):  # a smaller subset must not leave old clips behind
        if stale.stem not in set(clips["id"]):
            stale.unlink()
    jobs = [(r.id, r.midi_path, str(audio_dir / f"{r.id}.flac")) for r in clips.itertuples()]
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            log.info("rendered %d/%d clips", done, total)

    rendered = render_all(jobs, settings, workers, progress)
    seconds = time.perf_counter() - started
    by_id = {r.id: r for r in rendered}
    rows = []
    for clip in clips.itertuples():
        r = by_id[clip.id]
        rows.append({
            "id": clip.id, "title": f"EMOPIA {clip.song_id} #{clip.clip} (Q{clip.quadrant})",
            "media_type": "audio", "audio_path": r.audio_path, "media_path": r.audio_path, "poster_path": None,
            "duration_s": r.duration_s, "sample_rate": r.sample_rate, "content_sha256": sha256_file(r.audio_path),
            "source": "emopia", "licence": EMOPIA_LICENCE, "song_id": clip.song_id, "quadrant": clip.quadrant,
            "split": clip.split, "midi_path": _relative(clip.midi_path),
            "loudness_before_lufs": r.loudness_before_lufs, "gain_db": r.gain_db,
        })
    manifest = pd.DataFrame(rows)
    write_manifest(manifest, out_dir / "manifest.parquet")
    audio_s = float(manifest["duration_s"].sum())
    report = {
        "renderer": version, "settings": asdict(settings),
        "clips": len(manifest), "of": len(read_emopia(raw, verify=False)), "audio_hours": round(audio_s / 3600, 3),
        "by_split": manifest.groupby("split").size().to_dict(),
        "by_quadrant": {f"Q{k}": int(v) for k, v in manifest.groupby("quadrant").size().items()},
    }  # timings go to the log (and benchmarks/), so the stage's outputs are byte-reproducible
    log.info("rendered %d clips, %.2f h of audio in %.0f s (%.0fx real time)",
             len(manifest), audio_s / 3600, seconds, audio_s / seconds)
    return manifest, report


def _relative(path: str) -> str:
    """Relative to the project root when inside it, so the manifest travels with the repository."""
    p = Path(path)
    return str(p.relative_to(Path.cwd())) if p.is_relative_to(Path.cwd()) else path
