"""Audio descriptors on signals whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from emoheal.corpus.audio import AudioError
from emoheal.corpus.describe import DescribeSettings, describe
from emoheal.corpus.key import PITCH_CLASSES, estimate_key

RATE = 24000


def tone(midi: float, seconds: float, amp: float = 0.3, partials: int = 4) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(amp / k * np.sin(2 * np.pi * f * k * t) for k in range(1, partials + 1)).astype(np.float32)


def plucks(midis: list[float], bpm: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    """A note (or chord) struck every beat, decaying: onsets at a known rate."""
    out = np.zeros(int(seconds * RATE), dtype=np.float32)
    beat = int(RATE * 60 / bpm)
    note = sum(tone(m, 60 / bpm, amp) for m in midis) * np.exp(-np.arange(beat) / (0.15 * RATE))
    for start in range(0, out.size - beat, beat):
        out[start:start + beat] += note[:beat]
    return out


@pytest.mark.parametrize("bpm", [60, 90, 120])
def test_tempo_and_onset_density_of_a_pulse(bpm):
    clip, _ = describe(plucks([60, 64, 67], bpm, 20), RATE)
    assert clip["tempo_bpm"] == pytest.approx(bpm, rel=0.04)
    assert clip["onset_density_per_s"] == pytest.approx(bpm / 60, rel=0.1)


def progression(chords: list[list[int]], bpm: float = 80, repeats: int = 3) -> np.ndarray:
    return np.concatenate([plucks(chord, bpm, 4 * 60 / bpm) for _ in range(repeats) for chord in chords])


def test_major_and_minor_cadences():
    major, _ = describe(progression([[60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67]]), RATE)  # I IV V I
    minor, _ = describe(progression([[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]]), RATE)  # i iv V i
    assert major["mode_major"] > 0.5 > minor["mode_major"]
    assert major["key"] == "C major" and minor["key"] == "A minor"


def test_register_and_brightness_rise_with_pitch():
    low, _ = describe(plucks([40, 47], 80, 10), RATE)
    high, _ = describe(plucks([76, 83], 80, 10), RATE)
    assert high["pitch_centroid_midi"] > low["pitch_centroid_midi"] + 20
    assert high["brightness_hz"] > 2 * low["brightness_hz"]


def test_dynamic_range_sees_a_crescendo():
    steady, _ = describe(tone(60, 12), RATE)
    swell, _ = describe(tone(60, 12) * np.geomspace(0.03, 1.0, 12 * RATE, dtype=np.float32), RATE)  # +30 dB
    assert steady["dynamic_range_db"] < 1
    assert 20 < swell["dynamic_range_db"] < 30


def test_windows_cover_a_long_item_and_not_a_short_one():
    _, windows = describe(plucks([60], 90, 22), RATE)
    assert [w["window"] for w in windows] == [0, 1, 2, 3]  # the last 2 s are under half a window
    assert windows[0]["start_s"] == 0 and windows[1]["start_s"] == pytest.approx(5.0)
    assert all(w["onset_density_per_s"] == pytest.approx(1.5, rel=0.15) for w in windows)
    _, none = describe(plucks([60], 90, 8), RATE)
    assert none == []


def test_other_sample_rates_are_resampled():
    x = plucks([60, 64, 67], 90, 10)
    import torch
    import torchaudio.functional as AF

    x44 = AF.resample(torch.from_numpy(x), RATE, 44100).numpy()
    a, _ = describe(x, RATE)
    b, _ = describe(x44, 44100)
    assert b["tempo_bpm"] == pytest.approx(a["tempo_bpm"], rel=0.02) and b["key"] == a["key"]


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        (np.zeros(RATE * 5, dtype=np.float32), "silent"),
        (np.full(RATE // 2, 0.1, dtype=np.float32), "too short"),
        (np.array([0.1, np.nan] * RATE * 2, dtype=np.float32), "not finite"),
    ],
)
def test_unusable_audio_is_a_clear_error(samples, message):
    with pytest.raises(AudioError, match=message):
        describe(samples, RATE)


def test_key_profiles_recover_every_key():
    from emoheal.corpus.key import MAJOR, MINOR

    for tonic in range(12):
        assert estimate_key(np.roll(MAJOR, tonic))["key"] == f"{PITCH_CLASSES[tonic]} major"
        assert estimate_key(np.roll(MINOR, tonic))["key"] == f"{PITCH_CLASSES[tonic]} minor"
    flat = estimate_key(np.ones(12))
    assert flat["mode_major"] == pytest.approx(0.5)


def test_settings_are_explicit():
    s = DescribeSettings()
    assert s.sample_rate == 24000 and s.window_s == 5.0
