"""Describe every item of a manifest, in parallel, into two tables: one row per item and one
row per 5-second window."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from emoheal.corpus.audio import AudioError, read_mono
from emoheal.corpus.describe import VERSION, DescribeSettings, describe

log = logging.getLogger(__name__)


def _describe_item(args: tuple[str, str, DescribeSettings]) -> tuple[str, dict | None, list, str | None]:
    import torch

    torch.set_num_threads(1)  # one process per core already
    item_id, path, settings = args
    try:
        samples, rate = read_mono(path)
        clip, windows = describe(samples, rate, settings)
    except (AudioError, FileNotFoundError) as exc:
        return item_id, None, [], str(exc)
    return item_id, clip, windows, None


def describe_manifest(manifest: pd.DataFrame, settings: DescribeSettings = DescribeSettings(),
                      workers: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(per-item descriptors, per-window descriptors, report). An item that cannot be described
    is listed in the report with the reason, never silently dropped."""
    workers = workers or os.cpu_count() or 1
    jobs = [(r.id, r.audio_path, settings) for r in manifest.itertuples()]
    started = time.perf_counter()
    if workers == 1:
        results = list(map(_describe_item, jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_describe_item, jobs, chunksize=4))
    seconds = time.perf_counter() - started
    items, windows, failed = [], [], []
    for item_id, clip, item_windows, error in results:
        if error:
            failed.append({"id": item_id, "reason": error})
            continue
        items.append({"id": item_id, **clip})
        windows += [{"id": item_id, **w} for w in item_windows]
    audio_s = float(manifest["duration_s"].sum())
    # no timings in the report: the stage's outputs stay byte-reproducible (speed is in benchmarks/)
    report = {"version": VERSION, "items": len(items), "windows": len(windows), "failed": failed}
    log.info("described %d items (%d windows) in %.0f s, %.0fx real time with %d workers", len(items),
             len(windows), seconds, audio_s / max(seconds, 1e-9), workers)
    return pd.DataFrame(items), pd.DataFrame(windows), report


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def read_descriptors(folder: str | Path) -> pd.DataFrame:
    path = Path(folder) / "descriptors.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `dvc repro describe_corpus` first")
    return pd.read_parquet(path)
