import numpy as np
import pytest

from emoheal.emotion.calibration import (
    apply_temperature,
    calibrate_and_tune,
    calibrator_from_json,
    fit_calibrator,
    fit_temperature,
)
from emoheal.emotion.metrics import expected_calibration_error, group_f1
from emoheal.emotion.thresholds import threshold_grid, tune_thresholds

GRID = threshold_grid({"grid_min": 0.05, "grid_max": 0.95, "grid_step": 0.05})


def test_threshold_separating_the_classes_is_found():
    probs = np.array([[0.1], [0.2], [0.35], [0.4], [0.8]])
    y = np.array([[0], [0], [1], [1], [1]])
    thresholds, f1 = tune_thresholds(probs, y, GRID)
    assert 0.2 < thresholds[0] <= 0.35 and f1[0] == pytest.approx(1.0)


def test_label_without_positives_keeps_the_default():
    probs = np.random.default_rng(0).random((50, 2))
    y = np.zeros((50, 2), dtype=np.uint8)
    y[:10, 0] = 1
    thresholds, f1 = tune_thresholds(probs, y, GRID, default=0.5)
    assert thresholds[1] == 0.5 and f1[1] == 0.0


def test_temperature_recovers_how_overconfident_logits_are():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(20000, 3))
    y = (rng.random(true_logits.shape) < 1 / (1 + np.exp(-true_logits))).astype(np.uint8)
    overconfident = true_logits * 2.5
    t = fit_temperature(overconfident, y)
    assert t == pytest.approx(2.5, rel=0.05)
    before = expected_calibration_error(apply_temperature(overconfident, 1.0), y)
    after = expected_calibration_error(apply_temperature(overconfident, t), y)
    assert after < before / 3


def test_ece_is_zero_for_exact_frequencies_and_large_for_wrong_ones():
    y = np.array([[1], [0], [1], [0]])
    assert expected_calibration_error(np.full((4, 1), 0.5), y) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([[0.0], [1.0], [0.0], [1.0]]), y) == pytest.approx(1.0)


def test_group_f1_collapses_members():
    names = ["joy", "amusement", "anger"]
    groups = {"happy": ["joy", "amusement"], "angry": ["anger"]}
    y_true = np.array([[1, 0, 0], [0, 0, 1]])
    y_pred = np.array([[0, 1, 0], [0, 0, 1]])  # a different member of the right group
    result = group_f1(y_true, y_pred, names, groups)
    assert result["macro_f1"] == pytest.approx(1.0)
    assert result["per_group_f1"] == {"happy": 1.0, "angry": 1.0}


def _shifted_logits(seed: int = 0):
    """Logits whose labels are each off by their own offset (what ASL's clipped negatives leave)."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(-2, 2, size=(20000, 3))
    y = (rng.random(true_logits.shape) < 1 / (1 + np.exp(-true_logits))).astype(np.uint8)
    return true_logits * np.array([0.5, 1.0, 2.0]) + np.array([3.0, 1.5, -1.0]), y


def test_per_label_scaling_undoes_label_offsets_that_one_temperature_cannot():
    logits, y = _shifted_logits()
    temperature = expected_calibration_error(fit_calibrator(logits, y, "temperature")(logits), y)
    per_label = fit_calibrator(logits, y, "per_label")
    assert expected_calibration_error(per_label(logits), y) < 0.01 < temperature / 3
    assert per_label.scale == pytest.approx([2.0, 1.0, 0.5], rel=0.1) and per_label.temperature is None


def test_thresholds_make_the_same_decisions_whichever_calibration():
    logits, y = _shifted_logits(1)
    decisions = {}
    for method in ("temperature", "per_label"):
        calibrator, thresholds, best_f1 = calibrate_and_tune(logits, y, GRID, 0.5, method)
        decisions[method] = calibrator(logits) >= thresholds
        assert best_f1.min() > 0.3
    assert (decisions["temperature"] != decisions["per_label"]).sum() == 0
    assert decisions["per_label"].any() and not decisions["per_label"].all()


def test_a_calibration_file_gives_back_the_same_probabilities():
    logits, y = _shifted_logits(2)
    names = ["a", "b", "c"]
    for method in ("temperature", "per_label"):
        fitted = fit_calibrator(logits, y, method)
        loaded = calibrator_from_json(fitted.to_json(names), names)
        assert np.array_equal(loaded(logits), fitted(logits)) and loaded.method == method
    assert calibrator_from_json({"temperature": 2.0}, names).temperature == 2.0  # files before `method`
    with pytest.raises(KeyError, match="c"):
        calibrator_from_json({"method": "per_label", "scale": {"a": 1, "b": 1}, "bias": {"a": 0, "b": 0}}, names)
    with pytest.raises(ValueError, match="unknown calibration method"):
        fit_calibrator(logits, y, "isotonic")
