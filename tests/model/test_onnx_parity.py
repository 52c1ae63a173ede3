"""ONNX export of the trained model keeps its test macro-F1. Slow: it needs `make run` to have produced
models/emotion and the prepared splits, runs the int8 graph over dev (its own temperature and thresholds,
fitted as the thresholds stage fits eager's) and scores the test split three times; `make test-all` runs it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow
MODEL = ROOT / "models" / "emotion"
PREPARED = ROOT / "data" / "prepared" / "goemotions"
MAX_INT8_DROP = 0.005
MAX_FP32_DROP = 0.001


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if not (MODEL / "thresholds.json").is_file():
        pytest.fail("models/emotion is not trained: run `make run` first")
    from emoheal.data.prepared import read_prepared
    from emoheal.emotion.onnx_export import export_onnx, parity

    onnx_dir = tmp_path_factory.mktemp("onnx")
    info = export_onnx(MODEL, onnx_dir)
    dev, test = read_prepared(PREPARED, "dev"), read_prepared(PREPARED, "test")
    labels = info["labels"]
    return parity(MODEL, onnx_dir, test["text"].tolist(), test[labels].to_numpy(np.uint8),
                  dev_texts=dev["text"].tolist(), dev_targets=dev[labels].to_numpy(np.uint8))


def test_onnx_keeps_test_macro_f1(report):
    from emoheal.emotion.onnx_export import choose_runtime

    f1 = report["macro_f1"]
    assert report["max_abs_prob_diff"]["onnx"] < 1e-4, report
    assert report["thresholds"] == {"torch": "eager (dev)", "onnx": "eager (dev)", "onnx-int8": "own (dev)"}
    if f1["torch"] - f1["onnx-int8"] <= MAX_INT8_DROP:
        assert choose_runtime(report, MAX_INT8_DROP) == "onnx-int8"
    else:  # int8 costs too much even with its own thresholds: serving falls back to fp32 ONNX, which must match
        assert abs(f1["torch"] - f1["onnx"]) <= MAX_FP32_DROP, report
        assert choose_runtime(report, MAX_INT8_DROP) == "onnx"
