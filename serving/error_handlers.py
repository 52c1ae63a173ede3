"""The app's exception handlers: every failure, from a malformed body to a bug, answers with the
stamped JSON error document (serving/replies.py), never the framework's own plain bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from emoheal.session.runner import SessionInputError
from serving.batching import DetectorUnavailable
from serving.identity import NOT_YOURS, UNAUTHORIZED, NotYours, Unauthorized
from serving.middleware import REQUEST_ID
from serving.replies import NotReady, Replies

log = logging.getLogger("emoheal.serving")


def validation_answer(replies: Replies, problems: list[dict], max_text_chars: int):
    """The error for a request FastAPI's validation refused: the first problem, in words a person
    can act on (the text limits get their own codes, which the web page shows as they are)."""
    if any(p.get("type") == "json_invalid" for p in problems):
        return replies.error(400, "invalid_json", "the request body is not valid JSON")
    first = problems[0]
    loc = [str(x) for x in first.get("loc", ()) if x != "body"]
    field = ".".join(loc) or None
    kind = first.get("type", "")
    if field == "text" and kind == "string_too_long":
        return replies.error(422, "text_too_long", f"text is longer than {max_text_chars:,} characters; "
                             f"at most {max_text_chars:,} are accepted", "text")
    if field == "text" and kind == "string_too_short":
        return replies.error(422, "text_empty", "text is empty: write a few words about how you feel", "text")
    if field == "user" and kind == "extra_forbidden":
        return replies.error(422, "validation_error", "user is no longer accepted: a person is known by a bearer "
                             "token (POST /users), sent as `Authorization: Bearer <token>`", "user")
    if field is None and kind == "missing":
        return replies.error(422, "validation_error", "send a JSON object body (see /docs.json)")
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return replies.error(422, "validation_error", f"{field or 'body'}: {first.get('msg', 'invalid')}{more}", field)


def add_error_handlers(app: FastAPI, replies: Replies, max_text_chars: int) -> None:
    error = replies.error

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError):
        return validation_answer(replies, exc.errors(), max_text_chars)

    @app.exception_handler(SessionInputError)
    async def bad_session_input(_: Request, exc: SessionInputError):
        return error(422, exc.code, str(exc), exc.field)

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized):
        response = error(401, "unauthorized", UNAUTHORIZED)
        response.headers["WWW-Authenticate"] = 'Bearer realm="emoheal"'
        return response

    @app.exception_handler(NotYours)
    async def not_yours(_: Request, __: NotYours):
        return error(403, "forbidden", NOT_YOURS, "session_id")

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
