"""How often a composed piece, measured like any other item, is what it was composed for: its
measured tempo (octave-folded: a beat tracker may hear half or double time) within 10 % of the
composed tempo, its measured mode and key, and its estimated quadrant equal to the intended one
(the quadrant of the stage's valence and arousal, for a stage clearly in one)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

TEMPO_TOLERANCE = 0.10


def folded_ratio(measured: float, composed: float) -> float:
    """|felt - composed| / composed, with felt the nearest of measured x1/2, x1, x2 to composed."""
    felt = min((measured * 0.5, measured, measured * 2.0), key=lambda x: abs(x - composed))
    return abs(felt - composed) / composed


def composed_table(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """One row per described composed piece: composed vs measured tempo, mode, key and quadrant."""
    pieces = manifest[manifest["source"] == "composed"]
    d, e = descriptors.set_index("id"), estimates.set_index("id")
    rows = []
    for piece in pieces.itertuples():
        if piece.id not in d.index or piece.id not in e.index:
            continue
        spec = json.loads(piece.composition)
        tempo = float(d.loc[piece.id, "tempo_bpm"])
        rows.append({
            "id": piece.id, "goal": spec["intent"]["goal"], "stage": spec["intent"]["stage"],
            "timbre": piece.timbre, "tempo_composed": spec["tempo_bpm"], "tempo_measured": tempo,
            "tempo_ok": bool(np.isfinite(tempo) and folded_ratio(tempo, spec["tempo_bpm"]) <= TEMPO_TOLERANCE),
            "mode_composed": spec["mode"],
            "mode_ok": bool((d.loc[piece.id, "mode_major"] > 0.5) == (spec["mode"] == "major")),
            "key_composed": spec["key"], "key_ok": bool(d.loc[piece.id, "key"] == spec["key"]),
            "quadrant_intended": spec["intent"]["quadrant"],  # None: composed for a near-neutral stage
            "quadrant_estimated": int(e.loc[piece.id, "quadrant_pred"]),
        })
    table = pd.DataFrame(rows)
    if len(table):
        table["quadrant_ok"] = table["quadrant_intended"] == table["quadrant_estimated"]  # None never agrees
    return table


def composed_agreement(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame) -> dict:
    """`metrics/corpus.json` → composed: shares of pieces whose measurement agrees."""
    table = composed_table(manifest, descriptors, estimates)
    if table.empty:
        return {"pieces": 0}
    meant = table[table["quadrant_intended"].notna()]
    calm = meant[meant["quadrant_intended"] == 4]

    def share(frame: pd.DataFrame, column: str) -> float | None:
        return round(float(frame[column].mean()), 4) if len(frame) else None

    return {
        "pieces": int(len(table)),
        "tempo_within_10pct": share(table, "tempo_ok"),
        "mode_agreement": share(table, "mode_ok"),
        "key_agreement": share(table, "key_ok"),
        # over the pieces composed for a quadrant (a stage clearly in one); the rest are near neutral
        "quadrant_agreement": share(meant, "quadrant_ok"),
        "pieces_for_a_quadrant": int(len(meant)),
        "calm_q4": {"pieces": int(len(calm)), "quadrant_agreement": share(calm, "quadrant_ok")},
        "by_intended_quadrant": {f"Q{int(q)}": {"pieces": int(len(g)), "quadrant_agreement": share(g, "quadrant_ok")}
                                 for q, g in meant.groupby("quadrant_intended")},
    }
