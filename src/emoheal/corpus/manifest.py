"""The corpus manifest: one row per playable item, rendered or ingested, in one parquet schema.

Paths are relative to the project root so a manifest travels with the repository (and
into a Bento); `content_sha256` hashes the decoded audio file, which later caches key on.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("id", pa.string()),             # unique, URL-safe: EMOPIA clip id (+ ".<timbre>"), "composed_..." or "user_..."
    ("title", pa.string()),
    ("media_type", pa.string()),     # audio | video
    ("audio_path", pa.string()),     # the FLAC every stage reads (for a video: its audio track)
    ("media_path", pa.string()),     # what a player shows: the FLAC, or the original video
    ("poster_path", pa.string()),    # a video's poster frame (null for audio)
    ("duration_s", pa.float64()),
    ("sample_rate", pa.int32()),
    ("content_sha256", pa.string()),
    ("source", pa.string()),         # emopia | composed | user
    ("licence", pa.string()),
    ("song_id", pa.string()),        # EMOPIA's song (null for user media)
    ("quadrant", pa.int8()),         # EMOPIA's Russell quadrant 1-4 of the piano performance (null when unlabelled)
    ("split", pa.string()),          # train | val | test | unassigned | user
    ("midi_path", pa.string()),      # the score a rendered clip came from (ground truth), else null
    ("loudness_before_lufs", pa.float64()),
    ("gain_db", pa.float64()),
    ("timbre", pa.string()),         # the timbre tags it sounds in ("+"-joined; corpus/timbres.py), null: unknown
    ("source_id", pa.string()),      # the piece it is a rendering of (renders of one MIDI share it)
    ("composition", pa.string()),    # a composed piece's parameters (JSON), else null
])
COLUMNS = SCHEMA.names


class ManifestError(ValueError):
    """A manifest that does not follow the schema."""


def to_table(frame: pd.DataFrame) -> pa.Table:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(f"manifest lacks columns: {', '.join(missing)}")
    if frame["id"].duplicated().any():
        dupes = frame.loc[frame["id"].duplicated(), "id"].tolist()[:5]
        raise ManifestError(f"duplicate ids in the manifest: {dupes}")
    return pa.Table.from_pandas(frame[COLUMNS], schema=SCHEMA, preserve_index=False)


def write_manifest(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(to_table(frame), tmp)
    tmp.replace(path)


def read_manifest(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: build the corpus first (`dvc repro render_corpus`)")
    table = pq.read_table(path)
    if table.schema.names != COLUMNS:
        raise ManifestError(f"{path} does not follow the manifest schema (columns {table.schema.names})")
    return table.to_pandas()
