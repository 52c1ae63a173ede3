"""The HTTP API and the web page, as a FastAPI app that the BentoML service mounts at `/`.

`build_app(get_backend, max_text_chars)` takes a function returning the loaded `Backend`
(None while loading), so the same app runs under BentoML and in-process in tests. The routes
live by concern in serving/routes_*.py, the answers' stamp in serving/replies.py and the
exception handlers in serving/error_handlers.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from emoheal import __version__
from serving.error_handlers import add_error_handlers
from serving.replies import ERRORS, NotReady, Replies
from serving.routes_detection import detection_router
from serving.routes_feedback import feedback_router
from serving.routes_health import WEB, add_web_page, health_router
from serving.routes_media import media_router
from serving.routes_people import people_router

# ERRORS, WEB and NotReady were defined here before the split: still importable from here
__all__ = ["ERRORS", "WEB", "NotReady", "build_app"]


def build_app(get_backend: Callable[[], Any], max_text_chars: int) -> FastAPI:
    app = FastAPI(title="EmoHeal", version=__version__, docs_url=None, redoc_url=None,
                  description="Words → emotions → a three-stage music session (match, guide, target). "
                              "See serving/API.md.")
    replies = Replies(get_backend)
    add_error_handlers(app, replies, max_text_chars)
    # in this order, as before the split: the OpenAPI document lists paths in route order
    add_web_page(app)
    app.include_router(health_router(replies))
    app.include_router(detection_router(replies, max_text_chars))
    app.include_router(feedback_router(replies))
    app.include_router(media_router(replies))
    app.include_router(people_router(replies))
    return app
