"""The BentoML service: `bentoml serve serving.service:EmoHeal` (or `make serve`).

`EmoHeal` serves the HTTP API and the web page (a FastAPI app, `serving/app.py`) and detects
emotions with the runtime the import chose (ONNX Runtime int8 or fp32, or PyTorch) behind
BentoML's adaptive batching dispatcher. It loads its parts from the BentoML model store, where
`make bento` imported the MLflow registry's champion model with the graph, index and media.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path

import bentoml

from serving.app import build_app
from serving.middleware import RequestContext

EMOTION_TAG = os.environ.get("EMOHEAL_EMOTION_MODEL", "emoheal-emotion:latest")
SESSION_TAG = os.environ.get("EMOHEAL_SESSION_MODEL", "emoheal-session:latest")
# A Bento carries the curated narratives and safety data next to this file (bentofile include).
os.environ.setdefault("EMOHEAL_DATA_DIR", str(Path(__file__).resolve().parents[1] / "data"))
log = logging.getLogger("emoheal.serving")
STATE: dict = {"backend": None}


def stored(tag: str) -> Path:
    """The model's folder in the local store, or a clear message saying how to put it there."""
    try:
        return Path(bentoml.models.get(tag).path)
    except bentoml.exceptions.NotFound:
        home = os.environ.get("BENTOML_HOME", "~/bentoml")
        raise RuntimeError(f"BentoML model {tag} is not in the model store ({home}/models): import it with "
                           "`make bento` (the MLflow champion model, graph, index and media)") from None


# The interpreter hands the GIL to a waiting thread after this many seconds (Python's default: 5 ms).
# The event loop waits for the GIL after every wake-up while a worker thread (the crisis screen's
# checks, a monitoring record) holds it; 0.5 ms shortened the /session tail at 8 clients in probes on
# 2 cores (benchmarks/results/issue17/README.md), at no cost in requests/s.
GIL_SWITCH_INTERVAL_S = 0.0005


def settle_heap() -> None:
    """Move everything loaded so far out of the garbage collector's sight: with ~500k long-lived
    objects a full collection took 240-340 ms, which was the whole p99 tail (measured)."""
    gc.collect()
    gc.freeze()


def _settings() -> dict:
    """The settings the session bundle was built with (conf/serving and conf/retrieval, composed by
    `make bento`), checked, with EMOHEAL_* overrides. The API's text limit, the body limit and the
    worker count are fixed when this module is imported (by `bentoml build` and `bentoml serve`),
    so the bundle must be in the model store by then: without it the service could not start
    anyway, and `stored` says how to import it."""
    from serving.backend import load_settings

    return load_settings(stored(SESSION_TAG))


SETTINGS = _settings()
app = build_app(lambda: STATE["backend"], SETTINGS["max_text_chars"])


# Tracing off for every path: this service exports no traces, yet BentoML's sampler records every
# span, and its request timeout (a timer per request, never cancelled) holds each request's context,
# span included, for the whole `timeout`: at ~100 requests/s about 130k objects that every full
# garbage collection walked — 60-90 ms pauses that set the /session tail at 8 clients. Without the
# spans a pause is under 30 ms (probes, benchmarks/results/issue17/README.md). To trace, configure an
# exporter and narrow TRACING to the paths to trace.
TRACING = {"excluded_urls": [".*"]}


@bentoml.service(name="emoheal", workers=SETTINGS["workers"], traffic={"timeout": 60, "max_concurrency": 128},
                 tracing=TRACING)
@bentoml.asgi_app(app, path="/")
class EmoHeal:
    """The API and the web page. Detection goes through BentoML's adaptive batching dispatcher in
    this process (serving/batching.py); plans, retrieval and narratives run in worker threads."""

    emotion = bentoml.models.BentoModel(EMOTION_TAG)  # declared so `bentoml build` bundles both
    session = bentoml.models.BentoModel(SESSION_TAG)

    def __init__(self) -> None:
        from serving.backend import Backend, chosen_runtime, load_predictor
        from serving.batching import AdaptiveBatcher

        emotion_dir, session_dir = stored(EMOTION_TAG), stored(SESSION_TAG)  # clear message if not imported
        detector = SETTINGS["detector"]
        runtime = chosen_runtime(emotion_dir, detector["runtime"])
        predictor = load_predictor(emotion_dir, runtime, detector["threads"])
        batcher = AdaptiveBatcher(predictor, detector["max_batch_size"], detector["max_latency_ms"])
        STATE["backend"] = Backend(emotion_dir, session_dir, predictor=batcher, settings=SETTINGS)
        STATE["backend"].start_retention()  # now, then once a day
        log.info("service ready: %s", STATE["backend"].versions)
        settle_heap()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    def __is_ready__(self) -> bool:
        return STATE["backend"] is not None


def _versions() -> dict:
    backend = STATE["backend"]
    return backend.versions if backend is not None else {}


EmoHeal.add_asgi_middleware(RequestContext, versions=_versions, max_body_bytes=SETTINGS["max_body_bytes"],
                            local_app=app)
