"""How the model's logits become probabilities, fitted on dev.

Two methods: `temperature` (one scalar T for every label: sigmoid(z / T)) and `per_label` (Platt
scaling, a scale and a bias per label: sigmoid(a_j * z + b_j)). A loss that treats negatives
asymmetrically (ASL clips easy negatives) leaves every label's logits shifted by its own offset,
which one temperature cannot undo; per-label scaling can. Both are monotone per label, so the
per-label thresholds are searched on one scale for both (the temperature-scaled probabilities, on
the stage's grid) and then expressed on the calibrated one: the same decisions, truer probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emoheal.emotion.thresholds import tune_thresholds

METHODS = ("temperature", "per_label")


def fit_temperature(logits: np.ndarray, y_true: np.ndarray, max_iter: int = 200) -> float:
    """The T > 0 that minimises binary cross-entropy of sigmoid(logits / T) on these rows."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(y_true, dtype=torch.float64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # optimise log T so T stays positive
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp().item())


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / temperature))


def fit_per_label(logits: np.ndarray, y_true: np.ndarray, max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the scale a > 0 and bias b minimising binary cross-entropy of sigmoid(a * z + b)."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(y_true, dtype=torch.float64)
    log_a = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)  # a = exp(log_a) stays positive
    b = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_a, b], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z * log_a.exp() + b, y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return log_a.exp().detach().numpy(), b.detach().numpy()


@dataclass(frozen=True)
class Calibrator:
    """sigmoid(scale * logits + bias), per label; `temperature` is T when the method is one temperature."""

    method: str
    scale: np.ndarray
    bias: np.ndarray
    temperature: float | None = None

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        if self.temperature is not None:  # bit-for-bit what apply_temperature gives
            return apply_temperature(logits, self.temperature)
        z = np.asarray(logits, dtype=np.float64) * self.scale + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self, names: list[str]) -> dict[str, Any]:
        if self.temperature is not None:
            return {"method": self.method, "temperature": self.temperature}
        return {"method": self.method, "scale": dict(zip(names, map(float, self.scale))),
                "bias": dict(zip(names, map(float, self.bias)))}


def temperature_calibrator(temperature: float, labels: int) -> Calibrator:
    return Calibrator("temperature", np.full(labels, 1.0 / temperature), np.zeros(labels), float(temperature))


def fit_calibrator(logits: np.ndarray, y_true: np.ndarray, method: str = "temperature") -> Calibrator:
    if method == "temperature":
        return temperature_calibrator(fit_temperature(logits, y_true), logits.shape[1])
    if method == "per_label":
        scale, bias = fit_per_label(logits, y_true)
        return Calibrator(method, scale, bias)
    raise ValueError(f"unknown calibration method {method!r}: one of {', '.join(METHODS)}")


def calibrator_from_json(calibration: dict[str, Any], names: list[str]) -> Calibrator:
    """The calibrator a calibration.json / int8_tuning.json describes (files without `method`: temperature)."""
    if calibration.get("method", "temperature") == "temperature":
        return temperature_calibrator(float(calibration["temperature"]), len(names))
    missing = [n for n in names if n not in calibration.get("scale", {}) or n not in calibration.get("bias", {})]
    if missing:
        raise KeyError(f"per-label calibration lacks {', '.join(missing[:4])}")
    return Calibrator("per_label", np.array([calibration["scale"][n] for n in names]),
                      np.array([calibration["bias"][n] for n in names]))


def calibrate_and_tune(logits: np.ndarray, y_true: np.ndarray, grid: np.ndarray, default: float = 0.5,
                       method: str = "temperature") -> tuple[Calibrator, np.ndarray, np.ndarray]:
    """(calibrator, per-label thresholds on its probabilities, each label's best F1), fitted on these rows.

    The thresholds are searched on the temperature-scaled probabilities whatever the method (so the
    decisions do not depend on it), then mapped through the calibrator: a cut t on sigmoid(z / T) is
    the cut sigmoid(a * T * logit(t) + b) on sigmoid(a * z + b).
    """
    temperature = temperature_calibrator(fit_temperature(logits, y_true), logits.shape[1])
    thresholds, best_f1 = tune_thresholds(temperature(logits), y_true, grid, default)
    if method == "temperature":
        return temperature, thresholds, best_f1
    calibrator = fit_calibrator(logits, y_true, method)
    cut_logits = temperature.temperature * np.log(thresholds / (1.0 - thresholds))
    mapped = 1.0 / (1.0 + np.exp(-(calibrator.scale * cut_logits + calibrator.bias)))
    return calibrator, mapped, best_f1
