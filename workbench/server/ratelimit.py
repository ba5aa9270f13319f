"""Rate limits as the document sets them: a per-credential and a per-IP bucket, both must allow.

Fixed 60-second windows per key; an excess answers 429 with the reason and ``Retry-After``
(seconds until the window rolls over). Where the counts live follows the store: on SQLite (one
process) in this process's memory (``Buckets``); on PostgreSQL in the database (``PgBuckets``),
so N workers on several hosts allow the limit in total, not N times it. There the event loop
counts from leases of units reserved in the database (storage/rate_leases.py): most requests
make no round trip, and the limit stays exact (a request refused while another worker holds
unused units waits for them, a fraction of a second, before it is answered 429).
The per-credential bucket is keyed on the resolved credential (credentials.py), not on the
header's spelling; the client IP is the socket's peer unless ``serve --forwarded-allow-ips``
names the proxy in front (uvicorn then rewrites it from ``X-Forwarded-For``).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from workbench.mcp import http_refusals
from workbench.server.credentials import UNKNOWN, Credential, Resolver
from workbench.server.settings import ServerSettings
from workbench.services.context import Workbench

if TYPE_CHECKING:
    from storage.rate_buckets import Counters
    from storage.rate_leases import Leases

log = logging.getLogger("workbench.server")


class Counts(Protocol):
    """Fixed-window counters keyed by string: ``hit`` counts a request, None when allowed, else
    seconds until the window rolls over."""

    # True when a hit is a database round trip: the event loop hands the check to a thread.
    remote: bool

    def hit(self, key: str) -> float | None: ...

    def left(self, key: str) -> float | None:
        """Without counting: seconds until ``key``'s full bucket admits again; None when it would
        admit now, or when that is not known without a round trip."""
        ...


class Buckets:
    """Fixed-window counters keyed by string, in this process (one process serves the store)."""

    remote = False

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

    def left(self, key: str) -> float | None:
        now = self.clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window or count < self.limit:
                return None
            return self.window - (now - start)

    def _forget(self, now: float) -> None:
        for k in [k for k, (s, _) in self._windows.items() if now - s >= self.window]:
            del self._windows[k]


class PgBuckets:
    """Fixed-window counters in the database's ``rate_buckets`` (storage/rate_buckets.py), shared by
    every worker: a key's window starts at its first request, as ``Buckets``' do."""

    remote = True
    SWEEP_EVERY = 1000  # hits between two sweeps of ended windows, per process

    def __init__(self, counters: Counters, name: str, limit: int, window: int) -> None:
        self.counters = counters
        self.limit = limit
        self.window_ms = window * 1000
        # Keys name the bucket (a token's apart from the widget's per-IP) and its policy: hosts
        # configured alike share counts; a changed limit or window starts afresh.
        self.prefix = f"{name}:{limit}/{window}:"
        self._hits = 0
        self._leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Leases] = weakref.WeakKeyDictionary()

    def hit(self, key: str) -> float | None:
        counted = self.counters.hit(self.prefix + key, self.window_ms)
        if self._sweep_due():
            self.counters.sweep(self.window_ms)
        if counted is None:
            # The connection was lost with the count out: taken or not, nobody knows. Allowed, not
            # refused or failed: these counts (the widget's) bound floods and count refusals too,
            # so one uncounted request per lost connection costs nothing they promise, and the
            # request's own round trips meet the same database: gone, they answer its 503; back
            # (a failover's blip), a visitor's feedback is saved instead of bounced for the
            # server's trouble. A database that cannot be connected to still fails the count.
            log.warning("a rate count lost its database connection before its answer; the request was let through uncounted")
            return None
        return self._verdict(*counted)

    def left(self, key: str) -> float | None:
        """Not known without a round trip (the widget's counts): None."""
        return None

    def left_async(self, key: str) -> float | None:
        """``left`` from what this loop's lease of ``key`` learned, with no round trip."""
        return self.leases().left(self.prefix + key, self.window_ms, self.limit)

    async def hit_async(self, key: str) -> tuple[float | None, tuple[int, int] | None]:
        """``hit`` on the event loop, counted from this loop's leases (storage/rate_leases.py): most
        requests make no round trip. With the store's version when the request's count made one
        (read after the request arrived), else None."""
        leases = self.leases()
        wait, version = await leases.hit(self.prefix + key, self.window_ms, self.limit)
        if self._sweep_due():
            # A DELETE over the table: in the threadpool, never on the loop.
            await run_in_threadpool(self.counters.sweep, self.window_ms)
        return wait, None if version is None else (0, version)

    def leases(self) -> Leases:
        """The running event loop's leases of this bucket."""
        loop = asyncio.get_running_loop()
        leases = self._leases.get(loop)
        if leases is None:
            from storage.rate_leases import Leases  # PostgreSQL's only: psycopg loads with it

            leases = self._leases[loop] = Leases(self.counters.url)
        return leases

    async def aclose(self) -> None:
        """Give back this loop's unused units and close its connection."""
        leases = self._leases.pop(asyncio.get_running_loop(), None)
        if leases is not None:
            await leases.close()

    def _sweep_due(self) -> bool:
        """Every SWEEP_EVERY hits (the first included), ended windows are deleted."""
        self._hits += 1
        return self._hits % self.SWEEP_EVERY == 1

    def _verdict(self, count: int, left_ms: int) -> float | None:
        if count <= self.limit:
            return None
        return max(0.0, left_ms / 1000)


_counters: weakref.WeakKeyDictionary[Any, Counters] = weakref.WeakKeyDictionary()
_counters_lock = threading.Lock()


def new_buckets(wb: Workbench, name: str, limit: int, window: int) -> Counts:
    """The buckets for ``wb``'s engine: shared through the database on PostgreSQL, else in memory."""
    store: Any = wb.store
    if store.dialect != "postgresql":
        return Buckets(limit, window)
    from storage.rate_buckets import Counters

    with _counters_lock:
        counters = _counters.get(store)
        if counters is None:
            # One small pool per store, for every bucket of the process (the API's and the widget's).
            counters = _counters[store] = Counters(store.url)
    return PgBuckets(counters, name, limit, window)


def retry_after(wait: float) -> int:
    """``Retry-After`` for a bucket that admits again in ``wait`` seconds: the whole seconds to
    that instant, rounded up (a request sent after them is admitted), at least 1."""
    return max(1, math.ceil(wait))


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
        self.tokens = new_buckets(wb, "token", settings.token_limit, settings.window_seconds)
        self.ips = new_buckets(wb, "ip", settings.ip_limit, settings.window_seconds)
        # Counting in the database is a round trip (and resolving a credential may read it): the
        # event loop hands such a check to a thread rather than wait on the network itself.
        self.remote = self.tokens.remote or self.ips.remote

    async def refused(self, scope: Scope, send: Send) -> bool:
        """Count the request; when a bucket is full, answer 429 and return True."""
        return (await self.counted(scope, send))[0]

    async def counted(self, scope: Scope, send: Send) -> tuple[bool, tuple[int, int] | None]:
        """``refused``, and the store's version when counting read it (PostgreSQL's counts read it
        in their round trip, after the request arrived), else None."""
        version = None
        if self.remote:
            wait, reason, version = await self.check_remote(scope)
        else:
            wait, reason = self.check(scope)
        if wait is None:
            return False, version
        seconds = retry_after(wait)
        retry = str(seconds)
        # The MCP endpoint's refusals are JSON-RPC errors, which the SDK's client hands to its caller.
        path = scope.get("path", "")
        body = orjson.dumps(http_refusals.refusal(429, reason, retry_after=seconds) if http_refusals.covers(path) else {"detail": reason})
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
        return True, version

    async def aclose(self) -> None:
        """Close the connections the event loop counted on (PostgreSQL's buckets)."""
        for buckets in (self.tokens, self.ips):
            if isinstance(buckets, PgBuckets):
                await buckets.aclose()

    async def check_remote(self, scope: Scope) -> tuple[float | None, str, tuple[int, int] | None]:
        """``check`` with the counts in the database: counted on the loop from leases, and a
        credential not yet resolved looked up in the threadpool; with the store's version the
        counts' round trips read (None when they made none)."""
        tokens, ips = cast(PgBuckets, self.tokens), cast(PgBuckets, self.ips)
        host = scope["client"][0] if scope.get("client") else None
        version = None
        credential = self.resolve.known(scope)
        if self.settings.limit_loopback_ip or not _is_loopback(host):
            wait, version = await ips.hit_async(f"ip:{host}")
            if wait is not None:
                return _both_full(wait, credential, tokens.left_async), self._ip_reason(), version
        if credential is UNKNOWN:
            credential = await run_in_threadpool(self.resolve, scope)
        if isinstance(credential, Credential) and not credential.anonymous:
            wait, read = await tokens.hit_async(credential.identity)
            version = read or version
            if wait is not None:
                return wait, self._token_reason(), version
        return None, "", version

    def check(self, scope: Scope) -> tuple[float | None, str]:
        """Count the request in its buckets: (None, "") when allowed, else (seconds to wait, why)."""
        host = scope["client"][0] if scope.get("client") else None
        wait: float | None = None
        reason = ""
        if self.settings.limit_loopback_ip or not _is_loopback(host):
            wait = self.ips.hit(f"ip:{host}")
            reason = self._ip_reason()
        if wait is not None:
            wait = _both_full(wait, self.resolve.known(scope), self.tokens.left)
        else:
            credential = self.resolve(scope)
            if credential is not None and not credential.anonymous:
                wait = self.tokens.hit(credential.identity)
                reason = self._token_reason()
        return wait, reason

    def _ip_reason(self) -> str:
        return f"Rate limit exceeded: per-IP bucket ({self.settings.ip_limit} requests per {self.settings.window_seconds}s)"

    def _token_reason(self) -> str:
        return f"Rate limit exceeded: per-token bucket ({self.settings.token_limit} requests per {self.settings.window_seconds}s)"


def _both_full(wait: float, credential: object, left: Callable[[str], float | None]) -> float:
    """The per-IP refusal's wait, or the credential's bucket's when it is full and ends later: a
    request is admitted once both have rolled over. Only a credential resolved already (one whose
    bucket could be full): a refused flood looks nothing up, and ``left`` counts nothing."""
    if isinstance(credential, Credential) and not credential.anonymous:
        return max(wait, left(credential.identity) or 0.0)
    return wait


# Set in a request's scope by a layer ahead of the stack that counted it already (the triage
# writes, hotwrites.py) and hands it on: one count per request.
COUNTED = "workbench.rate_counted"


def _counted(scope: Scope) -> bool:
    """The API's requests: /api and /mcp, and the reads of pictures (an API read under another root;
    the presigned PUT is authorised by its signature, not a credential, and bounded by its cap)."""
    path = scope["path"]
    return path.startswith(("/api/", "/mcp/")) or (path.startswith("/uploads/") and scope["method"] in ("GET", "HEAD"))


class RateLimitMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so a request pays almost nothing beyond the check."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http" and _counted(scope) and COUNTED not in scope
            and await self.limiter.refused(scope, send)
        ):
            return
        await self.app(scope, receive, send)
