"""Laying chosen tracks on the session's timeline, and the stage and session results built from them.

Consecutive tracks overlap by a cross-fade; the last track of a stage may be trimmed so the
stage (the session, for the last stage) ends on time — at a cut point of the item (a quiet frame
or a beat, from the index) when one lies near, else with a fade-out: never cut at full level.
"""

from __future__ import annotations

from statistics import median
from typing import NamedTuple

import numpy as np

from emoheal.retrieval.item_arrays import ItemArrays, rounded
from emoheal.retrieval.path_scoring import PlanPath, felt_tempo
from emoheal.retrieval.sequence_supply import SessionState
from emoheal.settings.retrieval import SequenceSettings

# what an item sounds like when the index does not say (made before items carried `sound`)
SOUNDS = {"emopia": "solo piano", "user": "your own media"}


def cut_at(cuts: np.ndarray, wanted: float, low: float, high: float) -> tuple[float, str]:
    """The item's cut point nearest `wanted` inside [low, high], else `wanted` with a fade."""
    if len(cuts):
        near = cuts[(cuts >= low) & (cuts <= high)]
        if len(near):
            return float(near[np.argmin(np.abs(near - wanted))]), "cut_point"
    return wanted, "fade"


class Slot(NamedTuple):
    """Where the session's next track must end: the stage's end, and whether it is the last stage
    (then the session's requested length, within the fill tolerance `tol`, is what counts)."""
    stage_end: float
    final: bool
    min_len: float  # the shortest excerpt worth playing
    tol: float
    requested: float


def place_track(arr: ItemArrays, row: int, score: float, state: SessionState, slot: Slot, s: SequenceSettings,
                path: PlanPath, crossfades: list) -> dict:
    """Lay the chosen item on the timeline: overlap the previous track by the cross-fade, play it
    whole or trim it so the stage (the session, for the last stage) ends on time."""
    d = float(arr.duration[row])
    at, play, fade, trimmed, cut_kind = _span(arr, row, d, state, slot, s)
    if state.prev is not None and fade > 0:
        crossfades.append({"at_s": round(at, 3), "duration_s": round(fade, 3), "from": str(arr.ids[state.prev]),
                           "to": str(arr.ids[row])})
    mid = at + play / 2
    wp = path.at(mid)
    fade_in = fade if state.prev is not None else min(s.first_fade_in_s, 0.25 * play)
    fade_out = min(s.crossfade_s, s.crossfade_max_share * play)
    if cut_kind == "fade":
        fade_out = max(fade_out, min(s.trim_fade_s, 0.5 * play))
    return {
        "item_id": str(arr.ids[row]), "title": str(arr.titles[row]), "at_s": round(at, 3), "start_s": 0.0,
        "duration_s": round(play, 3), "fade_in_s": round(fade_in, 3), "fade_out_s": round(fade_out, 3),
        "item_duration_s": round(d, 3), "trim": None if not trimmed else {"kind": cut_kind, "at_s": round(play, 3)},
        "measured": dict(arr.measured(row)),
        "felt_tempo_bpm": rounded(felt_tempo(float(arr.tempo[row]), wp["tempo_bpm"])),
        "path": {"minute": round(mid / 60, 3), "tempo_bpm": round(wp["tempo_bpm"], 2),
                 "arousal": round(wp["arousal"], 3)},
        "score": round(score, 4), "media_type": str(arr.media_type[row]), "media_path": arr.media_path[row],
        "poster_path": arr.poster_path[row],
    }


def _span(arr: ItemArrays, row: int, d: float, state: SessionState, slot: Slot,
          s: SequenceSettings) -> tuple[float, float, float, bool, str | None]:
    """(session time it starts, seconds played, cross-fade in, trimmed, how: "cut_point" | "fade")
    for item `row` of `d` seconds after the session's last track."""
    stage_end, final, min_len, tol = slot.stage_end, slot.final, slot.min_len, slot.tol
    if state.prev is None:
        fade = 0.0
    else:
        fade = min(s.crossfade_s, s.crossfade_max_share * min(state.prev_play, d))
    for _ in range(3):  # the cross-fade depends on the length played, which depends on where it starts
        at = max(state.cursor - fade, 0.0)
        need = stage_end - at
        play, trimmed = d, False
        if d > need:
            play, trimmed = need, True
        elif 0 < need - d < min_len and need - min_len >= min_len and not (final and need - d <= tol / 2):
            play, trimmed = need - min_len, True  # leave room for one more excerpt of a decent length
        cut_kind = None
        if trimmed:
            window = min(0.9 * tol, s.cut_window_s) if final else s.cut_window_s  # the end stays in tolerance
            low, high = play - window, min(play + window, d)
            play, cut_kind = cut_at(arr.cuts[row], play, max(low, 0.5), high)
        play = max(min(play, d), 0.5)
        shorter = min(fade, s.crossfade_max_share * play) if state.prev is not None else 0.0
        if shorter >= fade - 1e-9:
            break
        fade = shorter
    fade = min(fade, s.crossfade_max_share * play) if state.prev is not None else 0.0
    at = max(state.cursor - fade, 0.0)
    if final and at + play > slot.requested + 0.9 * tol:
        play, trimmed, cut_kind = max(slot.requested - at, 0.5), True, "fade"
    return at, play, fade, trimmed, cut_kind


