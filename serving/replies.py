"""What every route answers with: the loaded backend (or `NotReady` while it loads), a JSON body
stamped with the request id and versions, and the error document — one place, so success and
error answers carry the same stamp whichever route (or exception handler) sends them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from emoheal import __version__
from serving import metrics
from serving.middleware import REQUEST_ID, error_document
from serving.schemas import ErrorResponse

# The error answers a JSON route documents in the OpenAPI schema (the middleware sends 413 and 415).
ERRORS = {400: {"model": ErrorResponse, "description": "invalid JSON"},
          404: {"model": ErrorResponse, "description": "unknown session or media"},
          413: {"model": ErrorResponse, "description": "body too large"},
          415: {"model": ErrorResponse, "description": "not JSON"},
          422: {"model": ErrorResponse, "description": "a field is missing, of the wrong type or out of range"},
          503: {"model": ErrorResponse, "description": "loading, or the detector is busy (see Retry-After)"}}
# ... and a route that takes a person's token (serving/identity.py)
AUTH_ERRORS = {401: {"model": ErrorResponse, "description": "missing, malformed or unknown bearer token"},
               403: {"model": ErrorResponse, "description": "a session that is not one of this profile's"},
               503: ERRORS[503]}


def finite(value: Any) -> Any:
    """JSON has no NaN: unknown measurements become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class FiniteJSONResponse(JSONResponse):
    """A JSON answer in which a NaN or infinity (an unknown measurement) is null. Rendered as it
    comes first — a session's body is some thousand values, and walking them all for the rare NaN
    cost more than rendering it — and walked only when rendering refuses one. `content` is what was
    sent (the walked copy then), for the monitoring record."""

    def render(self, content: Any) -> bytes:
        self.content = content
        try:
            return super().render(content)
        except ValueError:  # "Out of range float values are not JSON compliant"
            self.content = finite(content)
            return super().render(self.content)


class NotReady(Exception):
    """Raised by `Replies.backend` while the models load; the app answers it with 503 not_ready."""


@dataclass(frozen=True)
class Replies:
    """`get_backend`: the loaded `Backend`, or None while loading (looked up per request, since
    the service loads it after the app is built)."""

    get_backend: Callable[[], Any]

    def backend(self):
        loaded = self.get_backend()
        if loaded is None:
            raise NotReady
        return loaded

    def versions(self) -> dict:
        loaded = self.get_backend()
        return loaded.versions if loaded is not None else {"emoheal": __version__}

    def document(self, body: dict) -> dict:
        """An answer's body with the request id and the versions that made it."""
        return {"request_id": REQUEST_ID.get(), "versions": self.versions(), **body}

    def stamped(self, body: dict, status: int = 200) -> JSONResponse:
        return JSONResponse(self.document(body), status_code=status)

    def error(self, status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
        metrics.errors(code)
        return JSONResponse(error_document(REQUEST_ID.get(), self.versions(), code, message, field),
                            status_code=status)
