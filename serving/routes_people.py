"""A person's own data: POST /users (a new anonymous profile and its token), and with that token
GET /users/me/history, GET /users/me/export and DELETE /users/me (erasure)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from serving.identity import BEARER, caller
from serving.replies import AUTH_ERRORS, ERRORS, Replies
from serving.schemas import Erased, Export, History, ProfileCreated


def people_router(replies: Replies) -> APIRouter:
    router = APIRouter()

    @router.post("/users", status_code=201, response_model=ProfileCreated, responses={503: ERRORS[503]},
                 summary="a new anonymous profile: its bearer token, shown once")
    async def create():
        loaded = replies.backend()
        _, token = await run_in_threadpool(loaded.people.create)
        return replies.stamped({"token": token, "created": time.time()}, status=201)

    @router.get("/users/me/history", response_model=History, responses=AUTH_ERRORS, dependencies=BEARER,
                summary="your sessions, newest first, with the ratings you gave (never text)")
    async def history(request: Request, limit: int = 50):
        profile = await caller(request, replies)
        limit = min(max(limit, 1), 500)
        loaded = replies.backend()
        sessions = await run_in_threadpool(loaded.people.history, profile, limit)
        return replies.stamped({"sessions": sessions, "retention_days": loaded.settings["retention_days"]})

    @router.get("/users/me/export", response_model=Export, responses=AUTH_ERRORS, dependencies=BEARER,
                summary="everything stored about you, as JSON")
    async def export(request: Request):
        profile = await caller(request, replies)
        loaded = replies.backend()
        stored = await run_in_threadpool(loaded.people.export, profile)
        preferences = await run_in_threadpool(loaded.runner.preferences_of, profile)
        return replies.stamped({**stored, "preferences": preferences,
                                "retention_days": loaded.settings["retention_days"]})

    @router.delete("/users/me", response_model=Erased, responses=AUTH_ERRORS, dependencies=BEARER,
                   summary="erase your profile, sessions, ratings and what they taught; the token stops working")
    async def erase(request: Request):
        profile = await caller(request, replies)
        erased = await run_in_threadpool(replies.backend().people.erase, profile)
        return replies.stamped({"erased": erased})

    return router
