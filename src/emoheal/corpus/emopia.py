"""EMOPIA's metadata: one row per clip with its song, quadrant and song-disjoint split."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from emoheal.data.checksums import verify_folder

SPLITS = ("train", "val", "test")
_NAME = re.compile(r"^Q([1-4])_(.+)_(\d+)$")
# Russell quadrants as EMOPIA defines them: (valence, arousal) signs
QUADRANT_VA = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}


class EmopiaError(RuntimeError):
    """The EMOPIA folder is missing, altered or inconsistent."""


def read_emopia(folder: str | Path, verify: bool = True) -> pd.DataFrame:
    """Columns: id, song_id, clip, quadrant (1-4), split, midi_path (absolute), annotator."""
    folder = Path(folder)
    if not (folder / "label.csv").is_file():
        raise EmopiaError(f"{folder} does not hold EMOPIA (no label.csv); see data/raw/emopia/PROVENANCE.md")
    if verify:
        verify_folder(folder)
    labels = pd.read_csv(folder / "label.csv", dtype={"ID": str, "4Q": int, "annotator": str})
    rows = []
    for clip_id, quadrant, annotator in labels[["ID", "4Q", "annotator"]].itertuples(index=False):
        match = _NAME.match(clip_id)
        if not match:
            raise EmopiaError(f"{folder / 'label.csv'}: clip id {clip_id!r} is not Q<quadrant>_<song>_<index>")
        if int(match.group(1)) != quadrant:
            raise EmopiaError(f"{folder / 'label.csv'}: {clip_id} is labelled Q{quadrant} but named Q{match.group(1)}")
        midi = folder / "midis" / f"{clip_id}.mid"
        if not midi.is_file():
            raise EmopiaError(f"{midi}: listed in label.csv but missing")
        rows.append({"id": clip_id, "song_id": match.group(2), "clip": int(match.group(3)), "quadrant": quadrant,
                     "midi_path": str(midi.resolve()), "annotator": annotator})
    frame = pd.DataFrame(rows)
    split_of: dict[str, str] = {}
    for split in SPLITS:
        names = pd.read_csv(folder / "split" / f"{split}_clip.csv")["clip_name"].str.removesuffix(".mid")
        for name in names:
            if name in split_of:
                raise EmopiaError(f"{name} is in both the {split_of[name]} and {split} splits")
            split_of[name] = split
    frame["split"] = frame["id"].map(split_of).fillna("unassigned")
    songs = frame.groupby("song_id")["split"].nunique()
    leaking = songs[songs > 1]
    if len(leaking):
        raise EmopiaError(f"songs in more than one split: {', '.join(leaking.index[:5])}")
    return frame.sort_values("id").reset_index(drop=True)


def subset(frame: pd.DataFrame, limit: int | None, seed: int) -> pd.DataFrame:
    """`limit` clips (all when None), stratified by split and quadrant, the same for the same seed."""
    if limit is None or limit >= len(frame):
        return frame
    ranked = frame.assign(_key=frame["id"].map(lambda i: hash_rank(i, seed))).sort_values("_key")
    share = limit / len(frame)
    parts = [group.head(max(1, round(share * len(group))))
             for _, group in ranked.groupby(["split", "quadrant"], sort=True)]
    chosen = pd.concat(parts).sort_values("_key").head(limit)
    return chosen.drop(columns="_key").sort_values("id").reset_index(drop=True)


def hash_rank(name: str, seed: int) -> str:
    """A stable pseudo-random rank (Python's hash() is salted per process)."""
    import hashlib

    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()
