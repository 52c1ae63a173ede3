"""What a tracked run was made from, beyond the git commit: the content hashes DVC recorded.

Under `dvc repro` / `dvc exp run`, DVC writes each finished stage into dvc.lock before the next
starts, so when the evaluate stage runs, the lock holds the md5 of the raw data, the prepared
splits and the trained model it is evaluating. A run started outside DVC gets what the lock last
recorded; the prepared data's own content hash (`data_hash`) is tagged beside it either way.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def dvc_hashes(paths: list[str], lock: str | Path = "dvc.lock") -> dict[str, str]:
    """`{"dvc.<path>": md5}` for each path that dvc.lock knows (a stage output first, else a dependency)."""
    lock = Path(lock)
    if not lock.is_file():
        return {}
    stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {})
    recorded: dict[str, str] = {}
    for kind in ("deps", "outs"):  # outputs last: they win over a later stage's copy of the dependency
        for stage in stages.values():
            for entry in stage.get(kind, []):
                if "md5" in entry:
                    recorded[entry["path"]] = entry["md5"]
    return {f"dvc.{path}": recorded[path] for path in paths if path in recorded}
