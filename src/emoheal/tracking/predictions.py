"""The evaluation's test predictions as a run artifact: what lets `emoheal promote` compare two
registered versions row by row (a paired bootstrap) instead of by their point estimates. Labels
and 0/1 predictions only, bit-packed (5,427 x 28 is ~40 kB); never any text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ARTIFACT_DIR = "evaluation"
FILE_NAME = "test_predictions.npz"


class PredictionsError(ValueError):
    """A predictions file that is not one this module wrote."""


@dataclass(frozen=True)
class TestPredictions:
    __test__ = False  # not a pytest test class, whatever its name

    y: np.ndarray  # rows x labels, 0/1
    pred: np.ndarray  # rows x labels, 0/1
    labels: list[str]
    data_hash: str

    def same_rows_as(self, other: TestPredictions) -> bool:
        return (self.data_hash == other.data_hash and self.labels == other.labels
                and self.y.shape == other.y.shape and bool((self.y == other.y).all()))


def write_predictions(path: str | Path, preds: TestPredictions) -> Path:
    if preds.y.shape != preds.pred.shape or preds.y.shape[1] != len(preds.labels):
        raise PredictionsError(f"labels {preds.y.shape}, predictions {preds.pred.shape} and "
                               f"{len(preds.labels)} label names do not agree")
    path = Path(path)
    np.savez_compressed(
        path, y=np.packbits(preds.y.astype(bool), axis=1), pred=np.packbits(preds.pred.astype(bool), axis=1),
        shape=np.asarray(preds.y.shape), meta=np.asarray(json.dumps({"labels": preds.labels,
                                                                     "data_hash": preds.data_hash})),
    )
    return path


def read_predictions(path: str | Path) -> TestPredictions:
    try:
        with np.load(path, allow_pickle=False) as data:
            rows, cols = (int(v) for v in data["shape"])
            meta = json.loads(str(data["meta"]))
            y = np.unpackbits(data["y"], axis=1, count=cols)
            pred = np.unpackbits(data["pred"], axis=1, count=cols)
    except (OSError, KeyError, ValueError) as exc:
        raise PredictionsError(f"{path}: not a test-predictions file ({exc})") from exc
    if y.shape != (rows, cols):
        raise PredictionsError(f"{path}: {y.shape} rows x labels, the file says {(rows, cols)}")
    return TestPredictions(y, pred, list(meta["labels"]), str(meta["data_hash"]))
