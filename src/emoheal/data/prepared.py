"""Reading the prepared GoEmotions tables written by the prepare stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emoheal.utils.io import read_json


def read_prepared(folder: str | Path, split: str) -> pd.DataFrame:
    path = Path(folder) / f"{split}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the prepare stage first (`dvc repro prepare`)")
    return pd.read_parquet(path)


def read_manifest(folder: str | Path) -> dict:
    """Label names, group mappings and the data hash recorded by prepare."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the prepare stage first (`dvc repro prepare`)")
    return read_json(path)
