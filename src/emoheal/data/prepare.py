"""The prepare stage: verify, parse, validate and write multi-hot tables + a data report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoheal.data.checksums import verify_folder
from emoheal.data.goemotions import SPLITS, multi_hot, read_groups, read_label_names, read_split
from emoheal.data.validate import validate_splits
from emoheal.utils.hashing import sha256_files, sha256_json
from emoheal.utils.io import write_json


def subsample(frame: pd.DataFrame, n: int | None, seed: int, num_labels: int) -> pd.DataFrame:
    """At most n rows, seeded, keeping at least one row of every label."""
    if n is None or n >= len(frame):
        return frame
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    chosen: list[int] = []
    seen: set[int] = set()
    for i in order:  # first pass: one row for each label not yet covered
        labels = set(frame["labels"].iloc[i])
        if labels - seen:
            chosen.append(i)
            seen |= labels
        if len(seen) == num_labels:
            break
    taken = set(chosen)
    chosen.extend(i for i in order if i not in taken)
    return frame.iloc[sorted(chosen[:n])].reset_index(drop=True)


def length_stats(texts: pd.Series) -> dict[str, float]:
    chars = texts.str.len()
    words = texts.str.split().str.len()
    return {
        "chars_mean": round(float(chars.mean()), 2),
        "chars_median": float(chars.median()),
        "chars_p95": float(chars.quantile(0.95)),
        "chars_max": int(chars.max()),
        "words_mean": round(float(words.mean()), 2),
        "words_p95": float(words.quantile(0.95)),
        "words_max": int(words.max()),
    }


def prepare_goemotions(raw: str | Path, out: str | Path, limits: dict[str, int | None], seed: int) -> dict[str, Any]:
    """Write {split}.parquet and manifest.json to `out`; return the data report."""
    raw, out = Path(raw), Path(out)
    sums = verify_folder(raw)
    names = read_label_names(raw)
    groups = read_groups(raw, names)
    splits = {name: read_split(raw, name) for name in SPLITS}
    findings = validate_splits(splits, names)

    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"raw_sha256": sha256_json(sums), "splits": {}, **findings}
    written = []
    for name, split in splits.items():
        frame = subsample(split.frame, limits.get(name), seed, len(names))
        hot = multi_hot(frame["labels"], len(names))
        table = pd.DataFrame({"id": frame["id"], "text": frame["text"], "n_labels": hot.sum(1).astype(np.int16)})
        table = pd.concat([table, pd.DataFrame(hot, columns=names)], axis=1)
        path = out / f"{name}.parquet"
        table.to_parquet(path, index=False)
        written.append(path)
        report["splits"][name] = {
            "rows": len(table),
            "rows_in_official_split": len(split.frame),
            "multi_label_share": round(float((table["n_labels"] > 1).mean()), 4),
            "label_counts": {label: int(hot[:, j].sum()) for j, label in enumerate(names)},
            "text_length": length_stats(table["text"]),
        }
    data_hash = sha256_files(written, out)
    report["data_hash"] = data_hash
    write_json(out / "manifest.json", {"labels": names, "groups": groups, "data_hash": data_hash,
                                       "raw_sha256": report["raw_sha256"]})
    return report
