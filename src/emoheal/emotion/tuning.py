"""The thresholds stage: the lexical part's mixing weight, calibration (temperature or per-label
scaling) and per-label thresholds, all fitted on dev."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emoheal.data.prepared import read_prepared
from emoheal.emotion.calibration import apply_temperature, calibrate_and_tune
from emoheal.emotion.devscore import choose_lexical_weight
from emoheal.emotion.metrics import expected_calibration_error, f1_summary
from emoheal.emotion.predictor import EmotionPredictor, mix_logits
from emoheal.emotion.thresholds import threshold_grid
from emoheal.utils.io import write_json


def tune_on_dev(params: dict[str, Any]) -> dict[str, Any]:
    """Write thresholds.json and calibration.json next to the model; return dev figures."""
    root = Path(params["paths"]["model"])
    predictor = EmotionPredictor(root / "model")
    names = predictor.labels
    dev = read_prepared(params["paths"]["prepared"], "dev")
    y = dev[names].to_numpy(dtype=np.uint8)
    texts = dev["text"].tolist()
    encoder, _ = predictor.encoder_logits(texts)
    lexical = predictor.lexical.decision_function(texts) if predictor.lexical is not None else None
    grid = threshold_grid(params["thresholds"])
    weight, weight_scores = choose_lexical_weight(encoder, lexical, y, grid, params["calibration"]["lexical_weights"])
    logits = encoder if lexical is None else mix_logits(encoder, lexical, weight)

    bins = params["calibration"]["ece_bins"]
    raw_probs = apply_temperature(logits, 1.0)
    calibrator, thresholds, best_f1 = calibrate_and_tune(logits, y, grid, params["thresholds"]["default"],
                                                         params["calibration"]["method"])
    probs = calibrator(logits)

    calibration = {
        **calibrator.to_json(names),
        "fitted_on": "dev",
        "dev_ece_before": expected_calibration_error(raw_probs, y, bins),
        "dev_ece_after": expected_calibration_error(probs, y, bins),
        "ece_bins": bins,
        # the lexical part's share of the logits, chosen by cross-fitted dev macro-F1 (each weight's score)
        "lexical_weight": weight,
        "lexical_weight_dev_macro_f1": weight_scores,
        "model_version": predictor.version,
    }
    write_json(root / "calibration.json", calibration)
    write_json(root / "thresholds.json", {
        "tuned_on": "dev",
        "model_version": predictor.version,
        "applies_to": "calibrated probabilities",
        "thresholds": {name: float(t) for name, t in zip(names, thresholds)},
        "dev_f1": {name: float(f) for name, f in zip(names, best_f1)},
    })
    dev_tuned = f1_summary(y, (probs >= thresholds).astype(np.uint8))
    return {"calibration": calibration, "dev": {f"{k}_tuned": v for k, v in dev_tuned.items()}}
