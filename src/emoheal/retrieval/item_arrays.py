"""The item table as numpy columns, made once per index (retrieval.index's `arrays`): the
sequencer reads an item's measures without going through pandas for every track."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from emoheal.retrieval.assemble import fifths_positions

EPS = 1e-6


@dataclass(frozen=True)
class ItemArrays:
    """The item table as numpy columns, made once per index: nothing goes through pandas per track."""
    ids: np.ndarray
    titles: np.ndarray
    media_type: np.ndarray
    media_path: np.ndarray
    poster_path: np.ndarray
    duration: np.ndarray
    tempo: np.ndarray
    mode: np.ndarray
    key: np.ndarray
    loudness: np.ndarray
    density: np.ndarray
    register: np.ndarray
    brightness: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    fifths: np.ndarray
    cuts: tuple  # per item, sorted cut points in seconds (empty when the index has none)
    log_tempo: np.ndarray  # log2, where ratios are what is heard
    log_density: np.ndarray
    source: np.ndarray  # emopia | composed | user
    sound: np.ndarray  # what it sounds like, in words (items.sound_of)
    timbre: np.ndarray  # the item's timbre tags as the index stores them ("+"-joined; None: unknown)
    source_id: np.ndarray  # the piece it renders: renders of one piece share it

    @classmethod
    def from_items(cls, items: pd.DataFrame) -> ItemArrays:
        def col(name, dtype=np.float64):
            return items[name].to_numpy(dtype=dtype)

        def optional(name):  # columns an index made before they existed lacks
            return col(name, object) if name in items else np.full(len(items), None, dtype=object)

        cuts = tuple(np.asarray(c, dtype=np.float64) if c is not None else np.zeros(0)
                     for c in items["cut_points_s"]) if "cut_points_s" in items else \
            tuple(np.zeros(0) for _ in range(len(items)))
        return cls(ids=col("id", object), titles=col("title", object), media_type=col("media_type", object),
                   media_path=col("media_path", object), poster_path=col("poster_path", object),
                   duration=col("duration_s"), tempo=col("tempo_bpm"), mode=col("mode_major"),
                   key=col("key", object), loudness=col("loudness_lufs"), density=col("density_onsets_per_s"),
                   register=col("register_midi"), brightness=col("brightness_hz"), valence=col("valence"),
                   arousal=col("arousal"),
                   fifths=fifths_positions(items["key"]) if len(items) else np.zeros(0, np.int64), cuts=cuts,
                   log_tempo=np.log2(np.maximum(col("tempo_bpm"), EPS)),
                   log_density=np.log2(np.maximum(col("density_onsets_per_s"), EPS)),
                   source=optional("source"), sound=optional("sound"), timbre=optional("timbre"),
                   source_id=col("source_id", object) if "source_id" in items else col("id", object))

    def __len__(self) -> int:
        return len(self.ids)

    def measured(self, row: int) -> dict:
        """A track's measured values (made once per item)."""
        cache = self.__dict__.setdefault("_measured", {})
        if row not in cache:
            cache[row] = {"tempo_bpm": rounded(self.tempo[row]), "key": str(self.key[row]),
                          "loudness_lufs": rounded(self.loudness[row]), "arousal": rounded(self.arousal[row]),
                          "valence": rounded(self.valence[row]), "mode_major": rounded(self.mode[row]),
                          "density_onsets_per_s": rounded(self.density[row])}
        return cache[row]

    @property
    def row_of(self) -> dict:
        """Item id -> row (made once per arrays)."""
        cached = self.__dict__.get("_row_of")
        if cached is None:
            cached = {item: i for i, item in enumerate(self.ids)}
            object.__setattr__(self, "_row_of", cached)
        return cached

    def siblings(self, row: int) -> np.ndarray:
        """Rows of the same piece as `row` (itself included): its renders in other timbres."""
        groups = self.__dict__.get("_groups")
        if groups is None:
            by_piece: dict = {}
            for i, piece in enumerate(self.source_id):
                by_piece.setdefault(piece, []).append(i)
            groups = {piece: np.array(rows, dtype=np.int64) for piece, rows in by_piece.items()}
            object.__setattr__(self, "_groups", groups)
        return groups[self.source_id[row]]

    def timbre_table(self) -> tuple[np.ndarray, list]:
        """(per item, the index of its timbre value; the distinct values): scoring works per value."""
        cached = self.__dict__.get("_timbre_table")
        if cached is None:
            values = list(dict.fromkeys(self.timbre.tolist()))
            code = {v: i for i, v in enumerate(values)}
            cached = (np.array([code[v] for v in self.timbre.tolist()], dtype=np.int64), values)
            object.__setattr__(self, "_timbre_table", cached)
        return cached

    def take(self, rows: np.ndarray) -> ItemArrays:
        """The arrays of a subset of items (e.g. FAISS candidates), in `rows` order."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return ItemArrays(**{k: tuple(v[i] for i in rows) if k == "cuts" else v[rows] for k, v in values.items()})


def rounded(x) -> float | None:
    x = float(x)
    return round(x, 4) if math.isfinite(x) else None
