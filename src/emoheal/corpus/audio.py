"""Reading, measuring and writing audio. soundfile does the I/O (torchaudio.load needs
torchcodec); pyloudnorm measures integrated loudness (ITU-R BS.1770)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class AudioError(ValueError):
    """An audio file that cannot be used, with the reason."""


def read_mono(path: str | Path) -> tuple[np.ndarray, int]:
    """float32 mono samples in [-1, 1] and the sample rate."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"unreadable audio ({exc})") from None
    return data.mean(axis=1), int(rate)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples
    import torch
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), rate, target).numpy()


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """LUFS; -inf for digital silence."""
    import pyloudnorm

    if samples.size < rate * 0.4:  # BS.1770 gates 400 ms blocks: shorter audio has no loudness
        raise AudioError("too short to measure loudness (< 0.4 s)")
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))


def normalise(samples: np.ndarray, rate: int, target_lufs: float, peak_dbfs: float) -> tuple[np.ndarray, float, float]:
    """Gain to `target_lufs`, lowered if needed so the peak stays under `peak_dbfs`.
    Returns (samples, loudness before, gain in dB)."""
    before = integrated_loudness(samples, rate)
    if not np.isfinite(before):
        raise AudioError("silent: no measurable loudness")
    gain_db = target_lufs - before
    peak = float(np.max(np.abs(samples)))
    if peak > 0:
        gain_db = min(gain_db, peak_dbfs - 20 * np.log10(peak))
    return (samples * 10 ** (gain_db / 20)).astype(np.float32), before, float(gain_db)


def write_flac(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """16-bit FLAC, written to a temporary name and renamed (no half files)."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    sf.write(str(tmp), np.clip(samples, -1.0, 1.0), rate, format="FLAC", subtype="PCM_16")
    tmp.replace(path)
