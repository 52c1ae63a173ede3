"""The BentoML service: `bentoml serve serving.service:EmoHeal` (or `make serve`).

Two services, so that detection gets BentoML's adaptive batching: `Detector` holds the emotion
model (ONNX Runtime or PyTorch, whichever the import chose) behind a batchable API; `EmoHeal`
serves the HTTP API and the web page (a FastAPI app, `serving/app.py`) and calls the detector
for every text. Both load their parts from the BentoML model store, where `make bento`
imported the MLflow registry's champion model together with the graph, index and media.
"""

from __future__ import annotations

import gc
import logging
import os
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


def settle_heap() -> None:
    """Move everything loaded so far out of the garbage collector's sight: with ~500k long-lived
    objects a full collection took 240-340 ms, which was the whole p99 tail (measured)."""
    gc.collect()
    gc.freeze()


def _settings() -> dict:
    from serving.backend import load_settings

    try:
        return load_settings(stored(SESSION_TAG))
    except RuntimeError:
        return {"max_text_chars": 2000, "max_body_bytes": 65536,
                "detector": {"max_batch_size": 32, "max_latency_ms": 1000, "threads": 2}}


SETTINGS = _settings()
app = build_app(lambda: STATE["backend"], int(SETTINGS["max_text_chars"]))


# BentoML recycles the caller's connection pool every 100 requests by default, cutting requests
# in flight (measured: retries, and the odd 30 s hang); one pool per process lifetime instead.
@bentoml.service(name="emoheal-detector", workers=1, traffic={"timeout": 30},
                 runner_connection={"max_requests": 1_000_000_000, "max_age": 86_400.0})
class Detector:
    """The emotion model with adaptive batching: concurrent texts share one forward pass."""

    emotion = bentoml.models.BentoModel(EMOTION_TAG)  # declared so `bentoml build` bundles it

    def __init__(self) -> None:
        from serving.backend import chosen_runtime, load_predictor

        folder = stored(EMOTION_TAG)  # a clear message when `make bento` has not run
        detector = SETTINGS["detector"]
        self.runtime = chosen_runtime(folder, detector.get("runtime", "auto"))
        self.predictor = load_predictor(folder, self.runtime, int(detector["threads"]))
        log.info("detector ready: %s on %s", self.predictor.version, self.runtime)
        settle_heap()

    @bentoml.api(batchable=True, max_batch_size=int(SETTINGS["detector"]["max_batch_size"]),
                 max_latency_ms=int(SETTINGS["detector"]["max_latency_ms"]))
    def predict(self, texts: list[str]) -> list[dict]:
        return [p.to_dict() for p in self.predictor.predict(texts)]


@bentoml.service(name="emoheal", workers=int(os.environ.get("EMOHEAL_WORKERS", SETTINGS.get("workers", 1))),
                 traffic={"timeout": 60, "max_concurrency": 128})
@bentoml.asgi_app(app, path="/")
class EmoHeal:
    """The API and the web page. Texts go to the detector; plans, retrieval and narratives run here."""

    detector = bentoml.depends(Detector)
    emotion = bentoml.models.BentoModel(EMOTION_TAG)
    session = bentoml.models.BentoModel(SESSION_TAG)

    def __init__(self) -> None:
        from emoheal.emotion.artifacts import read_meta
        from serving.backend import Backend, RemotePredictor

        emotion_dir, session_dir = stored(EMOTION_TAG), stored(SESSION_TAG)
        # looked up per call: the proxy learns the detector's endpoints once both are up
        predictor = RemotePredictor(lambda texts: self.detector.predict(texts), read_meta(emotion_dir / "model"),
                                    acall=self._detect_async)
        STATE["backend"] = Backend(emotion_dir, session_dir, predictor=predictor)
        log.info("service ready: %s", STATE["backend"].versions)
        settle_heap()

    async def _detect_async(self, texts: list[str]) -> list[dict]:
        proxy = self.detector
        if hasattr(proxy, "to_async"):  # served: an HTTP call the detector batches with others
            return await proxy.to_async.predict(texts)
        return proxy.predict(texts)  # instantiated in-process (no server): a direct call

    def __is_ready__(self) -> bool:
        return STATE["backend"] is not None


def _versions() -> dict:
    backend = STATE["backend"]
    return backend.versions if backend is not None else {}


EmoHeal.add_asgi_middleware(RequestContext, versions=_versions, max_body_bytes=int(SETTINGS["max_body_bytes"]),
                            local_app=app)
