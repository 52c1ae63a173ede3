"""The HTTP API and the web page, as a FastAPI app that the BentoML service mounts at `/`.

`build_app(get_backend, max_text_chars)` takes a function returning the loaded `Backend`
(None while loading), so the same app runs under BentoML and in-process in tests."""

# No `from __future__ import annotations`: FastAPI must see the request models built inside
# build_app as real classes, not as names to look up in this module.
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from emoheal import __version__
from emoheal.monitoring.records import derive
from emoheal.session.feedback import FeedbackError, UnknownSessionError
from emoheal.session.runner import SessionInputError, check_text, detect_language
from serving import metrics
from serving.backend import CONTENT_TYPES
from serving.batching import DetectorUnavailable
from serving.middleware import REQUEST_ID, error_document
from serving.schemas import (
    DetectResponse,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    Readiness,
    SessionId,
    SessionResponse,
    request_models,
)

WEB = Path(__file__).parent / "web"
ERRORS = {400: {"model": ErrorResponse, "description": "invalid JSON"},
          404: {"model": ErrorResponse, "description": "unknown session or media"},
          413: {"model": ErrorResponse, "description": "body too large"},
          415: {"model": ErrorResponse, "description": "not JSON"},
          422: {"model": ErrorResponse, "description": "a field is missing, of the wrong type or out of range"},
          503: {"model": ErrorResponse, "description": "loading, or the detector is busy (see Retry-After)"}}
log = logging.getLogger("emoheal.serving")


class NotReady(Exception):
    pass


