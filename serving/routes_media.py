"""The audio: GET /session/{id}/mix (the whole session as one stream) and GET /media/{item_id}
(one item's audio, video or poster), both files with range requests."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from serving.backend import CONTENT_TYPES
from serving.replies import Replies
from serving.schemas import ErrorResponse, SessionId


def media_router(replies: Replies) -> APIRouter:
    router = APIRouter()

    @router.get("/session/{session_id}/mix", responses={404: {"model": ErrorResponse},
                                                       206: {"description": "a byte range"}},
                response_class=FileResponse,
                summary="the whole session as one continuous, loudness-normalised stream (Opus/Ogg or FLAC)")
    async def mix(session_id: SessionId, format: str = Query("ogg", pattern="^(ogg|flac)$")):  # noqa: A002
        loaded = replies.backend()
        # the first request for a session renders its mix (seconds): off the event loop
        path = await run_in_threadpool(loaded.mix, session_id, format)
        if path is None:
            return replies.error(404, "unknown_session", f"no session {session_id[:40]!r} on this service",
                                 "session_id")
        return FileResponse(path, media_type=CONTENT_TYPES["." + format],
                            headers={"Cache-Control": "private, max-age=86400"})

    @router.get("/media/{item_id}", responses={404: {"model": ErrorResponse}, 206: {"description": "a byte range"}},
                response_class=FileResponse, summary="an item's audio (or video / poster), with range requests")
    async def media(item_id: str, kind: str = Query("audio", pattern="^(audio|video|poster)$")):
        loaded = replies.backend()
        found = loaded.media(item_id, kind)
        if found is None:
            return replies.error(404, "unknown_media", f"no {kind} for item {item_id[:80]!r}", "item_id")
        path, content_type = found
        return FileResponse(path, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"})

    return router
