"""Pure ASGI middleware around the whole server: a request id and version stamp on every
response, the body-size limit, JSON-only POSTs, and one access-log line per request with
method, path, status and latency — never the body, so never the person's text."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("emoheal_request_id", default="-")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
JSON_POSTS = ("/detect", "/session", "/feedback")  # POST /users takes no body
log = logging.getLogger("emoheal.serving.access")


class BodyTooLarge(Exception):
    pass


def error_document(request_id: str, versions: dict, code: str, message: str, field: str | None = None) -> dict:
    return {"request_id": request_id, "versions": versions, "error": {"code": code, "message": message, "field": field}}


class RequestContext:
    """`app`: the server; `local_app`: where /healthz and /readyz go (our app, whose answers
    carry stamps, in front of the framework's plain-text probes); `versions`: the stamp."""

    def __init__(self, app, versions: Callable[[], dict], max_body_bytes: int = 65536, local_app=None):
        self.app, self.versions, self.max_body_bytes, self.local_app = app, versions, max_body_bytes, local_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started, status = time.perf_counter(), [0]
        versions = self.versions()
        stamp = " ".join(f"{k}/{v}" for k, v in versions.items() if v)

        async def stamped_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode()),
                                      (b"x-emoheal-version", stamp.encode("latin-1", "replace"))]
            await send(message)

        async def reject(code_status: int, code: str, message: str):
            body = json.dumps(error_document(request_id, versions, code, message)).encode()
            await stamped_send({"type": "http.response.start", "status": code_status,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        seen = [0]

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        path, method = scope["path"], scope["method"]
        try:
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_body_bytes:
                await reject(413, "body_too_large", f"the request body is {int(length):,} bytes; "
                             f"at most {self.max_body_bytes:,} are accepted")
            elif method == "POST" and path in JSON_POSTS and not _is_json(headers.get("content-type", "")):
                await reject(415, "unsupported_media_type", "send the request as JSON "
                             "(Content-Type: application/json)")
            else:
                target = self.local_app if self.local_app is not None and _ours(path) else self.app
                await target(scope, limited_receive, stamped_send)
        except BodyTooLarge:
            if status[0] == 0:
                await reject(413, "body_too_large", f"the request body exceeds {self.max_body_bytes:,} bytes")
        finally:
            log.info("%s %s %s %.1f ms id=%s", method, path, status[0], (time.perf_counter() - started) * 1e3,
                     request_id)
            REQUEST_ID.reset(token)


def _ours(path: str) -> bool:
    """Paths answered by our app directly: the probes (stamped JSON instead of the framework's
    plain text) and media ids, whatever bytes they contain (the framework's catch-all mount
    does not match ids with a newline, and its 404 would not be JSON)."""
    return path in ("/healthz", "/readyz") or path.startswith("/media/")


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")
