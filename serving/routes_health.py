"""The web page with its static files, and the probes: /healthz (the process is up) and /readyz
(models, graph and index are loaded; 503 until then)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from serving.replies import Replies
from serving.schemas import Health, Readiness

WEB = Path(__file__).parent / "web"


def add_web_page(app: FastAPI) -> None:
    """On the app itself: a router cannot carry the static mount."""
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(WEB / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=WEB), name="static")


def health_router(replies: Replies) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_model=Health, summary="the process is up")
    async def healthz():
        return replies.stamped({"status": "ok"})

    @router.get("/readyz", response_model=Readiness, summary="models, graph and index are loaded",
                responses={503: {"model": Readiness}})
    async def readyz():
        loaded = replies.get_backend()
        parts = {"emotion_model": loaded is not None, "graph": loaded is not None, "index": loaded is not None}
        ready = all(parts.values())
        warnings = loaded.versions.get("warnings", []) if loaded is not None else []
        return replies.stamped({"ready": ready, "parts": parts, "detail": None if ready else "loading",
                                "warnings": warnings}, 200 if ready else 503)

    return router
