"""The HTTP client of sync: the documented endpoints, with the fault rules of the issue.

- 429: wait until the server's rate-limit window has rolled over, then try again; it never
  counts as a failure. The document promises no ``Retry-After``, only that recovery comes
  "once the 60-second window rolls over", so without the header the wait is one whole window
  from the 429 (the only bound a client can know, whether the server's windows are fixed or
  sliding); with it, what the header says. Each wait is reported through ``on_wait`` (the
  progress line) with the server's reason and its length; one request stops waiting after
  ``MAX_THROTTLED_WINDOWS`` windows (the bucket is shared, e.g. per IP, and stays full).
- Network errors and 5xx: retry with exponential backoff and jitter, a bounded number of times.
  A request that may have reached the server (the connection broke after sending, or a 5xx
  other than 503 answered a write) is *ambiguous*: writes are not blindly resent, the caller
  gets ``Ambiguous`` so it can look for the effect first (see ``sync.push``). A 503 says the
  request was not handled, so a write is retried like a read.
- 401: ``AuthFailed`` at once (the document: stop retrying with this credential).
- Any other 4xx: ``Refused`` with the server's reason, for the user to see.
"""

from __future__ import annotations

import email.utils
import math
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpcore
import httpx
import orjson

from sync.errors import Ambiguous, AuthFailed, NotTheApi, OtherWorkspace, Refused, Stopped, SyncError, Unavailable, WorkspaceDeleted
from sync.wire import Malformed, kind_of
from workbench.domain.errors import Invalid
from workbench.domain.media_types import media_type

__all__ = [
    "Ambiguous", "AuthFailed", "NotTheApi", "OtherWorkspace", "Refused", "RemoteClient", "Response", "StoppableTransport", "Stopped",
    "SyncError", "Unavailable", "WorkspaceDeleted",
]

T = TypeVar("T")
MAX_ATTEMPTS = 5
BACKOFF_BASE = 0.25
BACKOFF_CAP = 4.0
MAX_RETRY_AFTER = 120.0
RATE_WINDOW = 60.0  # seconds; the document's rate-limit window
RATE_WINDOW_ENV = "WORKBENCH_SYNC_RATE_WINDOW"  # a shorter window, for tests against a quick server
MAX_THROTTLED_WINDOWS = 10
# Errors that prove the request never left: always safe to resend.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _transport_reason(exc: httpx.TransportError) -> str:
    """Why a request did not get through, in the system's words ("connection refused", "name or
    service not known"), then httpx's class: the class alone ("ConnectError") said nothing of what
    to fix. The OS's reason sits in the exception's cause chain (httpx wraps httpcore, which
    wraps the OSError)."""
    reason, cause, seen = "", exc.__cause__ or exc.__context__, set()
    while cause is not None and id(cause) not in seen and not reason:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror
        cause = cause.__cause__ or cause.__context__
    reason = reason or str(exc)
    reason = "".join(ch for ch in reason if ch.isprintable())[:200]  # an OS or TLS message, shown on a terminal
    return f"{reason[:1].lower()}{reason[1:]} ({type(exc).__name__})" if reason else type(exc).__name__


_ssl_context: ssl.SSLContext | None = None
_ssl_lock = threading.Lock()


def _ssl() -> ssl.SSLContext:
    # Loading the CA bundle costs ~25 ms; a process needs it once, not once per sync.
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            _ssl_context = httpx.create_ssl_context()
        return _ssl_context


class StoppableTransport(httpx.HTTPTransport):
    """The client's usual transport, plus ``stop()``, callable from any thread: the request in
    flight ends at once and no later one is sent, each raising ``Stopped``.

    httpx has no way to cancel a blocking request, and closing its client from another thread
    closes the socket's descriptor, which does not wake a thread blocked reading it: quitting
    the TUI during a sync waited out the whole read timeout (30 s) when the server had taken the
    connection and never answered. Shutting the socket down does wake it, so every connection
    this transport opens is kept (``_Streams``) until it closes."""

    def __init__(self) -> None:
        super().__init__(verify=_ssl())  # as RemoteClient's own; a proxy from the environment is mounted beside it by httpx
        self._streams = _Streams()
        pool = self._pool
        if isinstance(pool, httpcore.ConnectionPool):
            pool._network_backend = _StoppableBackend(pool._network_backend, self._streams)  # httpx has no parameter for it

    def stop(self) -> None:
        self._streams.stop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._streams.stopped:
            raise Stopped("the sync was stopped")  # a kept-alive connection would otherwise send it
        return super().handle_request(request)


