"""Request body bounds: a size cap per route, checked before the body is read, and a time limit to read it.

Pure ASGI, outside idempotency and every route (the triage writes answered ahead of the stack
read their bodies with ``bounded_body`` too): a ``Content-Length`` over the route's cap is
answered 413 at once, a streamed (chunked) body is counted as it arrives and refused as soon
as it passes the cap, and a body that does not arrive in full within the read timeout is
answered 408. Only then does the app see the (buffered, bounded) body.
"""

from __future__ import annotations

import math
import re

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.server.settings import ServerSettings

_WIDGET_SUBMIT = re.compile(r"^/api/widget/sites/[^/]+/annotations/?$")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    def cap(self, method: str, path: str) -> int:
        if method == "PUT" and path.startswith("/uploads/"):
            return self.settings.upload_body_bytes
        if method == "POST" and _WIDGET_SUBMIT.match(path):
            return self.settings.widget_body_bytes
        return self.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if length is None and not chunked:
            await self.app(scope, receive, send)  # no body (HTTP/1.1 framing)
            return
        cap = self.cap(scope["method"], scope["path"])
        if length is not None and not chunked:
            if not length.strip().isdigit():
                await _refuse(send, 400, "Content-Length must be a number of bytes")
                return
            if int(length) > cap:
                await _refuse(send, 413, _too_large(cap))
                return
        body = await bounded_body(receive, send, cap, self.settings.body_timeout_seconds)
        if body is not None:
            await self.app(scope, replay_body(body, receive), send)


def declared_length(scope: Scope) -> int | None:
    """The body's ``Content-Length`` when it is the request's only framing and a number, else None."""
    length: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return None
    return int(length) if length is not None and length.strip().isdigit() else None


async def bounded_body(receive: Receive, send: Send, cap: int, timeout_seconds: float) -> bytes | None:
    """The whole body, read as this layer reads it: refused 413 once past ``cap`` bytes, 408 when
    it has not arrived within ``timeout_seconds``; None when it was refused (answered here) or the
    client left (nobody to answer)."""
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(timeout_seconds) as timer:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _refuse(send, 413, _too_large(cap))
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
    if timer.cancelled_caught:
        await _refuse(send, 408, f"The request body did not arrive within {math.ceil(timeout_seconds)} s")
        return None
    return b"".join(chunks)


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body (bounded by this layer before any app reads it), or None when the
    client left before sending it (nobody to answer)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app a body already read whole, then the connection's own events."""
    delivered = False

    async def _receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return _receive


def _too_large(cap: int) -> str:
    return f"Request body too large: this endpoint accepts at most {cap} bytes"


async def _refuse(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"detail": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