def fade_into(prev_track: dict | None, track: dict, s: SequenceSettings) -> None:
    """The previous track fades out over the cross-fade into `track` — for at least the trim fade
    when it was trimmed without a cut point, so it never stops at full level."""
    if prev_track is None:
        return
    trimmed_by_fade = (prev_track["trim"] or {}).get("kind") == "fade"
    least = min(s.trim_fade_s, 0.5 * prev_track["duration_s"]) if trimmed_by_fade else 0.0
    prev_track["fade_out_s"] = round(max(track["fade_in_s"], least), 3)


def empty_stage(stage: dict, reason: str) -> dict:
    return {"stage": stage["name"], "status": "no_suitable_item", "reason": reason, "item": None, "tracks": [],
            "alternatives": [], "constraints": [], "continuity": None}


def stage_result(stage: dict, tracks: list, stop_reason: str | None, rules: list, notes: list, alternatives: list,
                 arr: ItemArrays) -> dict:
    """A stage's answer: its tracks, the first as `item` (the one-item form old clients read),
    a summary of the sequence, the goal's limits, the continuity bounds relaxed and alternatives."""
    if not tracks:
        out = empty_stage(stage, stop_reason or "the session was already filled")
        out["constraints"] = rules
        return out
    # the stage ran out of music that continues the sequence before its time was filled
    status, reason = ("ok", None) if stop_reason is None else ("partial", stop_reason)
    continuity = "ok" if not notes else "relaxed: " + ", ".join(notes)
    return {"stage": stage["name"], "status": status, "reason": reason, "item": _item_of(tracks[0], arr),
            "score": {"total": tracks[0]["score"]}, "tracks": tracks, "sequence": _sequence_summary(tracks, arr),
            "constraints": rules, "continuity": continuity,
            "alternatives": [{"id": str(arr.ids[r]), "title": str(arr.titles[r]), "score": {"total": round(sc, 4)}}
                             for r, sc in alternatives]}


def _item_of(t: dict, arr: ItemArrays) -> dict:
    """A track in the one-item form old clients read."""
    row = arr.row_of[t["item_id"]]
    return {"id": t["item_id"], "title": t["title"], "media_type": t["media_type"], "media_path": t["media_path"],
            "poster_path": t["poster_path"], "timbre": t.get("timbre"),
            "sound": str(arr.sound[row]) if isinstance(arr.sound[row], str) else None,
            "start_s": t["start_s"], "duration_s": t["duration_s"],
            "item_duration_s": t["item_duration_s"], "measured": {
                "tempo_bpm": rounded(arr.tempo[row]), "mode_major": rounded(arr.mode[row]),
                "key": str(arr.key[row]),
                "loudness_lufs": rounded(arr.loudness[row]), "density_onsets_per_s": rounded(arr.density[row]),
                "register_midi": rounded(arr.register[row]), "brightness_hz": rounded(arr.brightness[row]),
                "valence": rounded(arr.valence[row]), "arousal": rounded(arr.arousal[row])}}


def _sequence_summary(tracks: list, arr: ItemArrays) -> dict:
    filled = sum(t["duration_s"] for t in tracks) - sum(t["fade_in_s"] for t in tracks[1:])
    felt = [t["felt_tempo_bpm"] for t in tracks if t["felt_tempo_bpm"] is not None]
    third = max((len(felt) + 2) // 3, 1)
    rows = [arr.row_of[t["item_id"]] for t in tracks]
    sounds = sorted({str(arr.sound[r]) if isinstance(arr.sound[r], str) else
                     SOUNDS.get(str(arr.source[r]), "other recordings") for r in rows})
    matched = [t.get("timbre_match") for t in tracks]
    return {"tracks": len(tracks), "minutes": round(filled / 60, 2), "sounds": sounds,
            # how many tracks sound in one of the stage's timbres, and which
            "timbres_matched": {tag: matched.count(tag) for tag in sorted({m for m in matched if m})},
            # where the felt tempo starts and ends: medians of the first and last thirds (one piece's
            # tempo estimate is noisy; a sequence's drift is not)
            # (statistics.median: the same value as numpy's on a few floats, at a tenth of the cost)
            "felt_tempo_bpm": [round(median(felt[:third]), 2), round(median(felt[-third:]), 2)] if felt else None,
            "tempo_range_bpm": [min(felt), max(felt)] if felt else None,
            "arousal": [tracks[0]["measured"]["arousal"], tracks[-1]["measured"]["arousal"]],
            "keys": sorted({t["measured"]["key"] for t in tracks})}


def session_timeline(results: list[dict], state: SessionState, requested: float, tol: float, crossfades: list,
                     seed: int, s: SequenceSettings) -> dict:
    """The session's timeline: what was asked and filled, the cross-fades, the seed that reproduces
    it, and why it is short when it is. Fades the session's last track out."""
    all_tracks = [t for r in results for t in r["tracks"]]
    if all_tracks:
        all_tracks[-1]["fade_out_s"] = round(min(s.last_fade_out_s, 0.5 * all_tracks[-1]["duration_s"]), 3)
    filled = state.cursor
    timeline = {"requested_s": round(requested, 3), "filled_s": round(filled, 3), "tracks": len(all_tracks),
                "crossfades": crossfades, "seed": seed}
    if filled < requested - tol:
        reasons = [r["reason"] for r in results if r.get("reason")]
        timeline["short_by_s"] = round(requested - filled, 3)
        timeline["reason"] = reasons[0] if reasons else "the catalogue holds too little music for this length"
    return timeline
