"""Ingest a folder of the user's own media into the corpus manifest.

Audio (wav, flac, ogg, mp3) is decoded with soundfile (ffmpeg as a fallback); video (mp4,
webm, mkv) gives its audio track through ffmpeg plus a poster frame for the web page. Each
playable item becomes a mono, loudness-normalised FLAC like the rendered clips. Every file
in the folder gets a line in the ingest report — ingested, or skipped with the reason — so
nothing disappears silently.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoheal.corpus.audio import AudioError, normalise, read_mono, resample, write_flac
from emoheal.utils.hashing import sha256_file

AUDIO = {".wav", ".flac", ".ogg", ".mp3"}
VIDEO = {".mp4", ".webm", ".mkv"}
USER_LICENCE = "user-provided: the person who added it holds the rights"


@dataclass(frozen=True)
class IngestSettings:
    sample_rate: int = 24000
    target_lufs: float = -23.0
    peak_dbfs: float = -1.0
    min_duration_s: float = 3.0  # shorter clips cannot carry a session stage
    silence_dbfs: float = -60.0  # a peak below this is silence
    poster_width: int = 640


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise AudioError("ffmpeg is not installed (`make setup` installs the Debian package ffmpeg)")
    return exe


def _decode_with_ffmpeg(path: Path, rate: int) -> np.ndarray:
    """The first audio stream, mono at `rate`, via ffmpeg into a temporary WAV."""
    with tempfile.TemporaryDirectory(prefix="emoheal-ingest-") as tmp:
        wav = Path(tmp) / "a.wav"
        result = subprocess.run([_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn",
                                 "-ac", "1", "-ar", str(rate), "-c:a", "pcm_f32le", str(wav)],
                                capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0 or not wav.is_file():
            message = result.stderr.strip().splitlines()
            reason = message[-1] if message else f"ffmpeg exit {result.returncode}"
            if "matches no streams" in result.stderr:
                reason = "no audio track"
            raise AudioError(f"cannot decode: {reason}")
        samples, _ = read_mono(wav)
    return samples


def _poster(path: Path, out: Path, duration: float, width: int) -> bool:
    """A frame a little way in (not the usually black first frame), as JPEG."""
    out.parent.mkdir(parents=True, exist_ok=True)
    at = f"{min(1.0, duration / 2):.2f}"
    result = subprocess.run([_ffmpeg(), "-nostdin", "-v", "error", "-y", "-ss", at, "-i", str(path), "-frames:v", "1",
                             "-vf", f"scale={width}:-2", str(out)], capture_output=True, text=True, timeout=120,
                            check=False)
    return result.returncode == 0 and out.is_file() and out.stat().st_size > 0


def item_id(relative: Path) -> str:
    """URL-safe and stable: `user_<slug of the path>_<8 hex of the path>`."""
    slug = re.sub(r"[^a-z0-9]+", "-", relative.with_suffix("").as_posix().lower()).strip("-")[:48] or "item"
    return f"user_{slug}_{hashlib.sha256(relative.as_posix().encode()).hexdigest()[:8]}"


def ingest_folder(folder: str | Path, out_dir: str | Path, settings: IngestSettings = IngestSettings()
                  ) -> tuple[list[dict], list[dict]]:
    """(manifest rows, report lines). A missing folder is an empty ingest with one report line."""
    folder, out_dir = Path(folder), Path(out_dir)
    rows: list[dict] = []
    report: list[dict] = []
    if not folder.is_dir():
        return rows, [{"path": str(folder), "status": "skipped", "reason": "media folder does not exist"}]
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        line = {"path": str(path), "status": "skipped"}
        suffix = path.suffix.lower()
        if path.name.startswith(".") or path.name.lower() == "readme.md":
            report.append({**line, "reason": "not media (hidden file or the folder's README)"})
            continue
        if suffix not in AUDIO | VIDEO:
            report.append({**line, "reason": f"unsupported type {suffix or '(no extension)'}: audio "
                                             f"{', '.join(sorted(AUDIO))}; video {', '.join(sorted(VIDEO))}"})
            continue
        media_type = "video" if suffix in VIDEO else "audio"
        try:
            if path.stat().st_size == 0:
                raise AudioError("empty file")
            if media_type == "audio":
                try:
                    samples, rate = read_mono(path)
                    samples = resample(samples, rate, settings.sample_rate)
                except AudioError:
                    samples = _decode_with_ffmpeg(path, settings.sample_rate)  # e.g. an mp3 libsndfile rejects
            else:
                samples = _decode_with_ffmpeg(path, settings.sample_rate)
            duration = samples.size / settings.sample_rate
            if duration < settings.min_duration_s:
                raise AudioError(f"too short: {duration:.2f} s (< {settings.min_duration_s:g} s)")
            peak = float(np.max(np.abs(samples))) if samples.size else 0.0
            if peak <= 10 ** (settings.silence_dbfs / 20):
                raise AudioError(f"silent: peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS")
            samples, before, gain_db = normalise(samples, settings.sample_rate, settings.target_lufs,
                                                 settings.peak_dbfs)
        except (AudioError, subprocess.TimeoutExpired) as exc:
            report.append({**line, "reason": str(exc)})
            continue
        ident = item_id(relative)
        audio_path = out_dir / "audio" / f"{ident}.flac"
        write_flac(audio_path, samples, settings.sample_rate)
        poster = None
        media_path = audio_path
        if media_type == "video":
            # a copy travels with the corpus (and into a Bento); the user's folder may not
            media_path = out_dir / "media" / f"{ident}{suffix}"
            media_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, media_path)
            poster_path = out_dir / "posters" / f"{ident}.jpg"
            poster = str(poster_path) if _poster(path, poster_path, duration, settings.poster_width) else None
        rows.append({
            "id": ident, "title": path.stem.replace("_", " "), "media_type": media_type,
            "audio_path": str(audio_path), "media_path": str(media_path),
            "poster_path": poster, "duration_s": round(duration, 4), "sample_rate": settings.sample_rate,
            "content_sha256": sha256_file(audio_path), "source": "user", "licence": USER_LICENCE,
            "song_id": None, "quadrant": None, "split": "user", "midi_path": None,
            "loudness_before_lufs": round(before, 3), "gain_db": round(gain_db, 3),
            "timbre": None, "source_id": ident, "composition": None,  # what it sounds like is not known
        })
        report.append({"path": str(path), "status": "ingested", "id": ident, "media_type": media_type,
                       "duration_s": round(duration, 2), "poster": poster is not None})
    return rows, report
