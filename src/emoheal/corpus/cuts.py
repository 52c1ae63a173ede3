"""Where a track may be trimmed without cutting a note at full level: the quiet frames between
notes. A frame (50 ms) is a cut point when its level is a local minimum of the RMS envelope and
at least `drop_db` below the loudest frame within ±1 s (the notes around it have died away);
cut points are at least `min_gap_s` apart (the quietest kept) and not in the first or last
`edge_s` seconds. The sequencer trims a stage's last track at the cut point nearest the wanted
end, and fades out over the cross-fade either way."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

HOP_S = 0.05


def cut_points(samples: np.ndarray, rate: int, drop_db: float = 9.0, min_gap_s: float = 1.0,
               edge_s: float = 2.0) -> list[float]:
    """Seconds (frame centres), ascending."""
    frame = max(int(rate * HOP_S), 1)
    n = len(samples) // frame
    if n < 3:
        return []
    rms = np.sqrt(np.mean(np.square(samples[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-9))
    around = maximum_filter1d(db, size=2 * int(round(1.0 / HOP_S)) + 1, mode="nearest")
    valley = np.zeros(n, dtype=bool)
    valley[1:-1] = (db[1:-1] <= db[:-2]) & (db[1:-1] <= db[2:])
    times = (np.arange(n) + 0.5) * HOP_S
    quiet = valley & (db <= around - drop_db) & (times >= edge_s) & (times <= n * HOP_S - edge_s)
    kept: list[int] = []
    for i in sorted(np.flatnonzero(quiet), key=lambda j: db[j]):  # the quietest first
        if all(abs(times[i] - times[k]) >= min_gap_s for k in kept):
            kept.append(int(i))
    return sorted(round(float(times[i]), 3) for i in kept)
