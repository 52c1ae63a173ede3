"""Export the trained emotion classifier to ONNX (fp32, and dynamic int8) for CPU serving.

    .venv/bin/python -m emoheal.emotion.onnx_export --model models/emotion --out models/emotion_onnx [--parity]

Writes into the output folder, and nothing else:
    model.onnx        the classifier in fp32: inputs input_ids, attention_mask (int64, batch x sequence,
                      both dynamic), output logits (batch x labels)
    model.int8.onnx   the same with MatMul weights dynamically quantised to int8 (unless quantize=False)
    onnx_model.json   the model version it was exported from, file hashes, opset, exporter, quantisation
    int8_tuning.json  (after `tune_int8`) the int8 model's own temperature and per-label thresholds, fitted
                      on the dev split as the thresholds stage fits the eager model's

Tokenizer, thresholds and temperature stay in the model folder; `OnnxEmotionPredictor` reads them from
there (the int8 graph: from int8_tuning.json when present) and refuses an ONNX folder exported from another
model version. `parity` scores eager torch against both ONNX files on labelled texts with each runtime's
thresholds, temperature and macro-F1, and `choose_runtime` keeps int8 only when it costs at most
`max_f1_drop` of macro-F1.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from emoheal.emotion.artifacts import META_FILE
from emoheal.utils.hashing import sha256_file
from emoheal.utils.io import read_json, write_json

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
ONNX_META = "onnx_model.json"
INT8_TUNING = "int8_tuning.json"
RUNTIMES = {ONNX_FILE: "onnx", INT8_FILE: "onnx-int8"}
OPSET = 17
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "logits"
# Only the weight MatMuls (constant B): the embeddings (Gather) and the small head (Gemm) stay fp32, and so do
# the FFN output projections (output/dense) of the first three layers, whose inputs (after GELU) have the
# outliers that per-tensor dynamic activation quantisation handles worst. Chosen on the dev split (mean |logit
# diff| vs eager, MiniLM-L6): all MatMuls per-channel 0.105, per-tensor 0.266; keeping one layer's output/dense
# in fp32 helps only for layers 0-2 (0.095-0.098; layers 3-5: 0.104-0.105); layers 0-2: 0.073, all six:
# 0.071. Test macro-F1 drop vs eager, each with its own dev-tuned thresholds: 0.0087 (all MatMuls),
# -0.0009 (layers 0-2 fp32); the paired bootstrap sd of that drop is ~0.007, so only the dev fidelity
# is a stable guide. Names that a smaller graph lacks (the tiny test model has two layers) are skipped.
QUANT_DEFAULTS: dict[str, Any] = {
    "op_types": ["MatMul"], "per_channel": True, "reduce_range": False,
    "nodes_to_exclude": [f"/encoder/encoder/layer.{i}/output/dense/MatMul" for i in range(3)],
}
# The thresholds stage's grid (conf/config.yaml `thresholds:`), used by tune_int8 when no params are given.
THRESHOLD_GRID: dict[str, float] = {"grid_min": 0.02, "grid_max": 0.98, "grid_step": 0.01, "default": 0.5}
EXPORT_TOLERANCE = 1e-3  # max |logit difference| eager vs fp32 ONNX accepted at export time
# Example texts for tracing and the export check: different lengths, so padding is exercised.
_SAMPLE_TEXTS = ["I am so happy you came, thank you!", "why?", "This is fine."]
EXPORT_HINT = "python -m emoheal.emotion.onnx_export --model MODEL_ROOT --out ONNX_DIR"


def model_dirs(model_root: str | Path) -> tuple[Path, Path]:
    """(root with thresholds/calibration, model/ folder), given either of them."""
    root = Path(model_root)
    if (root / META_FILE).is_file():
        return root.parent, root
    return root, root / "model"


def ort_session(path: str | Path, threads: int | None = None):
    """A CPU InferenceSession with all graph optimisations; threads=None: onnxruntime's default."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = int(threads or 0)  # 0: onnxruntime's default (one per physical core)
    options.inter_op_num_threads = 1
    # no busy-waiting between calls: a server's other processes need the cores (measured 12.5 -> 8 ms CPU/call)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _check_inputs(tokenizer, max_length: int) -> list[dict[str, np.ndarray]]:
    """Batches of several shapes (batch 1..64, lengths 2..max_length) to prove the axes are dynamic."""
    long_text = " ".join(["this goes on and on"] * max_length)  # truncated to max_length
    batches = [
        tokenizer(_SAMPLE_TEXTS, truncation=True, max_length=max_length, padding=True, return_tensors="np"),
        tokenizer(["why?"], truncation=True, max_length=max_length, return_tensors="np"),
        tokenizer([long_text, *_SAMPLE_TEXTS, "ok"], truncation=True, max_length=max_length, padding=True,
                  return_tensors="np"),
    ]
    mixed = [_SAMPLE_TEXTS[i % len(_SAMPLE_TEXTS)] * (1 + i % 7) for i in range(63)]
    batches.append(tokenizer([long_text, *mixed], truncation=True, max_length=max_length, padding=True,
                             return_tensors="np"))
    short = {"input_ids": batches[1]["input_ids"][:, [0, -1]], "attention_mask": batches[1]["attention_mask"][:, :2]}
    return [{k: np.asarray(b[k], dtype=np.int64) for k in INPUTS} for b in [*batches, short]]


