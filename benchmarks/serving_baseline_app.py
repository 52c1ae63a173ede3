"""The serving baseline: the same emotion model behind a plain FastAPI endpoint that calls a
`transformers.pipeline` per request — no batching, no ONNX, no separate detector process.

    EMOHEAL_EMOTION_DIR=.bentoml/models/emoheal-emotion/<version> \\
        .venv/bin/python -m uvicorn serving_baseline_app:app --app-dir benchmarks --port 8001 --workers 1

`EMOHEAL_EMOTION_DIR` is the emotion model folder (model/encoder, model/head.safetensors,
model/emotion_model.json, thresholds.json, calibration.json), e.g. the BentoML store's copy.
POST /detect {"text": ...} → {"labels", "probabilities"}: the encoder's token vectors from the
pipeline, mean-pooled, the linear head, logits / temperature, sigmoid, per-label thresholds —
what `EmotionPredictor` computes, one text at a time. A plain `def` endpoint, so requests run
in FastAPI's thread pool; torch uses 2 threads. Started by `serving_latency.py`.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import torch
import transformers
from fastapi import FastAPI
from pydantic import BaseModel, Field
from safetensors.torch import load_file

TORCH_THREADS = 2
MODEL: dict = {}


class DetectRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


def load(folder: Path) -> dict:
    meta = json.loads((folder / "model" / "emotion_model.json").read_text())
    if meta.get("pooling", "mean") != "mean":
        raise ValueError(f"the baseline mean-pools; this model pools with {meta['pooling']!r}")
    labels = meta["labels"]
    thresholds = json.loads((folder / "thresholds.json").read_text())["thresholds"]
    temperature = float(json.loads((folder / "calibration.json").read_text())["temperature"])
    head = load_file(str(folder / "model" / "head.safetensors"))
    encoder = str(folder / "model" / "encoder")
    pipe = transformers.pipeline("feature-extraction", model=encoder, tokenizer=encoder, framework="pt", device=-1)
    tokenize = {"truncation": True, "max_length": int(meta["max_length"])}
    pipe("warm up the tokenizer's truncation settings", tokenize_kwargs=tokenize)  # before threads share it
    return {"pipe": pipe, "tokenize": tokenize, "labels": labels, "version": meta["version"],
            "weight": head["weight"].float(), "bias": head["bias"].float(), "temperature": temperature,
            "thresholds": np.array([thresholds[name] for name in labels])}


@asynccontextmanager
async def lifespan(_: FastAPI):
    torch.set_num_threads(TORCH_THREADS)
    MODEL.update(load(Path(os.environ["EMOHEAL_EMOTION_DIR"])))
    yield
    MODEL.clear()


app = FastAPI(title="EmoHeal serving baseline", lifespan=lifespan)


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@app.get("/readyz")
def readyz() -> dict:
    return {"ready": bool(MODEL), "versions": {"emotion_model": MODEL.get("version"), "runtime": "torch-pipeline"}}


@app.post("/detect")
def detect(body: DetectRequest) -> dict:
    with torch.inference_mode():
        tokens = MODEL["pipe"](body.text, tokenize_kwargs=MODEL["tokenize"], return_tensors=True)  # (1, n, 384)
        pooled = tokens[0].float().mean(dim=0)  # one unpadded text: the mask is all ones
        logits = (pooled @ MODEL["weight"].T + MODEL["bias"]).double().numpy()
    probs = 1.0 / (1.0 + np.exp(-logits / MODEL["temperature"]))
    labels = MODEL["labels"]
    active = sorted(np.flatnonzero(probs >= MODEL["thresholds"]), key=lambda j: -probs[j])
    return {"labels": [labels[j] for j in active],
            "probabilities": {name: round(float(p), 6) for name, p in zip(labels, probs)}}
