"""What the HTTP layer calls: the bundled models loaded once, the session runner, the media
lookup and the version stamps. Independent of BentoML so the app can be tested in-process;
`service.py` builds it from the BentoML model store."""

from __future__ import annotations

import logging
import os
import threading
from functools import partial
from pathlib import Path
from typing import Any

from anyio import CapacityLimiter, to_thread
from starlette.concurrency import run_in_threadpool

from emoheal import __version__
from emoheal.bento.store import MEDIA_DIR, SAFETY_DIR, SETTINGS_FILE
from emoheal.emotion.artifacts import read_meta
from emoheal.emotion.predictor import Prediction
from emoheal.monitoring.records import RecordStore
from emoheal.retrieval.config import settings_from_config
from emoheal.session.runner import RunnerPaths, SessionRunner
from emoheal.settings import GRAPH_FILE, INDEX_DIR, Bundle, Serving
from emoheal.settings.base import validate
from emoheal.store.database import open_store
from emoheal.store.engine import redacted, store_url
from emoheal.store.people import People
from emoheal.store.retention import apply_retention
from emoheal.utils.io import read_json

log = logging.getLogger("emoheal.serving")
RUNTIMES = ("onnx-int8", "onnx", "torch")
RETENTION_EVERY_S = 86_400.0
# (EMOHEAL_STORE_URL, which wins over store_url and store_file, is read where the store opens:
# emoheal.store.engine.store_url, so the CLI honours it too)
ENV_OVERRIDES = {"EMOHEAL_STORE_FILE": "store_file", "EMOHEAL_RETENTION_DAYS": "retention_days",
                 "EMOHEAL_LOCALE": "locale", "EMOHEAL_MAX_TEXT_CHARS": "max_text_chars", "EMOHEAL_WORKERS": "workers",
                 "EMOHEAL_SESSION_THREADS": "session_threads"}
