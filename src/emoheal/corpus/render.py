"""MIDI to audio with fluidsynth and a General MIDI soundfont: deterministic, mono,
loudness-normalised FLAC, rendered in parallel over the cores — as written, or with every
melodic channel moved to another GM program (a timbre: corpus/timbres.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from emoheal.corpus.audio import AudioError, normalise, read_mono, write_flac

DRUM_CHANNEL = 9  # GM percussion (channel 10 counted from 1): never re-programmed


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
    # voices at once (fluidsynth's default 256): a pad or harp holds hundreds of released voices
    # ringing under the sustain pedal; at 64 the quietest are stolen — rendering takes ~35 % less
    # time and a piano clip differs from the 256-voice render by -58 dB (inaudible)
    polyphony: int = 64
    # load only the samples the piece plays, not all 141 MB of FluidR3: the same samples out
    # (checked on every default timbre), a third less time per short clip (the corpus benchmark
    # compares both in one run)
    dynamic_sample_loading: bool = True


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


def with_program(midi: str | Path, program: int, out: str | Path) -> Path:
    """A copy of `midi` whose melodic channels all play GM `program` (0-based): every program
    change rewritten, and one added at the start of each channel that plays notes without one.
    Events, timing and controllers are untouched (mido, not a re-quantising round trip)."""
    import mido

    try:
        song = mido.MidiFile(str(midi))
    except (OSError, ValueError, EOFError) as exc:
        raise RenderError(f"{midi}: not a readable MIDI file ({exc})") from None
    for track in song.tracks:
        named: set[int] = set()
        playing: set[int] = set()
        for i, msg in enumerate(track):
            if msg.type == "program_change" and msg.channel != DRUM_CHANNEL:
                track[i] = msg.copy(program=program)
                named.add(msg.channel)
            elif msg.type == "note_on" and msg.channel != DRUM_CHANNEL:
                playing.add(msg.channel)
        for channel in sorted(playing - named):
            track.insert(0, mido.Message("program_change", channel=channel, program=program, time=0))
    song.save(str(out))
    return Path(out)


def render_one(clip_id: str, midi: str, out_path: str, settings: RenderSettings, program: int | None = None
               ) -> Rendered:
    """Render one MIDI file to `out_path` (FLAC); with `program`, every melodic channel in that
    GM program (None: as written)."""
    with tempfile.TemporaryDirectory(prefix="emoheal-render-") as tmp:
        wav = Path(tmp) / "out.wav"
        if program is not None:
            midi = str(with_program(midi, program, Path(tmp) / "in.mid"))
        cmd = ["fluidsynth", "-ni", "-q", "-F", str(wav), "-T", "wav", "-O", "float", "-r", str(settings.sample_rate),
               "-g", str(settings.gain), "-R", "1" if settings.reverb else "0", "-C", "1" if settings.chorus else "0",
               "-o", f"synth.polyphony={settings.polyphony}",
               "-o", f"synth.dynamic-sample-loading={int(settings.dynamic_sample_loading)}", settings.soundfont, midi]
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


def render_all(jobs: list[tuple], settings: RenderSettings, workers: int | None = None,
               progress=None) -> list[Rendered]:
    """Render (id, midi, out_path[, program]) jobs over `workers` processes (default: every core),
    in input order."""
    workers = workers or os.cpu_count() or 1
    args = [(job[0], job[1], job[2], settings, *job[3:]) for job in jobs]
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
