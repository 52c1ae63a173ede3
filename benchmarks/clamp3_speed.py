"""CLaMP 3 audio-path throughput and text-query latency on CPU, full-size random weights.

    .venv/bin/python benchmarks/clamp3_speed.py [--seconds 20] [--queries 10]

The official weights cannot be downloaded here, so the models have the official shapes
(MERT-v1-95M's HuBERT configuration, the SAAS CLaMP 3) with random weights: speed and memory
do not depend on the values. The CLaMP 3 encoders run padded to the segment length, as
upstream does (the baseline), and unpadded (only real rows), in the same run.
Writes benchmarks/results/clamp3_speed.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time

import numpy as np
import torch
from _timing import timed

from emoheal.encoder.clamp3.model import Clamp3Model
from emoheal.encoder.clamp3.segments import encode_audio_rows, encode_text_ids
from emoheal.encoder.mert import SAMPLE_RATE, MertFrontEnd
from emoheal.utils.io import write_json

# MERT-v1-95M's published configuration (a HuBERT base with a 24 kHz front end)
MERT_V1_95M = {
    "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": False, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
    "feat_extract_norm": "group", "feat_proj_layer_norm": True, "do_stable_layer_norm": False,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the test clip")
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--out", default="benchmarks/results/clamp3_speed.json")
    args = parser.parse_args()
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    start = time.perf_counter()
    mert = MertFrontEnd.__new__(MertFrontEnd)  # the front end's code path on a model built here
    mert.config = HubertConfig(**MERT_V1_95M)
    mert.config._attn_implementation = "eager"
    mert.model = HubertModel(mert.config).eval()
    mert.hidden_size = 768
    clamp3 = Clamp3Model().eval()
    load_s = time.perf_counter() - start
    params = {"mert": sum(p.numel() for p in mert.model.parameters()),
              "clamp3": sum(p.numel() for p in clamp3.parameters())}

    x = np.random.default_rng(0).normal(size=int(args.seconds * SAMPLE_RATE)).astype(np.float32) * 0.1
    mert_s = timed(lambda: mert.embed(x, SAMPLE_RATE), 1)[0]
    rows = mert.embed(x, SAMPLE_RATE)
    padded = timed(lambda: encode_audio_rows(clamp3, rows, pad_to_limit=True), 3)
    unpadded = timed(lambda: encode_audio_rows(clamp3, rows, pad_to_limit=False), 3)
    same = float((encode_audio_rows(clamp3, rows)["global"]
                  - encode_audio_rows(clamp3, rows, pad_to_limit=False)["global"]).abs().max())

    ids = torch.cat([torch.tensor([0]), torch.randint(3, 250002, (22,)), torch.tensor([2])])  # a 24-token prompt
    encode_text_ids(clamp3, ids)  # warm-up
    text_padded = timed(lambda: encode_text_ids(clamp3, ids, pad_to_limit=True), args.queries)
    text_unpadded = timed(lambda: encode_text_ids(clamp3, ids, pad_to_limit=False), args.queries)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    total_padded = mert_s + statistics.median(padded)
    total_unpadded = mert_s + statistics.median(unpadded)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads()},
        "weights": "random, official shapes", "parameters": params, "build_seconds": round(load_s, 1),
        "clip_seconds": args.seconds, "mert_windows": int(rows.shape[0]),
        "mert_seconds": round(mert_s, 2),
        "clamp3_audio_seconds": {"padded_median": round(statistics.median(padded), 4),
                                 "unpadded_median": round(statistics.median(unpadded), 4),
                                 "max_abs_difference": same},
        "audio_seconds_per_second": {"padded": round(args.seconds / total_padded, 2),
                                     "unpadded": round(args.seconds / total_unpadded, 2),
                                     "mert_alone": round(args.seconds / mert_s, 2)},
        "text_query_ms": {"padded_median": round(1000 * statistics.median(text_padded), 1),
                          "unpadded_median": round(1000 * statistics.median(text_unpadded), 1),
                          "tokens": int(ids.numel())},
        "peak_rss_mb": round(peak, 0),
    }
    print(f"models built in {load_s:.1f} s: MERT {params['mert'] / 1e6:.1f} M, CLaMP 3 {params['clamp3'] / 1e6:.1f} M "
          "parameters (random weights, official shapes)")
    print(f"{args.seconds:g} s clip: MERT {mert_s:.2f} s ({rows.shape[0]} windows); CLaMP 3 audio encoder "
          f"padded {statistics.median(padded) * 1000:.0f} ms vs unpadded {statistics.median(unpadded) * 1000:.0f} ms "
          f"(max diff {same:.1e})")
    print(f"audio path: {result['audio_seconds_per_second']['padded']} s of audio per second padded, "
          f"{result['audio_seconds_per_second']['unpadded']} unpadded")
    print(f"text query ({ids.numel()} tokens): {result['text_query_ms']['padded_median']} ms padded, "
          f"{result['text_query_ms']['unpadded_median']} ms unpadded; peak RSS {peak:.0f} MB")
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
