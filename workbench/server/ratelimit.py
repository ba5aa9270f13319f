"""Rate limits as the document sets them: a per-credential and a per-IP bucket, both must allow.

Fixed 60-second windows per key; an excess answers 429 with the reason and ``Retry-After``
(seconds until the window rolls over). Counts live in this process: one server, one truth.
The per-credential bucket is keyed on the resolved credential (credentials.py), not on the
header's spelling; the client IP is the socket's peer unless ``serve --forwarded-allow-ips``
names the proxy in front (uvicorn then rewrites it from ``X-Forwarded-For``).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from workbench.server.credentials import Resolver
from workbench.server.settings import ServerSettings
from workbench.services.context import Workbench


class Buckets:
    """Fixed-window counters keyed by string."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a request; None when allowed, else seconds until the window rolls over."""
        now = self.clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                return max(0.0, self.window - (now - start))
            self._windows[key] = (start, count + 1)
            if len(self._windows) > 100_000:
                self._forget(now)
            return None

    def _forget(self, now: float) -> None:
        for k in [k for k, (s, _) in self._windows.items() if now - s >= self.window]:
            del self._windows[k]


@functools.lru_cache(maxsize=4096)
def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host == "testclient"


class RateLimiter:
    """The two buckets and the check, shared by the middleware and the annotations list's hot
    path (hotpath.py), which answers ahead of the middleware stack: one count per request."""

    def __init__(self, settings: ServerSettings, wb: Workbench) -> None:
        self.settings = settings
        self.resolve = Resolver(wb)
        self.tokens = Buckets(settings.token_limit, settings.window_seconds)
        self.ips = Buckets(settings.ip_limit, settings.window_seconds)

    async def refused(self, scope: Scope, send: Send) -> bool:
        """Count the request; when a bucket is full, answer 429 and return True."""
        host = scope["client"][0] if scope.get("client") else None
        wait: float | None = None
        reason = ""
        if self.settings.limit_loopback_ip or not _is_loopback(host):
            wait = self.ips.hit(f"ip:{host}")
            reason = f"Rate limit exceeded: per-IP bucket ({self.settings.ip_limit} requests per {self.settings.window_seconds}s)"
        if wait is None:
            credential = self.resolve(scope)
            if credential is not None and not credential.anonymous:
                wait = self.tokens.hit(credential.identity)
                reason = (
                    f"Rate limit exceeded: per-token bucket ({self.settings.token_limit} requests per "
                    f"{self.settings.window_seconds}s)"
                )
        if wait is None:
            return False
        retry = str(max(1, math.ceil(wait)))
        body = orjson.dumps({"detail": reason})
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", retry.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True


class RateLimitMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so a request pays almost nothing beyond the check."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(("/api/", "/mcp/")) and await self.limiter.refused(scope, send):
            return
        await self.app(scope, receive, send)
