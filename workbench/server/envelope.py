"""The ``{success, data, error, metadata}`` envelope on every /api/sessions and /api/studies response, errors included.

Two layers, because errors arise in two places:

- ``EnvelopeRoute`` (the router's route class) turns domain refusals, request-validation
  failures and HTTP exceptions raised while handling a matched route into enveloped errors
  with the right status (422 for a body that does not match its schema, 400 for bad path or
  query values, the domain's kinds as everywhere else).
- ``EnvelopeMiddleware`` re-wraps any other error answer under the prefix (no such route,
  a path with a trailing slash, method not allowed, rate limited, a body too large, an
  Idempotency-Key refusal) that reached the client in the app's plain ``{"detail": ...}`` shape.

The greatfeedback routes keep their own error shape: neither layer touches other paths.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.domain.errors import DomainError
from workbench.domain.test_sessions import fail
from workbench.server.errors import STATUS_OF, caller_refusal, challenge, read_errors, undecodable_error, unparsed_body
from workbench.server.responses import JSON

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    410: "GONE",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


# The test-sessions family: its documented routes, and the studies list a replica reads with the
# same JWT, whose answers are enveloped too, so its refusals must be (a sync reads either).
PREFIXES = ("/api/sessions", "/api/studies")
_UNDER = tuple(p + "/" for p in PREFIXES)


def covers(path: str) -> bool:
    """Whether ``path`` answers in the envelope. Runs on every request: one C-level startswith over a
    tuple, no generator."""
    return path.startswith(_UNDER) or path in PREFIXES


def code_for(status: int) -> str:
    return CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "ERROR")


def error_response(status: int, message: str, headers: dict[str, str] | None = None, metadata: dict[str, Any] | None = None) -> JSON:
    body = fail(code_for(status), message)
    body["metadata"] = metadata
    if status == 401 and headers is None:
        headers = challenge(message)
    return JSON(body, status_code=status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_response(exc: RequestValidationError, content_type: str | None) -> JSON:
    errors = read_errors(exc, content_type)
    in_body = any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors)
    clean = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]
    if any(e["type"] == "json_invalid" for e in clean):
        message = "Request body is not valid JSON"
    else:
        message = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in clean[:5]) or "Invalid request"
    return error_response(422 if in_body else 400, message, metadata={"errors": clean})


class EnvelopeRoute(APIRoute):
    """A route whose failures answer in the envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def enveloped(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return error_response(STATUS_OF.get(exc.kind, 400), exc.message)
            except RequestValidationError as exc:
                if unparsed_body(exc):
                    return await _unparsed(request, exc)
                return validation_response(exc, request.headers.get("content-type"))
            except StarletteHTTPException as exc:
                if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
                    # Malformed JSON like any other (RFC 8259 requires UTF-8), as errors.py answers it.
                    return await _unparsed(request, RequestValidationError([undecodable_error(exc.__cause__)]))
                return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

        return enveloped


async def _unparsed(request: Request, exc: RequestValidationError) -> JSON:
    """A body that does not parse, told only to a caller the route accepts (errors.caller_refusal)."""
    if (refusal := await caller_refusal(request)) is not None:
        return error_response(STATUS_OF.get(refusal.kind, 400), refusal.message)
    return validation_response(exc, request.headers.get("content-type"))


class EnvelopeMiddleware:
    """Pure ASGI: buffers only error answers under ``PREFIXES`` and wraps those not yet enveloped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not covers(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def _send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    await send(message)
                else:
                    start = message
                return
            if start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                await _send_wrapped(send, start, bytes(body))

        await self.app(scope, receive, _send)


async def _send_wrapped(send: Send, start: Message, body: bytes) -> None:
    status = start["status"]
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")]
    try:
        payload = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and "success" in payload:
        out = body
    else:
        detail = payload.get("detail") if isinstance(payload, dict) else None
        if isinstance(detail, str):
            message = detail
        elif detail is not None:
            message = orjson.dumps(detail).decode()
        else:
            message = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        out = orjson.dumps(fail(code_for(status), message))
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})