CONTENT_TYPES = {".flac": "audio/flac", ".wav": "audio/wav", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
                 ".m4a": "audio/mp4", ".mp4": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska",
                 ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _bundle_hint(key: str) -> str:
    """Where a settings.json key comes from, and how to fix it."""
    top = key.split(".", 1)[0]
    env = [name for name, k in ENV_OVERRIDES.items() if k == top] + \
        (["EMOHEAL_DETECTOR_RUNTIME"] if key == "detector.runtime" else [])
    origin = "conf/retrieval/*.yaml" if top == "retrieval" else "conf/serving/*.yaml" if top in Serving.model_fields \
        else "the bundle's provenance"
    return (f"written from {origin} by `emoheal bento import`: rebuild the bundle with `make bento-models`"
            + (f", or fix {env[0]}" if env else ""))


def check_settings(settings: Any, source: str) -> dict[str, Any]:
    """A bundle's settings, validated (a ParamsError names `source`, the key and its conf/ home)."""
    validate(Bundle, settings, source, _bundle_hint)
    return settings


def load_settings(session_dir: str | Path) -> dict[str, Any]:
    """The settings the bundle was built with (conf/serving, the retrieval sections that choose the
    music, provenance), checked; then the EMOHEAL_* environment overrides, checked again."""
    path = Path(session_dir) / SETTINGS_FILE
    settings = check_settings(read_json(path), str(path))
    overridden = []
    for env, key in ENV_OVERRIDES.items():
        if os.environ.get(env):
            settings[key] = _typed(os.environ[env], type(settings[key]))
            overridden.append(env)
    if os.environ.get("EMOHEAL_DETECTOR_RUNTIME"):
        settings["detector"] = {**settings["detector"], "runtime": os.environ["EMOHEAL_DETECTOR_RUNTIME"]}
        overridden.append("EMOHEAL_DETECTOR_RUNTIME")
    return check_settings(settings, f"{path} with {', '.join(overridden)}") if overridden else settings


def _typed(value: str, kind: type) -> Any:
    """An environment variable's text as the setting's type; left as text when it is not one, so
    the check names the key and shows the value."""
    if kind is int:
        try:
            return int(value)
        except ValueError:
            return value
    return value


def chosen_runtime(emotion_dir: str | Path, requested: str) -> str:
    """`auto` means what the import's parity check chose (torch for a bundle without ONNX)."""
    bundle = Path(emotion_dir) / "bundle.json"
    if requested == "auto":
        return read_json(bundle)["runtime"] if bundle.is_file() else "torch"
    if requested not in RUNTIMES:
        raise ValueError(f"unknown detector runtime {requested!r}: auto, {', '.join(RUNTIMES)}")
    return requested


def load_predictor(emotion_dir: str | Path, runtime: str, threads: int):
    """The emotion predictor for a runtime: ONNX Runtime (int8 or fp32) or eager PyTorch."""
    emotion_dir = Path(emotion_dir)
    if runtime == "torch":
        import torch

        from emoheal.emotion.predictor import EmotionPredictor

        torch.set_num_threads(threads)
        return EmotionPredictor(emotion_dir)
    from emoheal.emotion.onnx_predictor import OnnxEmotionPredictor

    name = "model.int8.onnx" if runtime == "onnx-int8" else "model.onnx"
    return OnnxEmotionPredictor(emotion_dir, emotion_dir / "onnx" / name, threads=threads)


class Backend:
    def __init__(self, emotion_dir: str | Path, session_dir: str | Path, predictor: Any = None,
                 settings: dict[str, Any] | None = None):
        self.emotion_dir, self.session_dir = Path(emotion_dir), Path(session_dir)
        self.settings = check_settings(settings, "settings") if settings is not None \
            else load_settings(self.session_dir)
        bundle = self.emotion_dir / "bundle.json"
        self.bundle = read_json(bundle) if bundle.is_file() else {}
        self.meta = read_meta(self.emotion_dir / "model")
        self.runtime = chosen_runtime(self.emotion_dir, self.settings["detector"]["runtime"])
        if predictor is None:
            predictor = load_predictor(self.emotion_dir, self.runtime, self.settings["detector"]["threads"])
        self.predictor = predictor
        paths = RunnerPaths(str(self.emotion_dir), str(self.session_dir / GRAPH_FILE),
                            str(self.session_dir / INDEX_DIR), str(self.session_dir / SAFETY_DIR))
        # the retrieval settings the bundle carries: what `make bento` composed from conf/retrieval
        _, sequence = settings_from_config(self.settings["retrieval"])
        # one store for people's data and the monitoring records (never text): SQLite beside the
        # server, or the PostgreSQL database every replica shares; migrated to the newest schema here
        self.store_url = store_url(self.settings["store_url"], self.settings["store_file"])
        self.engine = open_store(self.store_url)
        log.info("store: %s", redacted(self.store_url))
        self.runner = SessionRunner(paths, locale=self.settings["locale"], store=self.engine,
                                    predictor=predictor, max_text_chars=self.settings["max_text_chars"],
                                    sequence=sequence)
        self.items = self.runner.index.items.set_index("id", drop=False)
        self.session_limiter = CapacityLimiter(self.settings["session_threads"])
        self.records = RecordStore(self.engine)
        self.people = People(self.engine)
        self.media_root = (self.session_dir / MEDIA_DIR).resolve()
        self.versions = {"emoheal": __version__, "emotion_model": self.meta["version"],
                         "registry_version": self.bundle.get("registry_version"), "runtime": self.runtime,
                         "safety_model": self.runner.screen.version, "graph": self.runner.planner.version,
                         "retrieval_backend": self.runner.index.backend, "warnings": self.warnings()}
        for warning in self.versions["warnings"]:
            log.warning("serving with a warning: %s", warning)

    def warnings(self) -> list[str]:
        """What is served but not as it should be, in every answer's `versions` and in /readyz: never a
        quiet fallback. An uncalibrated detector (no thresholds.json / calibration.json: 0.5 and no
        temperature), a model whose training run the registry could not find, metrics that could not
        register."""
        from serving import metrics

        found = list(self.bundle.get("warnings") or [])
        detector = getattr(self.predictor, "predictor", self.predictor)  # the batcher wraps the predictor
        if not getattr(detector, "calibrated", True):
            found.append("emotion model uncalibrated: no thresholds.json / calibration.json beside it, so labels "
                         "use 0.5 and no temperature (run the thresholds stage, then `make bento-models`)")
        problem = metrics.status()["problem"]
        if problem:
            found.append(f"metrics: {problem}")
        return found

    @property
    def store(self):
        return self.runner.store

    def apply_retention(self) -> dict[str, int]:
        """Delete what is older than `retention_days` (the service does it once a day)."""
        removed = apply_retention(self.engine, self.settings["retention_days"])
        log.info("retention (%d days): removed %s", self.settings["retention_days"], removed)
        return removed

    def start_retention(self, every_s: float = RETENTION_EVERY_S) -> threading.Event:
        """Apply retention now and then every `every_s` seconds, in a daemon thread; set the returned
        event to stop it. Every replica does it: deleting what is old twice deletes nothing more."""
        stop = threading.Event()

        def loop():
            while True:
                try:
                    self.apply_retention()
                except Exception as exc:  # a store that is briefly unreachable: try again next time
                    log.error("retention failed: %s", type(exc).__name__)
                if stop.wait(every_s):
                    return

        threading.Thread(target=loop, name="emoheal-retention", daemon=True).start()
        return stop

    async def predict(self, texts: list[str]) -> list[Prediction]:
        """Detection without blocking the event loop: the remote detector's async call, or a thread."""
        if hasattr(self.predictor, "apredict"):
            return await self.predictor.apredict(texts)
        return await run_in_threadpool(self.predictor.predict, texts)

    async def session(self, text: str, goal: str, minutes: float | None, lang: str | None,
                      user: str | None, check_in: str | None = None, seed: int | None = None) -> dict:
        # The checks and the crisis screen run in worker threads, at most `session_threads` at once, first
        # come first served: the screen's model releases the GIL, so the event loop serves other requests
        # meanwhile. Then the batched detector; then plan, retrieval and narratives on the event loop
        # itself: that work holds the GIL throughout (Python and small arrays), so a worker thread gave
        # it no parallelism, only a convoy — the loop waited up to the interpreter's 5 ms switch
        # interval for the GIL at every wake-up, which was most of the /session tail at 8 clients
        # (benchmarks/results/issue17/README.md). A few ms per session on the loop cost less.
        early, state = await to_thread.run_sync(partial(self.runner.begin, text, goal, lang, check_in, minutes, seed),
                                                limiter=self.session_limiter)
        if early is not None:
            return early
        prediction = (await self.predict([text]))[0]
        return self.runner.finish(state, text, prediction, minutes, user, frozenset(), seed)

    def mix(self, session_id: str, fmt: str) -> Path | None:
        """The session's whole timeline as one audio file, rendered on first request and cached next
        to the feedback store (None: this service never made that session)."""
        from emoheal.session.mix import cached_mix

        tracks = self.store.timeline(session_id) if self.store is not None else None
        if not tracks:
            return None

        def resolve(item_id: str) -> Path | None:
            found = self.media(item_id, "audio")
            return None if found is None else found[0]

        cache = Path(self.settings["store_file"]).with_name("mix")  # this server's cache, beside its SQLite file
        return cached_mix(tracks, resolve, cache, fmt)

    def media(self, item_id: str, kind: str) -> tuple[Path, str] | None:
        """(file, content type) of an item's audio, video or poster; None when it has none."""
        if item_id not in self.items.index:
            return None
        row = self.items.loc[item_id]
        column = {"audio": "audio_path", "video": "media_path", "poster": "poster_path"}.get(kind)
        if column is None or (kind == "video" and row["media_type"] != "video"):
            return None
        rel = row.get(column) if column in row else None
        if not isinstance(rel, str) or not rel:
            rel = row["media_path"] if kind == "audio" and row["media_type"] == "audio" else None
        if rel is None:
            return None
        path = (self.media_root / rel).resolve()
        if not path.is_relative_to(self.media_root) or not path.is_file():  # only bundled files, never ../
            return None
        return path, CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")

    def item_payload(self, item: dict | None) -> dict | None:
        if not item:
            return None
        video = item.get("media_type") == "video"
        return {"id": item["id"], "title": item["title"], "media_type": item["media_type"],
                "duration_s": item.get("duration_s"), "start_s": item.get("start_s"),
                "audio_url": f"/media/{item['id']}", "video_url": f"/media/{item['id']}?kind=video" if video else None,
                "poster_url": f"/media/{item['id']}?kind=poster" if item.get("poster_path") else None,
                "timbre": item.get("timbre"), "sound": item.get("sound"), "measured": item.get("measured") or {}}

    @staticmethod
    def track_payload(track: dict) -> dict:
        """One track of a stage's sequence, its media as a URL."""
        keys = ("item_id", "title", "at_s", "start_s", "duration_s", "fade_in_s", "fade_out_s", "measured",
                "felt_tempo_bpm", "score", "trim", "timbre", "timbre_match")
        return {**{k: track.get(k) for k in keys}, "audio_url": f"/media/{track['item_id']}"}

    def session_payload(self, result: dict) -> dict:
        """The runner's result in the API's shape: media as URLs (never server paths). A NaN left in
        it becomes null when the answer is rendered (`replies.FiniteJSONResponse`)."""
        stages = []
        for s in result["stages"]:
            score = s.get("score") or {}
            stages.append({
                "name": s["name"], "minutes": s["minutes"], "start_minute": s["start_minute"],
                "valence": s["valence"], "arousal": s["arousal"], "narrative": s["narrative"],
                "what": s["prompt"], "why": s["explanation"]["plan"].get("summary", ""),
                "targets": s["targets"], "status": s["status"], "reason": s.get("reason"),
                "item": self.item_payload(s.get("item")),
                "tracks": [self.track_payload(t) for t in s.get("tracks", [])],
                "sequence": s.get("sequence"), "score": score.get("total"),
                "alternatives": [a["id"] for a in s.get("alternatives", [])],
            })
        timeline = result.get("timeline")
        if timeline is not None and stages:
            timeline = {**timeline, "mix_url": f"/session/{result['session_id']}/mix"}
        safety = result["safety"]
        return {
            "session_id": result["session_id"] if stages else None, "goal": result["goal"],
            "language": result.get("language"), "notice": result.get("notice"),
            "safety": {"level": safety["level"], "message": safety.get("message", ""),
                       "resources": safety.get("resources", []), "check_in": safety.get("check_in")},
            "emotions": result.get("emotions"), "prelude": result.get("prelude"),
            "epilogue": result.get("epilogue"), "explanation": result.get("explanation"),
            "personalisation": result.get("personalisation"), "stages": stages,
            "timeline": timeline if stages else None,
        }