def build_app(get_backend: Callable[[], Any], max_text_chars: int) -> FastAPI:
    DetectRequest, SessionRequest = request_models(max_text_chars)
    app = FastAPI(title="EmoHeal", version=__version__, docs_url=None, redoc_url=None,
                  description="Words → emotions → a three-stage music session (match, guide, target). "
                              "See serving/API.md.")

    def backend():
        loaded = get_backend()
        if loaded is None:
            raise NotReady
        return loaded

    def versions() -> dict:
        loaded = get_backend()
        return loaded.versions if loaded is not None else {"emoheal": __version__}

    def stamped(body: dict, status: int = 200) -> JSONResponse:
        return JSONResponse({"request_id": REQUEST_ID.get(), "versions": versions(), **body}, status_code=status)

    def error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
        metrics.errors(code)
        return JSONResponse(error_document(REQUEST_ID.get(), versions(), code, message, field), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError):
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error(400, "invalid_json", "the request body is not valid JSON")
        first = problems[0]
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        field = ".".join(loc) or None
        kind = first.get("type", "")
        if field == "text" and kind == "string_too_long":
            return error(422, "text_too_long", f"text is longer than {max_text_chars:,} characters; "
                         f"at most {max_text_chars:,} are accepted", "text")
        if field == "text" and kind == "string_too_short":
            return error(422, "text_empty", "text is empty: write a few words about how you feel", "text")
        if field is None and kind == "missing":
            return error(422, "validation_error", "send a JSON object body (see /docs.json)")
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        return error(422, "validation_error", f"{field or 'body'}: {first.get('msg', 'invalid')}{more}", field)

    @app.exception_handler(SessionInputError)
    async def bad_session_input(_: Request, exc: SessionInputError):
        return error(422, exc.code, str(exc), exc.field)

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, __: NotReady):
        return error(503, "not_ready", "the models are still loading; retry in a few seconds")

    @app.exception_handler(DetectorUnavailable)
    async def detector_busy(_: Request, exc: DetectorUnavailable):
        response = error(503, "busy", f"{exc}; retry in a moment")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def server_error(_: Request, exc: Exception):
        log.error("request %s failed: %s", REQUEST_ID.get(), type(exc).__name__)  # type only: no user text
        return error(500, "internal_error", f"something went wrong on our side (request {REQUEST_ID.get()})")

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(WEB / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/healthz", response_model=Health, summary="the process is up")
    async def healthz():
        return stamped({"status": "ok"})

    @app.get("/readyz", response_model=Readiness, summary="models, graph and index are loaded",
             responses={503: {"model": Readiness}})
    async def readyz():
        loaded = get_backend()
        parts = {"emotion_model": loaded is not None, "graph": loaded is not None, "index": loaded is not None}
        ready = all(parts.values())
        warnings = loaded.versions.get("warnings", []) if loaded is not None else []
        return stamped({"ready": ready, "parts": parts, "detail": None if ready else "loading", "warnings": warnings},
                       200 if ready else 503)

    def recorded(response: JSONResponse, loaded, endpoint: str, text: str, started: float) -> JSONResponse:
        """Append the derived record after the answer is sent (length bucket only, never the text)."""
        payload = json.loads(response.body)
        record = derive(endpoint, payload["request_id"], len(text), payload, (time.perf_counter() - started) * 1e3)
        response.background = BackgroundTask(loaded.records.append, record)
        return response

    @app.post("/detect", response_model=DetectResponse, responses=ERRORS, summary="emotions in a text")
    async def detect(body: DetectRequest):
        started = time.perf_counter()
        loaded = backend()
        text = check_text(body.text, max_text_chars)
        prediction = (await loaded.predict([text]))[0]
        detected, confidence = detect_language(text)
        ranked = sorted(prediction.probabilities.items(), key=lambda kv: -kv[1])[:5]
        metrics.detected(prediction.labels)
        response = stamped({"language": {"detected": detected, "confidence": confidence},
                            "emotions": {"probabilities": prediction.probabilities, "labels": prediction.labels,
                                         "truncated": prediction.truncated},
                            "top": [{"label": k, "probability": v} for k, v in ranked]})
        return recorded(response, loaded, "detect", text, started)

    @app.post("/session", response_model=SessionResponse, responses=ERRORS,
              summary="a three-stage session for a text (crisis resources instead when the text signals risk; "
                      "a check-in question first when the screen is unsure)")
    async def session(body: SessionRequest):
        started = time.perf_counter()
        loaded = backend()
        result = await loaded.session(body.text, body.goal, body.minutes, body.lang, body.user, body.check_in,
                                      body.seed)
        payload = loaded.session_payload(result)
        metrics.session(payload)
        return recorded(stamped(payload), loaded, "session", body.text, started)

    @app.post("/feedback", response_model=FeedbackResponse, responses=ERRORS,
              summary="a stage rating, or the two study questions")
    async def feedback(body: FeedbackRequest):
        loaded = backend()
        stage_form = body.stage is not None
        study_form = body.reflected is not None or body.calmer is not None
        if stage_form == study_form or (study_form and (body.reflected is None or body.calmer is None)):
            return error(422, "validation_error", "send either stage (+ rating, null to skip) or both reflected "
                         "and calmer (1-5)", "stage")
        if stage_form and "rating" not in body.model_fields_set:
            return error(422, "validation_error", "rating is missing (1-5, or null for skipped)", "rating")
        try:
            if stage_form:
                await run_in_threadpool(loaded.store.add_feedback, body.session_id, body.stage, body.rating)
            else:
                await run_in_threadpool(loaded.store.add_study_answers, body.session_id, body.reflected, body.calmer)
        except UnknownSessionError as exc:
            return error(404, "unknown_session", str(exc), "session_id")
        except FeedbackError as exc:
            return error(422, "validation_error", str(exc))
        metrics.feedback("stage" if stage_form else "study", body)
        await run_in_threadpool(loaded.records.add_rating, body.session_id, body.stage, body.rating,
                                body.reflected, body.calmer)
        return stamped({"session_id": body.session_id, "recorded": "stage" if stage_form else "study"})

    @app.get("/session/{session_id}/mix", responses={404: {"model": ErrorResponse},
                                                    206: {"description": "a byte range"}},
             response_class=FileResponse,
             summary="the whole session as one continuous, loudness-normalised stream (Opus/Ogg or FLAC)")
    async def mix(session_id: SessionId, format: str = Query("ogg", pattern="^(ogg|flac)$")):  # noqa: A002
        loaded = backend()
        path = await run_in_threadpool(loaded.mix, session_id, format)
        if path is None:
            return error(404, "unknown_session", f"no session {session_id[:40]!r} on this service", "session_id")
        return FileResponse(path, media_type=CONTENT_TYPES["." + format],
                            headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/media/{item_id}", responses={404: {"model": ErrorResponse}, 206: {"description": "a byte range"}},
             response_class=FileResponse, summary="an item's audio (or video / poster), with range requests")
    async def media(item_id: str, kind: str = Query("audio", pattern="^(audio|video|poster)$")):
        loaded = backend()
        found = loaded.media(item_id, kind)
        if found is None:
            return error(404, "unknown_media", f"no {kind} for item {item_id[:80]!r}", "item_id")
        path, content_type = found
        return FileResponse(path, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"})

    return app
