"""CORS for the widget's endpoints: each site answers its own allowed origins, and refuses any other.

A generic CORS middleware takes one origin list for the whole app; here the list is per site
and lives in the store (``workbench sites origins``), so the check reads it per request (one
indexed row, WAL readers never wait). A request from a page on an origin the site does not
allow is refused before it reaches the route, so even a "simple" request that skips the
preflight stores nothing. Requests without an ``Origin`` header (curl, a server) are not a
browser's and pass: CORS protects browsers' visitors, and the widget token is public anyway.

CORS hides a refusal from the page, so the widget could only guess why its request failed.
``GET /api/widget/sites/{id}/origin`` says whether the asking page's origin is allowed, readable by
any origin: a simple request (no token, no custom header, so no preflight) that reads nothing of
the site but that one yes or no, which any client could already learn by sending a preflight with
that ``Origin``; a browser cannot forge its page's ``Origin``, so a page learns it of its own only.
It is answered here, ahead of the rate limits' layer, yet counted by the same limiter first: it reads the
store like the other widget endpoints, and a 429 carries ``Access-Control-Allow-Origin: *`` so the widget
reads it as "don't know", not as "not allowed".
"""

from __future__ import annotations

import re

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.server.ratelimit import RateLimiter
from workbench.server.writer import run_read
from workbench.services import widget as widget_svc
from workbench.services.context import Workbench

WIDGET_PATH = re.compile(r"^/api/widget/sites/([^/]{1,100})/(config|annotations|mine)$")
ORIGIN_PATH = re.compile(r"^/api/widget/sites/([^/]{1,100})/origin$")
ALLOW_METHODS = b"GET, POST, OPTIONS"
ALLOW_HEADERS = b"Content-Type, Idempotency-Key, X-GF-Widget-Token, X-GF-Stakeholder-Token, X-GF-Submitter-Key"
EXPOSE_HEADERS = b"Retry-After, Idempotent-Replayed"
PREFLIGHT_MAX_AGE = b"600"


class WidgetCorsMiddleware:
    def __init__(self, app: ASGIApp, wb: Workbench, limiter: RateLimiter) -> None:
        self.app = app
        self.wb = wb
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and (asked := ORIGIN_PATH.match(scope["path"])):
            await self._origin(scope, send, asked.group(1))
            return
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

    async def _origin(self, scope: Scope, send: Send, site_id: str) -> None:
        """Whether the asking page's origin may call this site's widget endpoints; an unknown site's answer is
        the same no, so the answer tells nothing about which sites exist."""

        async def readable(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"access-control-allow-origin", b"*")]}
            await send(message)

        if await self.limiter.refused(scope, readable):
            return
        origin = Headers(scope=scope).get("origin")
        allowed = origin is not None and await run_read(self.wb, widget_svc.origin_allowed, self.wb, site_id, origin)
        body = orjson.dumps({"origin": origin, "allowed": allowed})
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"access-control-allow-origin", b"*"), (b"cache-control", b"no-store"),
        ]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
