"""A session's mix (session.mix) rendered from real audio files: the duration of the timeline,
equal-power cross-fades, silence (not a shift) where a file is missing, FLAC and Opus outputs
measured with ffprobe, and a cache that renders once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoheal.session.mix import MixError, cached_mix, mix_key, render_mix

RATE = 24000


def tone(path: Path, seconds: float, freq: float, rate: int = RATE, level: float = 0.2) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (level * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="FLAC")
    return path


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


@pytest.fixture()
def library(tmp_path):
    files = {f"item{i}": tone(tmp_path / f"item{i}.flac", 12.0, 220.0 * (1 + i)) for i in range(3)}
    files["other_rate"] = tone(tmp_path / "other.flac", 12.0, 330.0, rate=16000)
    return files


def timeline(ids, play=10.0, fade=2.0):
    tracks, at = [], 0.0
    for i, item in enumerate(ids):
        tracks.append({"item_id": item, "at_s": at, "start_s": 1.0, "duration_s": play,
                       "fade_in_s": 0.5 if i == 0 else fade, "fade_out_s": 3.0 if i == len(ids) - 1 else fade})
        at += play - fade
    return tracks


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffmpeg is installed by make setup")


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["flac", "ogg"])
def test_the_mix_lasts_as_long_as_the_timeline(library, tmp_path, fmt):
    tracks = timeline(["item0", "item1", "other_rate", "item2"])
    out = render_mix(tracks, library.get, tmp_path / f"mix.{fmt}", fmt)
    filled = tracks[-1]["at_s"] + tracks[-1]["duration_s"]
    assert out["duration_s"] == pytest.approx(filled, abs=0.01) and out["skipped"] == []
    assert abs(ffprobe_duration(Path(out["path"])) - filled) < 1.0
    assert out["rate"] == RATE and out["loudness_lufs"] == -23.0


def test_cross_fades_are_equal_power_and_the_ends_fade(library, tmp_path):
    tracks = timeline(["item0", "item1"], play=10.0, fade=2.0)
    out = render_mix(tracks, library.get, tmp_path / "mix.flac", "flac")
    mix, rate = sf.read(out["path"])
    assert abs(mix[: int(0.01 * rate)]).max() < 0.05, "the session fades in"
    assert abs(mix[-int(0.01 * rate):]).max() < 0.05, "and dies away at the end"

    def rms(a, b):
        return float(np.sqrt(np.mean(mix[int(a * rate):int(b * rate)] ** 2)))

    # two tones of equal level: inside the cross-fade (8-10 s) the power stays near one tone's
    # (a linear fade would dip to 0.71 of it halfway)
    steady, middle = rms(4.0, 6.0), rms(8.8, 9.2)
    assert middle == pytest.approx(steady, rel=0.08)


def test_a_missing_file_stays_silent_and_the_timing_holds(library, tmp_path):
    tracks = timeline(["item0", "gone", "item2"])
    out = render_mix(tracks, library.get, tmp_path / "mix.flac", "flac")
    assert [s["item_id"] for s in out["skipped"]] == ["gone"]
    mix, rate = sf.read(out["path"])
    assert len(mix) / rate == pytest.approx(tracks[-1]["at_s"] + tracks[-1]["duration_s"], abs=0.01)
    gap = mix[int(10.5 * rate):int(15.5 * rate)]  # inside the missing track's span, away from the fades
    assert abs(gap).max() < 1e-3
    assert abs(mix[int(17.0 * rate):int(22.0 * rate)]).max() > 0.05, "the next track plays at its time"
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"not audio at all")
    out = render_mix(timeline(["item0", "bad"]), {**library, "bad": corrupt}.get, tmp_path / "m2.flac", "flac")
    assert out["skipped"][0]["item_id"] == "bad" and "unreadable" in out["skipped"][0]["reason"]


def test_bad_requests_are_refused(library, tmp_path):
    with pytest.raises(MixError, match="no tracks"):
        render_mix([], library.get, tmp_path / "x.flac")
    with pytest.raises(MixError, match="unknown mix format 'mp3'"):
        render_mix(timeline(["item0"]), library.get, tmp_path / "x.mp3", "mp3")


def test_the_cache_renders_once_per_timeline(library, tmp_path):
    tracks = timeline(["item0", "item1"])
    first = cached_mix(tracks, library.get, tmp_path / "cache", "flac")
    stamp = first.stat().st_mtime_ns
    again = cached_mix(tracks, library.get, tmp_path / "cache", "flac")
    assert again == first and again.stat().st_mtime_ns == stamp
    other = timeline(["item1", "item0"])
    assert mix_key(other, "flac", -23.0) != mix_key(tracks, "flac", -23.0)
    assert mix_key(tracks, "ogg", -23.0) != mix_key(tracks, "flac", -23.0)
