"""Who is asking: the bearer token of an anonymous profile (`POST /users`), looked up by its hash.

Every answer that refuses a token is the same 401, whether the header is missing, malformed or
names no profile (nothing says whether a profile exists); a session that is not the caller's is
the same 403 whether it belongs to someone else or to nobody (nothing says whether it exists)."""

from __future__ import annotations

from fastapi import Request, Security
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving.replies import Replies

UNAUTHORIZED = ("a valid bearer token is required: create a profile with POST /users, then send "
                "`Authorization: Bearer <token>`")
NOT_YOURS = "no session with this id among this profile's sessions"


# Documents the bearer scheme in the OpenAPI schema (routes list it in `dependencies`); the token
# itself is read by `caller`, which answers every refusal alike.
BEARER = [Security(HTTPBearer(auto_error=False, description="the token POST /users returned"))]


class Unauthorized(Exception):
    """Answered with the one 401 (serving/error_handlers.py)."""


class NotYours(Exception):
    """Answered with the one 403."""


def bearer(request: Request) -> str | None:
    """The header's token; '' for a header that is present but not `Bearer <token>`."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


async def caller(request: Request, replies: Replies, required: bool = True) -> str | None:
    """The caller's profile id. Without a header: None (anonymous) when not `required`, else
    Unauthorized. A header that is there but wrong is always refused, so a client whose token
    died learns it instead of silently losing its history."""
    token = bearer(request)
    if token is None and not required:
        return None
    profile = await run_in_threadpool(replies.backend().people.resolve, token) if token else None
    if profile is None:
        raise Unauthorized
    return profile