class _Streams:
    """The open connections of one ``StoppableTransport``, and whether it was stopped."""

    def __init__(self) -> None:
        self.stopped = False
        self._open: set[_StoppableStream] = set()
        self._lock = threading.Lock()

    def opened(self, stream: _StoppableStream) -> None:
        with self._lock:
            self._open.add(stream)
            stopped = self.stopped
        if stopped:  # stopped while it connected
            stream.shut()

    def closed(self, stream: _StoppableStream) -> None:
        with self._lock:
            self._open.discard(stream)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            streams = list(self._open)
        for stream in streams:
            stream.shut()


class _StoppableBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, streams: _Streams) -> None:
        self._inner = inner
        self._streams = streams

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        if self._streams.stopped:
            raise Stopped("the sync was stopped")
        stream = _StoppableStream(self._inner.connect_tcp(*args, **kwargs), self._streams)
        self._streams.opened(stream)
        return stream

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        stream = _StoppableStream(self._inner.connect_unix_socket(*args, **kwargs), self._streams)
        self._streams.opened(stream)
        return stream

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _StoppableStream(httpcore.NetworkStream):
    """A connection whose reads and writes raise ``Stopped`` once its transport is stopped: a
    shut-down socket reads as the server hanging up, which httpx would report as a broken
    connection (an ambiguous write, a retry)."""

    def __init__(self, inner: httpcore.NetworkStream, streams: _Streams) -> None:
        self._inner = inner
        self._streams = streams

    def _io(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._streams.stopped:
            raise Stopped("the sync was stopped")
        try:
            result = fn(*args)
        except Exception as exc:
            if self._streams.stopped:
                raise Stopped("the sync was stopped") from exc
            raise
        if self._streams.stopped:
            raise Stopped("the sync was stopped")
        return result

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._io(self._inner.read, max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._io(self._inner.write, buffer, timeout)

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        # The TLS stream is another object over the same connection: it replaces the plain one here.
        self._inner = self._io(self._inner.start_tls, ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def close(self) -> None:
        self._streams.closed(self)
        self._inner.close()

    def shut(self) -> None:
        sock = self._inner.get_extra_info("socket")
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it, as close() does not
        except (AttributeError, OSError):
            pass  # already closed, or not a socket


@dataclass(slots=True)
class Response:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str = ""
    # The body passed the request's ``max_bytes``: ``content`` holds its first bytes only.
    over_limit: bool = False
    _data: Any = field(default=None)
    _parsed: bool = False

    @property
    def data(self) -> Any:
        if not self._parsed:
            try:
                self._data = orjson.loads(self.content) if self.content else None
            except orjson.JSONDecodeError:
                # A web page where the API should be: a wrong URL, which every request would repeat.
                kind = media_type(self.headers.get("content-type")) or "no content type"
                raise NotTheApi(
                    f"{self.url} answered {self.status} with {kind}, not the API's JSON: "
                    "is the remote's URL a workbench server (`workbench remote list`)?", self.status,
                ) from None
            self._parsed = True
        return self._data

    def items(self, *path: str) -> list[Any]:
        """The rows of a documented list's answer, found under ``path``: by default the annotations
        API's ``{"items": [...], "next_cursor": …}``; ``"data"`` for the feedback-sessions API's lists,
        ``"data", "sessions"`` for the test-sessions envelope's. JSON of another shape is another
        service's: read as an empty list, it had a sync to the wrong URL end "Synced" with every
        persona of the replica deleted (a list is mirrored whole), or with no session ever pulled."""
        where = path or ("items",)
        rows = self.data
        for name in where:
            rows = rows.get(name) if isinstance(rows, dict) else None
        if not isinstance(rows, list):
            raise NotTheApi(
                f"{self.url} answered {self.status} with JSON that is not the API's list (no \"{'.'.join(where)}\"): "
                "is the remote's URL a workbench server (`workbench remote list`)?", self.status,
            )
        return rows

    def next_cursor(self) -> str | None:
        """The list's ``next_cursor``: text, or none on the last page. Of another shape it is not the
        API's list: a number or an object sent back as the cursor looped, or crashed the pull."""
        data = self.data
        cursor = data.get("next_cursor") if isinstance(data, dict) else None
        if cursor is None or cursor == "":
            return None
        if not isinstance(cursor, str):
            raise self._not_the_api(f"a next_cursor that is {kind_of(cursor)}")
        return cursor

    def each(self, read: Callable[[Any], T], *path: str) -> list[T]:
        """``read`` (a ``sync.wire`` mapper) of every row of the list under ``path`` (as ``items``).
        A row that is not the API's stops the run as not the API, naming the list and the row:
        skipped, a persona would be deleted from the replica (its list is mirrored whole) and an
        annotation never pulled (the next ``since`` passes it), so nothing of the list is kept."""
        rows = self.items(*path)
        out: list[T] = []
        for n, row in enumerate(rows, 1):
            try:
                out.append(read(row))
            except Malformed as exc:
                raise self._not_the_api(f"a list (\"{'.'.join(path or ('items',))}\") whose item {n} of {len(rows)} is {exc}") from None
        return out

    def one(self, read: Callable[[Any], T], *path: str) -> T:
        """``read`` of the object this answer holds under ``path`` (the answer itself when none):
        another shape (a list, text, ``null``, an object without its id) stops the run as not the
        API's answer rather than as a traceback, or as a write taken for applied with nothing to show."""
        found = self.data
        for name in path:
            found = found.get(name) if isinstance(found, dict) else None
        try:
            return read(found)
        except Malformed as exc:
            where = f" under \"{'.'.join(path)}\"" if path else ""
            raise self._not_the_api(f"JSON whose object{where} is {exc}") from None

    def _not_the_api(self, what: str) -> NotTheApi:
        return NotTheApi(
            f"{self.url} answered {self.status} with {what}, not the API's: is the remote's URL a workbench server "
            "(`workbench remote list`)?", self.status,
        )

    def server_time_ms(self) -> int | None:
        """The server's clock from its ``Date`` header (second precision), if it sent one."""
        value = self.headers.get("date")
        if not value:
            return None
        try:
            return int(email.utils.parsedate_to_datetime(value).timestamp()) * 1000
        except (TypeError, ValueError):
            return None


# The bundled server's words for a soft-deleted workspace (a token's and a store key's 401, a
# session's 403). The status alone cannot tell it from a revoked credential, and the two need
# opposite advice: a new credential, or the workspace's OWNER restoring it.
_DELETED = re.compile(r"^Workspace (is )?deleted\b")


def _refuse_if_deleted(reason: str, status: int) -> None:
    if _DELETED.match(reason):
        raise WorkspaceDeleted(
            f"the server's workspace was deleted ({reason}): no credential will be taken until its OWNER restores it; "
            "the changes made here wait in the outbox", status,
        )


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def _web_page(resp: httpx.Response) -> str | None:
    """An HTML answer (a static site's or a proxy's error page) named by its title: its first 300
    characters quoted as the reason were markup, doctype and head, in a line meant to be read."""
    if media_type(resp.headers.get("content-type")) != "text/html":
        return None
    title = _TITLE.search(resp.content[:65536])
    words = " ".join(title.group(1).decode("utf-8", "replace").split()) if title else ""
    return f"a web page titled {words!r}" if words else "a web page"


def _reason(resp: httpx.Response) -> str:
    try:
        detail = orjson.loads(resp.content).get("detail")
    except (orjson.JSONDecodeError, AttributeError):
        detail = None
    if detail is None:
        try:
            body = orjson.loads(resp.content)
            detail = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        except (orjson.JSONDecodeError, AttributeError):
            detail = None
    if isinstance(detail, list):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', ()))}: {d.get('msg', '')}" if isinstance(d, dict) else str(d) for d in detail
        )
    text = str(detail or _web_page(resp) or resp.text[:300] or resp.reason_phrase or f"HTTP {resp.status_code}")
    # Shown on a terminal and the TUI: the server's text must not carry control sequences.
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:300]


def _plain(headers: httpx.Headers) -> httpx.Headers:
    """An answer's headers for its already decoded body: without the encoding and length of the wire's."""
    kept = httpx.Headers(headers)
    for name in ("content-encoding", "content-length", "transfer-encoding"):
        kept.pop(name, None)
    return kept


def rate_window_from_env() -> float:
    """The rate-limit window to assume: ``WORKBENCH_SYNC_RATE_WINDOW`` seconds, else the document's 60."""
    raw = os.environ.get(RATE_WINDOW_ENV, "").strip()
    if not raw:
        return RATE_WINDOW
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:
        raise Invalid(f"{RATE_WINDOW_ENV} must be a number of seconds between 0 and 3600, not {raw!r}")
    return value


class RemoteClient:
    """One remote's HTTP session: base URL, credentials by kind, retries and counters."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        store_key: str | None = None,
        jwt: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        max_attempts: int = MAX_ATTEMPTS,
        rate_window: float | None = None,
        on_wait: Callable[[str, int, int | None], None] | None = None,
    ) -> None:
        """``rate_window``: the server's rate-limit window in seconds (default: the environment's,
        else the document's 60); ``on_wait(label, seconds_waited, seconds_total)`` hears each wait."""
        self.base_url = base_url.rstrip("/")
        self.credentials = {"token": token, "store_key": store_key, "jwt": jwt}
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.rate_window = rate_window if rate_window is not None else rate_window_from_env()
        self.on_wait = on_wait
        self.requests = 0
        self.throttled_waits = 0
        self.throttled_seconds = 0.0
        self.http = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=timeout, headers={"User-Agent": "review-workbench-sync"},
            verify=_ssl(),
        )

    def close(self) -> None:
        self.http.close()

    def has(self, credential: str) -> bool:
        return bool(self.credentials.get(credential))

    def _backoff(self, attempt: int) -> None:
        delay = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
        self.sleep(delay * (0.5 + random.random() / 2))

    def request(
        self,
        method: str,
        path: str,
        *,
        credential: str | None = "token",
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        safe_to_resend: bool | None = None,
        ok: tuple[int, ...] = (),
        max_bytes: int | None = None,
    ) -> Response:
        """Send with the fault rules; ``ok`` lists 4xx statuses the caller handles itself.

        ``safe_to_resend`` (default: GET, PUT and PATCH) decides whether a request that may
        have reached the server is resent here or surfaces as ``Ambiguous``. ``max_bytes``: a
        successful answer's body is streamed and read no further than that (``over_limit``).
        """
        if safe_to_resend is None:
            safe_to_resend = method in ("GET", "HEAD", "PUT", "PATCH", "DELETE")
        hdrs = dict(headers or {})
        if credential is not None:
            secret = self.credentials.get(credential)
            if not secret:
                raise AuthFailed(f"no {credential.replace('_', ' ')} for this remote", None, credential)
            hdrs["Authorization"] = f"Bearer {secret}"
        body = orjson.dumps(json) if json is not None else content
        if json is not None:
            hdrs["Content-Type"] = "application/json"
        attempt = 0
        throttled = 0.0
        last: str = ""
        maybe_applied = False
        while True:
            try:
                self.requests += 1
                resp, over = self._exchange(method, path, body, params, hdrs, max_bytes)
            except _NOT_SENT as exc:
                last = f"cannot reach {self.base_url}: {_transport_reason(exc)}"
            except httpx.TransportError as exc:
                last = f"connection to {self.base_url} broke: {_transport_reason(exc)}"
                if not safe_to_resend:
                    raise Ambiguous(last) from exc
                maybe_applied = True
            else:
                status = resp.status_code
                if status < 400 or status in ok:
                    return Response(status, resp.headers, resp.content, str(resp.url.copy_with(query=None)), over_limit=over)
                if status == 429:
                    throttled = self._wait_out_limit(resp, throttled)
                    continue
                if status == 401:
                    challenge = resp.headers.get("www-authenticate", "")
                    desc = challenge.split('error_description="', 1)[1].rstrip('"') if 'error_description="' in challenge else ""
                    _refuse_if_deleted(desc or _reason(resp), status)
                    raise AuthFailed(desc or _reason(resp), 401, credential or "token")
                if status == 409 and "Idempotency-Key" in _reason(resp) and "still" in _reason(resp):
                    last = _reason(resp)  # the first try of this key is still running: wait for it
                elif status >= 500:
                    last = f"server error {status}: {_reason(resp)}"
                    # A 503 says the server did not handle the request (RFC 9110 15.6.4; the bundled
                    # server rolls the write back: its storage is full, its database out of reach), so
                    # a write is tried again like one that never left, with its Idempotency-Key.
                    if not safe_to_resend and status != 503:
                        raise Ambiguous(last, status)
                else:
                    if status == 403:
                        _refuse_if_deleted(_reason(resp), status)
                    raise Refused(_reason(resp), status)
            attempt += 1
            if attempt >= self.max_attempts:
                if maybe_applied and not safe_to_resend:
                    raise Ambiguous(last)
                raise Unavailable(last)
            self._backoff(attempt - 1)

    def _exchange(
        self, method: str, path: str, body: bytes | None, params: dict[str, Any] | None, headers: dict[str, str], max_bytes: int | None
    ) -> tuple[httpx.Response, bool]:
        """One request; with ``max_bytes``, a success's body read as a stream up to one byte past it
        (a picture that never ends costs no more memory than the cap), and whether it went past."""
        if max_bytes is None:
            return self.http.request(method, path, content=body, params=params, headers=headers), False
        with self.http.stream(method, path, content=body, params=params, headers=headers) as resp:
            if resp.status_code >= 300:
                resp.read()  # a refusal's reason, read as any other answer's
                return resp, False
            kept = bytearray()
            for chunk in resp.iter_bytes():
                kept += chunk
                if len(kept) > max_bytes:
                    break
        # The answer as read, for the caller (the stream is closed; its bytes are these).
        done = httpx.Response(resp.status_code, headers=_plain(resp.headers), content=bytes(kept[: max_bytes + 1]), request=resp.request)
        return done, len(kept) > max_bytes

    def _wait_out_limit(self, resp: httpx.Response, waited: float) -> float:
        """Sleep through a 429 second by second, telling ``on_wait``; returns this request's total wait."""
        reason = _reason(resp)
        retry_after = self._retry_after(resp)
        # At least a second: a server that keeps answering "Retry-After: 0" must still reach the bound.
        wait = self.rate_window if retry_after is None else max(1.0, retry_after)
        if waited + wait > self.rate_window * MAX_THROTTLED_WINDOWS + 1e-6:
            raise Unavailable(f"still rate limited after waiting {waited:.0f} s: {reason}", 429)
        seconds = max(1, math.ceil(wait))
        if retry_after is None:
            label = f"rate limited ({reason}): waiting {seconds} s for the server's {self.rate_window:g}-second window to roll over"
        else:
            label = f"rate limited ({reason}): waiting {seconds} s as the server asked (Retry-After)"
        for done in range(seconds):
            if self.on_wait is not None:
                self.on_wait(label, done, seconds)
            self.sleep(max(0.0, min(1.0, wait - done)))
        if self.on_wait is not None:
            self.on_wait(label, seconds, seconds)
        self.throttled_waits += 1
        self.throttled_seconds += wait
        return waited + wait

    @staticmethod
    def _retry_after(resp: httpx.Response) -> float | None:
        """``Retry-After`` in seconds (bounded), or None when the server sent none we can read."""
        value = resp.headers.get("retry-after", "").strip()
        if not value:
            return None
        try:
            wait = float(value)
        except ValueError:
            try:
                wait = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                return None
        if math.isnan(wait):
            return None
        return max(0.0, min(MAX_RETRY_AFTER, wait))

    # -- conveniences ----------------------------------------------------------------------
    def get(
        self, path: str, *, credential: str | None = "token", params: dict[str, Any] | None = None, ok: tuple[int, ...] = (),
        headers: dict[str, str] | None = None, max_bytes: int | None = None,
    ) -> Response:
        return self.request("GET", path, credential=credential, params=params, ok=ok, headers=headers, max_bytes=max_bytes)