def _export_fp32(classifier, tokenizer, path: Path, opset: int, max_length: int) -> None:
    import torch

    sample = tokenizer(_SAMPLE_TEXTS, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    args = (sample["input_ids"].long(), sample["attention_mask"].long())
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"}}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # expected while tracing: shape checks in transformers frozen for the traced shapes (the export is
        # verified over several shapes afterwards), aten::index with non-negative indices, and the notice that
        # the TorchScript exporter is legacy (the dynamo exporter also works for MiniLM, but takes ~5x longer)
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*aten::index.*")
        torch.onnx.export(
            classifier, args, str(path), input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes,
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )


def _verify_export(classifier, tokenizer, path: Path, max_length: int) -> float:
    """Max |logit diff| between eager torch and the exported graph over several shapes; raises if too big."""
    import torch

    session = ort_session(path, threads=1)
    worst = 0.0
    for feed in _check_inputs(tokenizer, max_length):
        with torch.no_grad():
            ref = classifier(torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"])).numpy()
        got = session.run([OUTPUT], feed)[0]
        worst = max(worst, float(np.abs(got - ref).max()))
    if worst > EXPORT_TOLERANCE:
        raise RuntimeError(f"the exported graph differs from eager torch by {worst:.2e} in logits "
                           f"(> {EXPORT_TOLERANCE}): the export is not faithful")
    return worst


def _fp32_nodes(fp32_path: Path, requested: list[str], strict: bool) -> list[str]:
    """The requested nodes_to_exclude that are MatMuls of this graph; strict: any other name is an error."""
    import onnx

    matmuls = {node.name for node in onnx.load(str(fp32_path), load_external_data=False).graph.node
               if node.op_type == "MatMul"}
    unknown = [name for name in requested if name not in matmuls]
    if strict and unknown:
        raise ValueError(f"nodes_to_exclude names no MatMul of {fp32_path.name}: {unknown[:3]}")
    return [name for name in requested if name in matmuls]


def quantize_int8(fp32_path: Path, int8_path: Path, settings: dict[str, Any]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        model_input=str(fp32_path), model_output=str(int8_path), op_types_to_quantize=list(settings["op_types"]),
        per_channel=bool(settings["per_channel"]), reduce_range=bool(settings["reduce_range"]),
        weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True},
        nodes_to_exclude=list(settings.get("nodes_to_exclude") or []),
    )


def export_onnx(model_root: str | Path, out_dir: str | Path, quantize: bool = True, *, opset: int = OPSET,
                quantization: dict[str, Any] | None = None) -> dict:
    """Export model_root's classifier to out_dir/model.onnx (+ model.int8.onnx); returns onnx_model.json."""
    import onnx
    import onnxruntime
    import torch

    from emoheal.emotion.artifacts import load_model_folder

    _, model_dir = model_dirs(model_root)
    classifier, tokenizer, meta = load_model_folder(model_dir, "cpu")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in (ONNX_FILE, INT8_FILE, ONNX_META, INT8_TUNING):  # never leave a stale file from an earlier export
        (out / name).unlink(missing_ok=True)

    _export_fp32(classifier, tokenizer, out / ONNX_FILE, opset, meta["max_length"])
    check_diff = _verify_export(classifier, tokenizer, out / ONNX_FILE, meta["max_length"])
    settings = None
    if quantize:
        settings = {**QUANT_DEFAULTS, **(quantization or {}), "weight_type": "QInt8", "activations": "QUInt8 dynamic"}
        settings["nodes_to_exclude"] = _fp32_nodes(out / ONNX_FILE, list(settings.get("nodes_to_exclude") or []),
                                                   strict="nodes_to_exclude" in (quantization or {}))
        quantize_int8(out / ONNX_FILE, out / INT8_FILE, settings)

    files = {
        name: {"runtime": RUNTIMES[name], "sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
        for name in (ONNX_FILE, INT8_FILE) if (out / name).is_file()
    }
    info = {
        "model_version": meta["version"],
        "weights_sha256": meta.get("weights_sha256"),
        "labels": meta["labels"],
        "max_length": meta["max_length"],
        "pooling": meta["pooling"],
        "inputs": {name: {"dtype": "int64", "shape": ["batch", "sequence"]} for name in INPUTS},
        "outputs": {OUTPUT: {"dtype": "float32", "shape": ["batch", len(meta["labels"])]}},
        "opset": opset,
        "exporter": {"name": "torch.onnx.export (TorchScript, dynamo=False)", "torch": torch.__version__,
                     "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
        "export_check_max_abs_logit_diff": float(f"{check_diff:.1e}"),  # rounded: stable across reruns
        "quantization": settings,
        "files": files,
    }
    write_json(out / ONNX_META, info)
    return info


def _score(probs: np.ndarray, thresholds: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    from emoheal.emotion.metrics import binarize, f1_summary

    return f1_summary(targets, binarize(probs, thresholds))


def _targets(texts: list[str], targets: np.ndarray) -> np.ndarray:
    targets = np.asarray(targets, dtype=np.uint8)
    if targets.shape[0] != len(texts):
        raise ValueError(f"{len(texts)} texts but {targets.shape[0]} target rows")
    return targets


def fit_dev_tuning(logits: np.ndarray, targets: np.ndarray, grid: dict[str, Any],
                   method: str = "temperature") -> dict[str, Any]:
    """Calibration (the eager model's method) and per-label thresholds on the calibrated probabilities,
    exactly as the thresholds stage (`emoheal.emotion.tuning.tune_on_dev`) fits them for the eager model."""
    from emoheal.emotion.calibration import calibrate_and_tune
    from emoheal.emotion.thresholds import threshold_grid

    calibrator, thresholds, best_f1 = calibrate_and_tune(logits, targets, threshold_grid(grid), grid["default"],
                                                         method)
    probs = calibrator(logits)
    return {"calibrator": calibrator, "probs": probs, "thresholds": thresholds, "best_f1": best_f1}


def tune_int8(model_root: str | Path, onnx_dir: str | Path, dev_texts: list[str], dev_targets: np.ndarray,
              grid: dict[str, Any] | None = None, threads: int | None = None) -> dict:
    """Fit the int8 graph's own calibration and thresholds on the dev split; write int8_tuning.json.

    Dynamic int8 shifts the logits a little, so the eager model's thresholds (tuned on dev for eager
    logits) are not the best ones for it. This runs model.int8.onnx on dev, fits calibration (the eager
    model's method) and per-label thresholds with the thresholds stage's functions and grid (`grid`: the params'
    `thresholds` section; default THRESHOLD_GRID), and records the file with its hash in onnx_model.json.
    Never pass the test split here: test is only for the comparison in `parity`.
    """
    from emoheal.emotion.onnx_predictor import OnnxEmotionPredictor

    grid = {**THRESHOLD_GRID, **(grid or {})}
    grid = {k: grid[k] for k in THRESHOLD_GRID}
    dev_targets = _targets(dev_texts, dev_targets)
    out = Path(onnx_dir)
    predictor = OnnxEmotionPredictor(model_root, out / INT8_FILE, threads=threads, own_tuning=False)
    logits, _ = predictor.logits(dev_texts)
    fitted = fit_dev_tuning(logits, dev_targets, grid, predictor.calibrator.method)
    eager_probs = predictor.probabilities(logits)  # the eager model's calibration and thresholds
    tuning = {
        "model_version": predictor.version,
        "runtime": "onnx-int8",
        "applies_to": INT8_FILE,
        "onnx_sha256": predictor.onnx_info["files"][INT8_FILE]["sha256"],
        "tuned_on": "dev",
        "dev_rows": len(dev_texts),
        "grid": grid,
        **fitted["calibrator"].to_json(predictor.labels),
        "thresholds": {name: float(t) for name, t in zip(predictor.labels, fitted["thresholds"])},
        "dev_f1": {name: float(f) for name, f in zip(predictor.labels, fitted["best_f1"])},
        "dev_macro_f1": _score(fitted["probs"], fitted["thresholds"], dev_targets)["macro_f1"],
        "dev_macro_f1_eager_thresholds": _score(eager_probs, predictor.thresholds, dev_targets)["macro_f1"],
    }
    write_json(out / INT8_TUNING, tuning)
    info = read_json(out / ONNX_META)
    info["tuning"] = {INT8_TUNING: {"applies_to": INT8_FILE, "sha256": sha256_file(out / INT8_TUNING),
                                    "bytes": (out / INT8_TUNING).stat().st_size}}
    write_json(out / ONNX_META, info)
    return tuning


def parity(model_root: str | Path, onnx_dir: str | Path, texts: list[str], targets: np.ndarray,
           threads: int | None = None, *, dev_texts: list[str] | None = None,
           dev_targets: np.ndarray | None = None, grid: dict[str, Any] | None = None) -> dict:
    """Eager torch vs ONNX fp32 (vs ONNX int8 when exported) on labelled (test) texts.

    Each runtime's probabilities go through its temperature and per-label thresholds, and are scored with
    the evaluation's F1 (sklearn, zero_division=0): eager and fp32 with the model's (tuned on dev for
    eager), int8 with its own from int8_tuning.json when present (given dev_texts/dev_targets, `tune_int8`
    fits them first), else the model's. `thresholds` says which each runtime used. `f1_drop` is eager
    macro-F1 minus the runtime's (positive: the runtime is worse).
    """
    from emoheal.emotion.onnx_predictor import OnnxEmotionPredictor
    from emoheal.emotion.predictor import EmotionPredictor

    targets = _targets(texts, targets)
    if (dev_texts is None) != (dev_targets is None):
        raise ValueError("pass both dev_texts and dev_targets, or neither")
    if dev_texts is not None and (Path(onnx_dir) / INT8_FILE).is_file():
        tune_int8(model_root, onnx_dir, dev_texts, dev_targets, grid, threads)
    eager = EmotionPredictor(model_root)
    started = time.perf_counter()
    logits, _ = eager.logits(texts)
    seconds = {"torch": time.perf_counter() - started}
    ref = eager.probabilities(logits)
    ref_pred = ref >= eager.thresholds
    scores = {"torch": _score(ref, eager.thresholds, targets)}
    eager_source = "eager (dev)" if eager.calibrated else "eager (untuned)"
    report: dict[str, Any] = {
        "model_version": eager.version, "rows": len(texts), "calibrated": eager.calibrated,
        "macro_f1": {"torch": scores["torch"]["macro_f1"]}, "micro_f1": {"torch": scores["torch"]["micro_f1"]},
        "max_abs_prob_diff": {}, "label_agreement": {}, "f1_drop": {}, "seconds": seconds,
        "thresholds": {"torch": eager_source},
    }
    for name, runtime in RUNTIMES.items():
        if not (Path(onnx_dir) / name).is_file():
            continue
        predictor = OnnxEmotionPredictor(model_root, Path(onnx_dir) / name, threads=threads)
        started = time.perf_counter()
        got, _ = predictor.logits(texts)
        seconds[runtime] = time.perf_counter() - started
        probs = predictor.probabilities(got)
        score = _score(probs, predictor.thresholds, targets)
        report["macro_f1"][runtime] = score["macro_f1"]
        report["micro_f1"][runtime] = score["micro_f1"]
        report["max_abs_prob_diff"][runtime] = float(np.abs(probs - ref).max())
        report["label_agreement"][runtime] = float(((probs >= predictor.thresholds) == ref_pred).all(axis=1).mean())
        report["f1_drop"][runtime] = scores["torch"]["macro_f1"] - score["macro_f1"]
        report["thresholds"][runtime] = "own (dev)" if predictor.tuning == "own" else eager_source
        if predictor.tuning == "own":  # what the eager model's thresholds would have given: for comparison
            with_eager = _score(eager.probabilities(got), eager.thresholds, targets)
            report["int8_eager_thresholds"] = {"macro_f1": with_eager["macro_f1"],
                                               "f1_drop": scores["torch"]["macro_f1"] - with_eager["macro_f1"]}
    report["int8_f1_drop"] = report["f1_drop"].get("onnx-int8")
    report["int8_thresholds"] = report["thresholds"].get("onnx-int8")
    report["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return report


def choose_runtime(report: dict, max_f1_drop: float = 0.005) -> str:
    """"onnx-int8" when int8 was scored and loses at most max_f1_drop macro-F1 against eager; else "onnx"."""
    drop = report.get("f1_drop", {}).get("onnx-int8")
    return "onnx-int8" if drop is not None and drop <= max_f1_drop + 1e-12 else "onnx"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/emotion", help="trained model folder (models/emotion)")
    parser.add_argument("--out", required=True, help="folder for model.onnx, model.int8.onnx, onnx_model.json")
    parser.add_argument("--no-quantize", action="store_true", help="export fp32 only")
    parser.add_argument("--parity", metavar="PREPARED", nargs="?", const="data/prepared/goemotions",
                        help="score eager vs ONNX on the prepared test split (default data/prepared/goemotions)")
    parser.add_argument("--dev", metavar="PREPARED", nargs="?", const="data/prepared/goemotions",
                        help="fit the int8 model's own temperature and thresholds on the prepared dev split "
                             "(default data/prepared/goemotions) into int8_tuning.json")
    parser.add_argument("--max-f1-drop", type=float, default=0.005)
    args = parser.parse_args(argv)
    info = export_onnx(args.model, args.out, quantize=not args.no_quantize)
    print(json.dumps({k: info[k] for k in ("model_version", "opset", "quantization", "files")}, indent=2))
    if args.dev or args.parity:
        from emoheal.data.prepared import read_prepared
    if args.dev and INT8_FILE in info["files"]:
        dev = read_prepared(args.dev, "dev")
        tuning = tune_int8(args.model, args.out, dev["text"].tolist(), dev[info["labels"]].to_numpy(np.uint8))
        print(json.dumps({k: v for k, v in tuning.items() if k not in ("thresholds", "dev_f1")}, indent=2))
    if args.parity:
        test = read_prepared(args.parity, "test")
        report = parity(args.model, args.out, test["text"].tolist(), test[info["labels"]].to_numpy(np.uint8))
        report["chosen_runtime"] = choose_runtime(report, args.max_f1_drop)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
