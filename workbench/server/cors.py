"""CORS for the widget's endpoints: each site answers its own allowed origins, and refuses any other.

A generic CORS middleware takes one origin list for the whole app; here the list is per site
and lives in the store (``workbench sites origins``), so the check reads it per request (one
indexed row, WAL readers never wait). A request from a page on an origin the site does not
allow is refused before it reaches the route, so even a "simple" request that skips the
preflight stores nothing. Requests without an ``Origin`` header (curl, a server) are not a
browser's and pass: CORS protects browsers' visitors, and the widget token is public anyway.
"""

from __future__ import annotations

import re

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.server.writer import run_read
from workbench.services import widget as widget_svc
from workbench.services.context import Workbench

WIDGET_PATH = re.compile(r"^/api/widget/sites/([^/]{1,100})/(config|annotations|mine)$")
ALLOW_METHODS = b"GET, POST, OPTIONS"
ALLOW_HEADERS = b"Content-Type, Idempotency-Key, X-GF-Widget-Token, X-GF-Stakeholder-Token, X-GF-Submitter-Key"
EXPOSE_HEADERS = b"Retry-After, Idempotent-Replayed"
PREFLIGHT_MAX_AGE = b"600"


class WidgetCorsMiddleware:
    def __init__(self, app: ASGIApp, wb: Workbench) -> None:
        self.app = app
        self.wb = wb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = WIDGET_PATH.match(scope["path"]) if scope["type"] == "http" else None
        origin = Headers(scope=scope).get("origin") if match else None
        if match is None or origin is None:
            await self.app(scope, receive, send)
            return
        allowed = await run_read(self.wb, widget_svc.origin_allowed, self.wb, match.group(1), origin)
        if not allowed:
            detail = f"Origin {origin[:300]} is not allowed for this site (workbench sites origins SITE_ID --add ORIGIN)"
            body = orjson.dumps({"detail": detail})
            await send({"type": "http.response.start", "status": 403, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"vary", b"Origin"),
            ]})
            await send({"type": "http.response.body", "body": body})
            return
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": [
                *cors,
                (b"access-control-allow-methods", ALLOW_METHODS),
                (b"access-control-allow-headers", ALLOW_HEADERS),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE),
            ]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors, (b"access-control-expose-headers", EXPOSE_HEADERS)]}
            await send(message)

        await self.app(scope, receive, _send)
