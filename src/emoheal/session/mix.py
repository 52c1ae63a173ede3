"""A whole session as one continuous audio file: each track of the timeline cut from its item
(`start_s`, `duration_s`), faded in and out (equal-power curves, so a cross-fade keeps the
loudness steady), laid at its session time `at_s`, summed, loudness-normalised (ITU-R BS.1770,
pyloudnorm) and encoded — FLAC with soundfile, Opus in Ogg with ffmpeg. Items at another
sample rate are resampled with torchaudio (corpus.audio.resample), never by hand.

A track whose file is missing or unreadable is left silent for its span and reported, so the
timing of everything after it holds; a file shorter than its span plays what it has.
The file's name is a hash of the timeline and the format, so a mix is rendered once and then
served from the cache."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emoheal.corpus.audio import AudioError, normalise, read_mono, resample, write_flac

FORMATS = {"flac": ".flac", "ogg": ".ogg"}  # ogg = Opus in Ogg, for browsers
TRACK_KEYS = ("item_id", "at_s", "start_s", "duration_s", "fade_in_s", "fade_out_s")


class MixError(ValueError):
    """A timeline that cannot be rendered (no tracks, an unknown format, no encoder)."""


def timeline_tracks(session: dict) -> list[dict]:
    """The tracks of a runner result, in session order, with only what rendering needs."""
    return [{k: t[k] for k in TRACK_KEYS} for st in session.get("stages", []) for t in st.get("tracks") or []]


def mix_key(tracks: list[dict], fmt: str, target_lufs: float) -> str:
    """The cache name of a mix: the same tracks, timings, format and loudness give the same file."""
    payload = json.dumps({"tracks": [{k: t[k] for k in TRACK_KEYS} for t in tracks], "format": fmt,
                          "lufs": target_lufs}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _gain_curve(n: int, rising: bool) -> np.ndarray:
    x = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
    return np.sin(0.5 * np.pi * x) if rising else np.cos(0.5 * np.pi * x)


def render_mix(tracks: list[dict], resolve: Callable[[str], Path | None], out: str | Path, fmt: str = "flac",
               target_lufs: float = -23.0, peak_dbfs: float = -1.0, rate: int | None = None) -> dict:
    """Render `tracks` (timeline tracks) to `out`; `resolve(item_id)` gives an item's audio file
    (None when there is none). Returns {path, duration_s, rate, skipped, loudness_lufs}."""
    if fmt not in FORMATS:
        raise MixError(f"unknown mix format {fmt!r}: {', '.join(FORMATS)}")
    if not tracks:
        raise MixError("the session has no tracks to mix")
    loaded: list[tuple[dict, np.ndarray | None, int | None, str | None]] = []
    for t in tracks:
        path = resolve(t["item_id"])
        if path is None or not Path(path).is_file():
            loaded.append((t, None, None, "missing file"))
            continue
        try:
            samples, file_rate = read_mono(path)
        except AudioError as exc:
            loaded.append((t, None, None, str(exc)))
            continue
        loaded.append((t, samples, file_rate, None))
    rates = [r for _, _, r, _ in loaded if r]
    rate = rate or (max(rates) if rates else 24000)
    end = max(t["at_s"] + t["duration_s"] for t in tracks)
    mix = np.zeros(int(round(end * rate)) + 1, dtype=np.float64)
    skipped = []
    for t, samples, file_rate, problem in loaded:
        if samples is None:
            skipped.append({"item_id": t["item_id"], "at_s": t["at_s"], "reason": problem})
            continue
        if file_rate != rate:
            samples = resample(samples, file_rate, rate)
        first = int(round(t["start_s"] * rate))
        part = samples[first:first + int(round(t["duration_s"] * rate))].astype(np.float64)
        fade_in, fade_out = int(round(t["fade_in_s"] * rate)), int(round(t["fade_out_s"] * rate))
        n = len(part)
        if fade_in:
            k = min(fade_in, n)
            part[:k] *= _gain_curve(fade_in, True)[:k]
        if fade_out:
            # the fade ends where the track's span ends, also when the file is shorter than its span
            span = int(round(t["duration_s"] * rate))
            curve = _gain_curve(fade_out, False)
            start = span - fade_out
            lo, hi = max(start, 0), min(span, n)
            if hi > lo:
                part[lo:hi] *= curve[lo - start:hi - start]
        at = int(round(t["at_s"] * rate))
        stop = min(at + n, len(mix))
        mix[at:stop] += part[:stop - at]
    loudness = None
    try:
        samples, _, _ = normalise(mix.astype(np.float32), rate, target_lufs, peak_dbfs)
        loudness = target_lufs
    except AudioError:  # silent or too short to measure: written as it is
        samples = mix.astype(np.float32)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "flac":
        write_flac(out, samples, rate)
    else:
        _encode_opus(samples, rate, out)
    return {"path": str(out), "duration_s": round(len(mix) / rate, 3), "rate": rate, "skipped": skipped,
            "loudness_lufs": loudness}


def _encode_opus(samples: np.ndarray, rate: int, out: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MixError("ffmpeg is not installed: `make setup` installs it (Debian package ffmpeg); "
                       "or ask for format=flac")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "mix.flac"
        write_flac(source, samples, rate)
        partial = out.with_name(f".{out.name}.tmp.ogg")
        done = subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-c:a", "libopus",
                               "-b:a", "96k", str(partial)], capture_output=True, text=True)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise MixError(f"ffmpeg could not encode the mix: {done.stderr.strip()[-300:]}")
        partial.replace(out)


def cached_mix(tracks: list[dict], resolve: Callable[[str], Path | None], cache_dir: str | Path, fmt: str = "ogg",
               target_lufs: float = -23.0) -> Path:
    """The mix's file in `cache_dir`, rendered on first use (atomic: concurrent renders are wasted
    work, never a half file)."""
    if fmt not in FORMATS:
        raise MixError(f"unknown mix format {fmt!r}: {', '.join(FORMATS)}")
    path = Path(cache_dir) / f"{mix_key(tracks, fmt, target_lufs)}{FORMATS[fmt]}"
    if not path.is_file():
        render_mix(tracks, resolve, path, fmt, target_lufs)
    return path
