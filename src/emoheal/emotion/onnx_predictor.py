"""OnnxEmotionPredictor: EmotionPredictor served by ONNX Runtime on CPU, without loading torch weights.

The tokenizer, labels, max length, thresholds and calibration come from the trained model folder as for
EmotionPredictor; the logits come from a graph written by `emoheal.emotion.onnx_export`, which must have
been exported from that same model version. The int8 graph instead takes its temperature and thresholds
from int8_tuning.json beside it when `tune_int8` wrote one (fitted on dev for the int8 logits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from transformers import AutoTokenizer

from emoheal.emotion.artifacts import ModelFolderError, read_meta
from emoheal.emotion.calibration import calibrator_from_json
from emoheal.emotion.lexical import load_lexical
from emoheal.emotion.onnx_export import (
    EXPORT_HINT,
    INPUTS,
    INT8_FILE,
    INT8_TUNING,
    ONNX_META,
    OUTPUT,
    model_dirs,
    ort_session,
)
from emoheal.emotion.predictor import EmotionPredictor
from emoheal.utils.hashing import sha256_file
from emoheal.utils.io import read_json


class OnnxEmotionPredictor(EmotionPredictor):
    """`predict` as EmotionPredictor's; `logits` runs model.onnx or model.int8.onnx in onnxruntime.

    own_tuning=False ignores int8_tuning.json (the eager model's temperature and thresholds throughout).
    """

    def __init__(self, model_root: str | Path, onnx_file: str | Path, threads: int | None = None,
                 batch_size: int = 64, *, own_tuning: bool = True):
        root, model_dir = model_dirs(model_root)
        self.meta = read_meta(model_dir)
        onnx_file = Path(onnx_file)
        self.onnx_info = self._read_onnx_info(onnx_file, model_root)
        self.onnx_file = onnx_file
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir / "encoder", local_files_only=True)
        self.device = "cpu"
        self.batch_size = batch_size
        self.labels: list[str] = self.meta["labels"]
        self.max_length: int = self.meta["max_length"]
        self.lexical = load_lexical(model_dir) if self.meta.get("lexical") else None
        self._load_tuning(root)
        self._tuning = "eager"
        own = self._read_int8_tuning(model_root) if own_tuning and onnx_file.name == INT8_FILE else None
        if own is not None:
            self.thresholds = np.array([own["thresholds"][name] for name in self.labels])
            self.calibrator = calibrator_from_json(own, self.labels)
            self.calibrated = True
            self._tuning = "own"

        self.session = ort_session(onnx_file, threads)
        self.threads = threads

    def _read_onnx_info(self, onnx_file: Path, model_root) -> dict:
        """onnx_model.json beside the file, checked against this model version and the file's hash."""
        hint = EXPORT_HINT.replace("MODEL_ROOT", str(model_root)).replace("ONNX_DIR", str(onnx_file.parent))
        if not onnx_file.is_file():
            raise ModelFolderError(f"{onnx_file} not found: export the ONNX model with `{hint}`")
        meta_path = onnx_file.parent / ONNX_META
        if not meta_path.is_file():
            raise ModelFolderError(f"{meta_path} not found: {onnx_file} was not written by export_onnx; "
                                   f"re-export with `{hint}`")
        info = read_json(meta_path)
        if info.get("model_version") != self.meta["version"]:
            raise ModelFolderError(
                f"{onnx_file} was exported from {info.get('model_version')}, but the model is "
                f"{self.meta['version']}: re-export with `{hint}`"
            )
        entry = info.get("files", {}).get(onnx_file.name)
        if entry is None:
            raise ModelFolderError(f"{onnx_file.name} is not listed in {meta_path}: re-export with `{hint}`")
        if sha256_file(onnx_file) != entry["sha256"]:
            raise ModelFolderError(f"{onnx_file} does not match the hash in {meta_path} (changed after export): "
                                   f"re-export with `{hint}`")
        return info

    def _read_int8_tuning(self, model_root) -> dict | None:
        """int8_tuning.json beside the int8 graph, when there is one: checked against onnx_model.json's hash,
        this model version and the int8 graph it was tuned for."""
        path = self.onnx_file.parent / INT8_TUNING
        listed = self.onnx_info.get("tuning", {}).get(INT8_TUNING)
        if not path.is_file() and listed is None:
            return None
        hint = (f"re-tune with `tune_int8` (or `{EXPORT_HINT} --dev`)"
                .replace("MODEL_ROOT", str(model_root)).replace("ONNX_DIR", str(self.onnx_file.parent)))
        if listed is None or not path.is_file():
            where = "is not listed in " + ONNX_META if listed is None else "is listed in " + ONNX_META + " but missing"
            raise ModelFolderError(f"{path} {where}: {hint}")
        if sha256_file(path) != listed["sha256"]:
            raise ModelFolderError(f"{path} does not match the hash in {ONNX_META} (changed after tuning): {hint}")
        tuning = read_json(path)
        if tuning.get("model_version") != self.meta["version"]:
            raise ModelFolderError(f"{path} was tuned for {tuning.get('model_version')}, but the model is "
                                   f"{self.meta['version']}: {hint}")
        if tuning.get("onnx_sha256") != self.onnx_info["files"][INT8_FILE]["sha256"]:
            raise ModelFolderError(f"{path} was tuned for another {INT8_FILE} (hash differs): {hint}")
        missing = [name for name in self.labels if name not in tuning.get("thresholds", {})]
        method = tuning.get("method", "temperature")
        if method == "temperature" and "temperature" not in tuning:
            missing.insert(0, "temperature")
        elif method != "temperature":
            missing[:0] = [f"{part}[{name}]" for part in ("scale", "bias") for name in self.labels
                           if name not in tuning.get(part, {})]
        if missing:
            raise ModelFolderError(f"{path} lacks {', '.join(missing[:4])}: {hint}")
        return tuning

    @property
    def tuning(self) -> str:
        """Whose temperature and thresholds this predictor applies: "own" (int8_tuning.json, fitted on dev for
        the int8 graph) or "eager" (the model folder's, fitted on dev for eager torch)."""
        return self._tuning

    @property
    def runtime(self) -> str:
        """"onnx" (fp32) or "onnx-int8"."""
        return self.onnx_info["files"][self.onnx_file.name]["runtime"]

    def encoder_logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the encoder's logits (n, 28), token counts before truncation (n,)), in input order — as
        EmotionPredictor's (which mixes in the lexical part the same way for both)."""
        full = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        lengths = np.array([len(x) for x in full])
        order = np.argsort(-lengths, kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = self.tokenizer(
                [texts[i] for i in idx], truncation=True, max_length=self.max_length,
                padding=True, return_tensors="np",
            )
            feed = {name: np.ascontiguousarray(enc[name], dtype=np.int64) for name in INPUTS}
            out[idx] = self.session.run([OUTPUT], feed)[0]
        return out, lengths
