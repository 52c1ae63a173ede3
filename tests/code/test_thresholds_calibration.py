import numpy as np
import pytest

from emoheal.emotion.calibration import apply_temperature, fit_temperature
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
