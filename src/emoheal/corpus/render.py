"""MIDI to audio with fluidsynth and a General MIDI soundfont: deterministic, mono,
loudness-normalised FLAC, rendered in parallel over the cores."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from emoheal.corpus.audio import AudioError, normalise, read_mono, write_flac


class RenderError(RuntimeError):
    """fluidsynth or the soundfont is missing, or a clip could not be rendered."""


@dataclass(frozen=True)
class RenderSettings:
    soundfont: str = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    sample_rate: int = 24000  # MERT's rate, so the encoder never resamples
    gain: float = 1.0  # fluidsynth's default 0.2 renders very quietly
    target_lufs: float = -23.0  # EBU R 128
    peak_dbfs: float = -1.0
    reverb: bool = True
    chorus: bool = False


@dataclass(frozen=True)
class Rendered:
    id: str
    audio_path: str
    duration_s: float
    sample_rate: int
    loudness_before_lufs: float
    gain_db: float


def check_renderer(settings: RenderSettings) -> str:
    """fluidsynth's version; a clear error naming the Debian packages when it is missing."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RenderError("fluidsynth is not installed: `make setup` installs the Debian packages "
                          "fluidsynth and fluid-soundfont-gm")
    if not Path(settings.soundfont).is_file():
        raise RenderError(f"soundfont {settings.soundfont} not found: install the Debian package "
                          "fluid-soundfont-gm (or set corpus.render.soundfont)")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def render_one(clip_id: str, midi: str, out_path: str, settings: RenderSettings) -> Rendered:
    """Render one MIDI file to `out_path` (FLAC)."""
    with tempfile.TemporaryDirectory(prefix="emoheal-render-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = ["fluidsynth", "-ni", "-q", "-F", str(wav), "-T", "wav", "-O", "float", "-r", str(settings.sample_rate),
               "-g", str(settings.gain), "-R", "1" if settings.reverb else "0", "-C", "1" if settings.chorus else "0",
               settings.soundfont, midi]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
        if result.returncode != 0 or not wav.is_file():
            raise RenderError(f"{clip_id}: fluidsynth failed ({result.returncode}): {result.stderr.strip()[-300:]}")
        samples, rate = read_mono(wav)
    try:
        samples, before, gain_db = normalise(samples, rate, settings.target_lufs, settings.peak_dbfs)
    except AudioError as exc:
        raise RenderError(f"{clip_id}: {exc}") from None
    write_flac(out_path, samples, rate)
    return Rendered(clip_id, out_path, round(samples.size / rate, 4), rate, round(before, 3), round(gain_db, 3))


def _job(args: tuple) -> Rendered:
    return render_one(*args)


def render_all(jobs: list[tuple[str, str, str]], settings: RenderSettings, workers: int | None = None,
               progress=None) -> list[Rendered]:
    """Render (id, midi, out_path) jobs over `workers` processes (default: every core), in input order."""
    workers = workers or os.cpu_count() or 1
    args = [(clip_id, midi, out, settings) for clip_id, midi, out in jobs]
    results: list[Rendered] = []
    if workers == 1:
        iterator = map(_job, args)
        for i, r in enumerate(iterator, start=1):
            results.append(r)
            if progress:
                progress(i, len(args))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, r in enumerate(pool.map(_job, args, chunksize=4), start=1):
            results.append(r)
            if progress:
                progress(i, len(args))
    return results


def settings_dict(settings: RenderSettings) -> dict:
    return asdict(settings)
