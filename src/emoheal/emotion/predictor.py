"""EmotionPredictor: a trained model folder → probabilities and active labels for texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emoheal.emotion.artifacts import META_FILE, ModelFolderError, load_model_folder
from emoheal.emotion.calibration import Calibrator, calibrator_from_json, temperature_calibrator
from emoheal.emotion.lexical import load_lexical
from emoheal.utils.io import read_json

# The detector's own guard, for any caller (a batch of documents through `emoheal detect` or the
# library): longer input is refused, since the model reads only `max_length` tokens of it anyway.
# Not the session limit: what a person may write for a session is conf/serving `max_text_chars`
# (2,000), which the API, the CLI and the runner check before the detector sees the text.
DETECTOR_MAX_CHARS = 20_000


def mix_logits(encoder: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    return ((1.0 - weight) * encoder + weight * lexical).astype(np.float32)


class InvalidTextError(ValueError):
    """A text the predictor cannot take (empty, not a string, absurdly long)."""


@dataclass
class Prediction:
    probabilities: dict[str, float]
    labels: list[str]
    truncated: bool
    model_version: str
    tokens: int = field(default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "probabilities": self.probabilities,
            "truncated": self.truncated,
            "tokens": self.tokens,
            "model_version": self.model_version,
        }


def prediction_lines(predictions: list[Prediction], calibrated: bool) -> list[str]:
    """`emoheal detect` in a terminal: each text's labels and its three likeliest, then the model."""
    lines = []
    for i, p in enumerate(predictions, start=1):
        top = sorted(p.probabilities.items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{k} {v:.2f}" for k, v in top)
        note = " (truncated to the model's window)" if p.truncated else ""
        lines.append(f"[{i}] {', '.join(p.labels) or '(none above threshold)'}  — top: {shown}{note}")
    uncalibrated = "" if calibrated else " (uncalibrated: no thresholds.json)"
    lines.append(f"model {predictions[0].model_version}{uncalibrated}")
    return lines


def validate_texts(texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise InvalidTextError("texts must be a list of strings")
    if not texts:
        raise InvalidTextError("no text given")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidTextError(f"text {i} is {type(text).__name__}, not a string")
        if not text.strip():
            raise InvalidTextError(f"text {i} is empty or only whitespace")
        if len(text) > DETECTOR_MAX_CHARS:
            raise InvalidTextError(f"text {i} has {len(text)} characters; the limit is {DETECTOR_MAX_CHARS}")
    return list(texts)


class EmotionPredictor:
    """Loads `models/emotion` (model/, thresholds.json, calibration.json).

    A model with a lexical part (model/lexical.npz) answers with the mix
    (1 - w) * encoder logits + w * lexical logits, w chosen on dev (calibration.json
    `lexical_weight`). Without thresholds/calibration (a model straight from training)
    it uses the encoder alone, 0.5 and no temperature, and says so in `calibrated`.
    """

    def __init__(self, model_root: str | Path, device: str = "cpu", batch_size: int = 64):
        root = Path(model_root)
        if (root / META_FILE).is_file():  # given the model/ folder itself
            model_dir, root = root, root.parent
        else:
            model_dir = root / "model"
        self.classifier, self.tokenizer, self.meta = load_model_folder(model_dir, device)
        self.device = device
        self.batch_size = batch_size
        self.labels: list[str] = self.meta["labels"]
        self.max_length: int = self.meta["max_length"]
        self.lexical = load_lexical(model_dir) if self.meta.get("lexical") else None
        self._load_tuning(root)

    def _load_tuning(self, root: Path) -> None:
        """Thresholds and calibration tuned on dev for this model (0.5 and none when absent)."""
        thresholds = self._read_tuned(root / "thresholds.json")
        calibration = self._read_tuned(root / "calibration.json")
        self.thresholds = (
            np.array([thresholds["thresholds"][name] for name in self.labels])
            if thresholds else np.full(len(self.labels), 0.5)
        )
        try:
            self.calibrator: Calibrator = (calibrator_from_json(calibration, self.labels) if calibration
                                           else temperature_calibrator(1.0, len(self.labels)))
        except KeyError as err:
            raise ModelFolderError(f"{root / 'calibration.json'} is incomplete ({err.args[0]}): rerun the "
                                   "thresholds stage (`dvc repro thresholds`)") from None
        self.lexical_weight = float(calibration.get("lexical_weight", 0.0)) if calibration else 0.0
        if self.lexical_weight and self.lexical is None:
            raise ModelFolderError(f"{root / 'calibration.json'} mixes in a lexical part (weight "
                                   f"{self.lexical_weight}) that the model folder does not have: rerun the "
                                   "thresholds stage (`dvc repro thresholds`)")
        self.calibrated = bool(thresholds and calibration)

    def _read_tuned(self, path: Path) -> dict | None:
        """thresholds.json / calibration.json, refused if tuned for another model."""
        if not path.is_file():
            return None
        tuned = read_json(path)
        if tuned.get("model_version") != self.meta["version"]:
            raise ModelFolderError(
                f"{path} was tuned for {tuned.get('model_version')}, but the model is {self.meta['version']}: "
                "rerun the thresholds stage (`dvc repro thresholds`)"
            )
        return tuned

    @property
    def version(self) -> str:
        return self.meta["version"]

    def logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(logits (n, 28), token counts before truncation (n,)), in input order: the encoder's,
        mixed with the lexical part's when calibration chose a weight for it."""
        encoder, lengths = self.encoder_logits(texts)
        if not self.lexical_weight:
            return encoder, lengths
        lexical = self.lexical.decision_function(texts)
        return mix_logits(encoder, lexical, self.lexical_weight), lengths

    @torch.inference_mode()
    def encoder_logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the encoder's logits (n, 28), token counts before truncation (n,)), in input order."""
        full = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        lengths = np.array([len(x) for x in full])
        order = np.argsort(-lengths, kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = self.tokenizer(
                [texts[i] for i in idx], truncation=True, max_length=self.max_length,
                padding=True, return_tensors="pt",
            ).to(self.device)
            out[idx] = self.classifier(enc["input_ids"], enc["attention_mask"]).float().cpu().numpy()
        return out, lengths

    @property
    def temperature(self) -> float | None:
        """The calibration's one temperature (None when calibrated per label)."""
        return self.calibrator.temperature

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return self.calibrator(logits)

    def predict(self, texts: list[str]) -> list[Prediction]:
        texts = validate_texts(texts)
        logits, lengths = self.logits(texts)
        probs = self.probabilities(logits)
        results = []
        for row, n_tokens in zip(probs, lengths):
            active = [self.labels[j] for j in np.flatnonzero(row >= self.thresholds)]
            active.sort(key=lambda name: -row[self.labels.index(name)])
            results.append(Prediction(
                probabilities={name: round(float(p), 6) for name, p in zip(self.labels, row)},
                labels=active,
                truncated=bool(n_tokens > self.max_length),
                model_version=self.version,
                tokens=int(n_tokens),
            ))
        return results
