"""The GoEmotions dataset: its 28 labels, group mappings and official splits."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SPLITS = ("train", "dev", "test")
NUM_LABELS = 28


class DataValidationError(ValueError):
    """The raw data breaks an assumption; the message names file, row and field."""


def read_label_names(folder: str | Path) -> list[str]:
    path = Path(folder) / "emotions.txt"
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != NUM_LABELS or len(set(names)) != NUM_LABELS:
        raise DataValidationError(f"{path}: expected {NUM_LABELS} distinct label names, got {len(names)}")
    return names


def read_groups(folder: str | Path, label_names: list[str]) -> dict[str, dict[str, list[str]]]:
    """Ekman and sentiment groupings; neutral becomes its own group in each."""
    folder = Path(folder)
    groups = {}
    for kind, filename in (("ekman", "ekman_mapping.json"), ("sentiment", "sentiment_dict.json")):
        path = folder / filename
        mapping = json.loads(path.read_text(encoding="utf-8"))
        for group, members in mapping.items():
            unknown = set(members) - set(label_names)
            if unknown:
                raise DataValidationError(f"{path}: group {group!r} names unknown labels {sorted(unknown)}")
        mapping = {group: list(members) for group, members in mapping.items()}
        mapping.setdefault("neutral", ["neutral"])
        groups[kind] = mapping
    return groups


@dataclass(frozen=True)
class RawSplit:
    name: str
    path: Path
    frame: pd.DataFrame  # columns: id, text, labels (tuple of ints)


def read_split(folder: str | Path, split: str) -> RawSplit:
    """Parse one official TSV (text, label ids, comment id), validating each row."""
    path = Path(folder) / f"{split}.tsv"
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found")
    ids, texts, labels = [], [], []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row_no, row in enumerate(reader, start=1):
            if len(row) != 3:
                raise DataValidationError(f"{path}:{row_no}: expected 3 tab-separated fields, got {len(row)}")
            text, label_field, comment_id = row
            try:
                row_labels = tuple(sorted({int(x) for x in label_field.split(",")}))
            except ValueError:
                raise DataValidationError(
                    f"{path}:{row_no}: column 'labels' is not a comma-separated list of ints: {label_field!r}"
                ) from None
            if not row_labels or any(not 0 <= x < NUM_LABELS for x in row_labels):
                raise DataValidationError(
                    f"{path}:{row_no}: column 'labels' has ids outside 0..{NUM_LABELS - 1}: {label_field!r}"
                )
            if not text.strip():
                raise DataValidationError(f"{path}:{row_no}: column 'text' is empty")
            ids.append(comment_id)
            texts.append(text)
            labels.append(row_labels)
    frame = pd.DataFrame({"id": ids, "text": texts, "labels": labels})
    return RawSplit(split, path, frame)


def multi_hot(labels: list[tuple[int, ...]] | pd.Series, num_labels: int = NUM_LABELS) -> np.ndarray:
    out = np.zeros((len(labels), num_labels), dtype=np.uint8)
    for row, row_labels in enumerate(labels):
        out[row, list(row_labels)] = 1
    return out
