"""The error_analysis stage: the trained model on dev, analysed and written as HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emoheal.data.prepared import read_prepared
from emoheal.emotion.error_analysis import analyse
from emoheal.emotion.error_report import render, write_report
from emoheal.emotion.predictor import EmotionPredictor


def error_analysis(params: dict[str, Any]) -> tuple[Path, dict[str, int]]:
    """(the report's path, failure counts by kind)."""
    paths = params["paths"]
    predictor = EmotionPredictor(paths["model"])
    if not predictor.calibrated:
        raise FileNotFoundError(f"{paths['model']} has no thresholds.json/calibration.json: run the thresholds "
                                "stage first")
    dev = read_prepared(paths["prepared"], "dev")
    texts = dev["text"].tolist()
    y = dev[predictor.labels].to_numpy(dtype=np.uint8)
    probs = predictor.probabilities(predictor.logits(texts)[0])
    analysis = analyse(y, probs, predictor.thresholds, predictor.labels)
    html = render(analysis, texts, y, probs, predictor.thresholds, predictor.version)
    path = write_report(Path(paths["plots"]) / "error_analysis.html", html)
    return path, {f.name: f.rows for f in analysis.failures}
