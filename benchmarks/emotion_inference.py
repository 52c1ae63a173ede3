"""Emotion-detection inference speed on CPU, against the TF-IDF baseline in the same run.

    .venv/bin/python benchmarks/emotion_inference.py [--model models/emotion] [--texts 512]

Prints texts per second and latency per call for the trained model (batch 1
and batch 32) and for the TF-IDF + logistic-regression baseline trained here on
the same prepared data, then writes benchmarks/results/emotion_inference.json.
With --reference-model, another model folder (the previous model) is timed on the
same single texts in interleaved rounds, and the latency ratio recorded.
Texts are GoEmotions test texts (the prepared split), never user input.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from emoheal.data.prepared import read_prepared
from emoheal.emotion.baseline import fit_tfidf_logreg
from emoheal.emotion.predictor import EmotionPredictor
from emoheal.utils.io import load_params


def _time_calls(fn, batches, repeats=3):
    per_call = []
    for _ in range(repeats):
        for batch in batches:
            start = time.perf_counter()
            fn(batch)
            per_call.append(time.perf_counter() - start)
    return per_call


def _summary(per_call, batch_size):
    total = sum(per_call)
    return {
        "batch_size": batch_size,
        "calls": len(per_call),
        "texts_per_second": round(batch_size * len(per_call) / total, 1),
        "latency_ms_median": round(1000 * statistics.median(per_call), 2),
        "latency_ms_p95": round(1000 * float(np.percentile(per_call, 95)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default=None, help="model folder (default: paths.model from params)")
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--reference-model", default=None,
                        help="another model folder timed in the same run (e.g. the previous model): single-text "
                             "latency ratio against it")
    parser.add_argument("--out", default="benchmarks/results/emotion_inference.json")
    args = parser.parse_args()
    params = load_params(args.params)
    paths = params["paths"]

    predictor = EmotionPredictor(args.model or paths["model"])
    names = predictor.labels
    test = read_prepared(paths["prepared"], "test")["text"].tolist()[: args.texts]
    train = read_prepared(paths["prepared"], "train")
    baseline = fit_tfidf_logreg(train["text"].tolist(), train[names].to_numpy(), params["evaluate"]["baseline"],
                                params["seed"])

    results = {"model_version": predictor.version, "lexical_weight": predictor.lexical_weight,
               "torch_threads": torch.get_num_threads(),
               "cpu": platform.processor() or platform.machine(), "texts": len(test), "runs": {}}
    predictor.predict(test[:8])  # warm-up
    for batch_size in (1, 32):
        batches = [test[i : i + batch_size] for i in range(0, len(test), batch_size)]
        if batch_size == 1:
            batches = batches[:128]
        results["runs"][f"model_batch{batch_size}"] = _summary(_time_calls(predictor.predict, batches), batch_size)
        results["runs"][f"tfidf_batch{batch_size}"] = _summary(
            _time_calls(baseline.predict_proba, batches), batch_size)
    if args.reference_model:
        reference = EmotionPredictor(args.reference_model)
        reference.predict(test[:8])
        singles = [test[i : i + 1] for i in range(128)]
        # interleaved rounds, so drift in the machine's load hits both models alike
        ours, theirs = [], []
        for _ in range(3):
            ours += _time_calls(predictor.predict, singles, repeats=1)
            theirs += _time_calls(reference.predict, singles, repeats=1)
        results["reference"] = {
            "model_version": reference.version, "lexical_weight": reference.lexical_weight,
            "model_batch1": _summary(theirs, 1), "this_model_batch1": _summary(ours, 1),
        }
        results["latency_ratio_vs_reference_batch1"] = round(
            statistics.median(ours) / statistics.median(theirs), 3)
    m, b = results["runs"]["model_batch32"], results["runs"]["tfidf_batch32"]
    results["model_vs_tfidf_throughput_ratio_batch32"] = round(m["texts_per_second"] / b["texts_per_second"], 3)

    for name, run in results["runs"].items():
        print(f"{name:16s} {run['texts_per_second']:9.1f} texts/s  median {run['latency_ms_median']:8.2f} ms"
              f"  p95 {run['latency_ms_p95']:8.2f} ms")
    print(f"model/tfidf throughput at batch 32: {results['model_vs_tfidf_throughput_ratio_batch32']}")
    if "reference" in results:
        print(f"single-text median latency vs {results['reference']['model_version']} in the same run: "
              f"{results['latency_ratio_vs_reference_batch1']}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
