"""POST /detect (emotions in a text) and POST /session (a three-stage session for it): the two
routes that take the person's text, so the two that append a monitoring record."""

# No `from __future__ import annotations`: FastAPI must see the request models built inside
# detection_router (their text limit is a setting) as real classes, not as names to look up here.
import time

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask

from emoheal.monitoring.records import derive
from emoheal.session.runner import check_text, detect_language
from serving import metrics
from serving.identity import BEARER, caller
from serving.replies import AUTH_ERRORS, ERRORS, FiniteJSONResponse, Replies
from serving.schemas import DetectResponse, SessionResponse, request_models


def recorded(replies: Replies, body: dict, loaded, endpoint: str, text: str, started: float) -> FiniteJSONResponse:
    """The stamped answer; its derived record is appended after it is sent (length bucket only, never
    the text). The record reads the document the response serialises, not a re-parse of its bytes."""
    response = FiniteJSONResponse(replies.document(body))
    document = response.content  # what was sent: NaN made null
    record = derive(endpoint, document["request_id"], len(text), document, (time.perf_counter() - started) * 1e3)
    response.background = BackgroundTask(loaded.records.append, record)
    return response


def detection_router(replies: Replies, max_text_chars: int) -> APIRouter:
    DetectRequest, SessionRequest = request_models(max_text_chars)
    router = APIRouter()

    @router.post("/detect", response_model=DetectResponse, responses=ERRORS, summary="emotions in a text")
    async def detect(body: DetectRequest):
        started = time.perf_counter()
        loaded = replies.backend()
        text = check_text(body.text, max_text_chars)
        prediction = (await loaded.predict([text]))[0]
        detected, confidence = detect_language(text)
        ranked = sorted(prediction.probabilities.items(), key=lambda kv: -kv[1])[:5]
        metrics.detected(prediction.labels)
        body = {"language": {"detected": detected, "confidence": confidence},
                "emotions": {"probabilities": prediction.probabilities, "labels": prediction.labels,
                             "truncated": prediction.truncated},
                "top": [{"label": k, "probability": v} for k, v in ranked]}
        return recorded(replies, body, loaded, "detect", text, started)

    @router.post("/session", response_model=SessionResponse, responses={**ERRORS, 401: AUTH_ERRORS[401]},
                 dependencies=BEARER,
                 summary="a three-stage session for a text (crisis resources instead when the text signals risk; "
                         "a check-in question first when the screen is unsure); with a profile's token, "
                         "personalised and kept in its history")
    async def session(body: SessionRequest, request: Request):
        started = time.perf_counter()
        loaded = replies.backend()
        profile = await caller(request, replies, required=False)
        result = await loaded.session(body.text, body.goal, body.minutes, body.lang, profile, body.check_in,
                                      body.seed)
        payload = loaded.session_payload(result)
        metrics.session(payload)
        return recorded(replies, payload, loaded, "session", body.text, started)

    return router
