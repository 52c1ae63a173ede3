"""POST /feedback: a stage rating, or the two study questions, for a session this service made."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from emoheal.session.feedback import FeedbackError, UnknownSessionError
from serving import metrics
from serving.identity import BEARER, NotYours, caller
from serving.replies import AUTH_ERRORS, ERRORS, Replies
from serving.schemas import FeedbackRequest, FeedbackResponse


def feedback_router(replies: Replies) -> APIRouter:
    router = APIRouter()
    error = replies.error

    @router.post("/feedback", response_model=FeedbackResponse, responses={**ERRORS, **AUTH_ERRORS},
                 dependencies=BEARER, summary="a stage rating, or the two study questions, for one of your sessions")
    async def feedback(body: FeedbackRequest, request: Request):
        loaded = replies.backend()
        stage_form = body.stage is not None
        study_form = body.reflected is not None or body.calmer is not None
        if stage_form == study_form or (study_form and (body.reflected is None or body.calmer is None)):
            return error(422, "validation_error", "send either stage (+ rating, null to skip) or both reflected "
                         "and calmer (1-5)", "stage")
        if stage_form and "rating" not in body.model_fields_set:
            return error(422, "validation_error", "rating is missing (1-5, or null for skipped)", "rating")
        profile = await caller(request, replies)
        exists, owner = await run_in_threadpool(loaded.store.owner, body.session_id)
        if not exists or owner != profile:  # one answer for both: nothing says whether the session exists
            raise NotYours
        try:  # the store writes to disk: off the event loop
            if stage_form:
                await run_in_threadpool(loaded.store.add_feedback, body.session_id, body.stage, body.rating)
            else:
                await run_in_threadpool(loaded.store.add_study_answers, body.session_id, body.reflected, body.calmer)
        except UnknownSessionError:  # erased in between
            raise NotYours from None
        except FeedbackError as exc:
            return error(422, "validation_error", str(exc))
        metrics.feedback("stage" if stage_form else "study", body)
        await run_in_threadpool(loaded.records.add_rating, body.session_id, body.stage, body.rating,
                                body.reflected, body.calmer)
        return replies.stamped({"session_id": body.session_id, "recorded": "stage" if stage_form else "study"})

    return router
