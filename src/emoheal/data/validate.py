"""Cross-split checks on GoEmotions: coverage, disjoint ids, duplicated texts."""

from __future__ import annotations

from itertools import combinations

from emoheal.data.goemotions import NUM_LABELS, DataValidationError, RawSplit


def validate_splits(splits: dict[str, RawSplit], label_names: list[str]) -> dict:
    """Raise on hard errors; return what is worth reporting but not fatal."""
    for split in splits.values():
        duplicated = split.frame["id"][split.frame["id"].duplicated()]
        if len(duplicated):
            raise DataValidationError(
                f"{split.path}: column 'id' repeats {len(duplicated)} ids, e.g. {duplicated.iloc[0]!r}"
            )
        present = {label for row in split.frame["labels"] for label in row}
        missing = sorted(set(range(NUM_LABELS)) - present)
        if missing:
            raise DataValidationError(
                f"{split.path}: labels never present: {[label_names[i] for i in missing]}"
            )
    for a, b in combinations(splits.values(), 2):
        shared = set(a.frame["id"]) & set(b.frame["id"])
        if shared:
            raise DataValidationError(
                f"{a.path} and {b.path} share {len(shared)} comment ids, e.g. {sorted(shared)[0]!r}"
            )
    # Identical texts across splits are legal (Reddit repeats itself) but leak
    # a little between train and test, so they are counted in the report.
    cross_duplicates = {}
    for a, b in combinations(splits.values(), 2):
        shared_texts = set(a.frame["text"]) & set(b.frame["text"])
        cross_duplicates[f"{a.name}-{b.name}"] = len(shared_texts)
    return {"texts_duplicated_across_splits": cross_duplicates}
