"""A write the store's disk refused (``StoreWriteFailed``: full, an I/O error), answered as "cannot store this now, try later".

A write that waited out the busy timeout behind another writer (``StoreBusy``, a StoreWriteFailed)
is answered the same way, with a shorter ``Retry-After`` (``RETRY_BUSY_S``): it was a 500.

The client gets **503 Service Unavailable** with ``Retry-After`` (``RETRY_AFTER_S``), in its API
family's error shape: ``{"detail": …}`` for the annotations and feedback-sessions APIs, the
envelope's ``SERVICE_UNAVAILABLE`` under ``/api/sessions``. 503 because it is what HTTP clients
and their retry helpers take for "temporarily unable, come back" (urllib3 retries it honouring
``Retry-After``, as it does 429); 507 Insufficient Storage is WebDAV's, which no client here
speaks, and a 500 means "a bug, report it". The words are ``StoreWriteFailed.public``: the
problem and that the write was rolled back, never the data directory or the database's URL,
which are the operator's.

The operator gets one log line per refused request (``cause``: where and what, what to do),
without a traceback: the condition is an expected one that words itself, its stack is the same
every time and points at no code to fix, and on a full disk a traceback per request would only
fill the log's own disk faster.

The route handlers' refusals reach ``handler`` (FastAPI's exception handler, inside every
layer, so the widget's CORS headers and the idempotency record see the 503); the layers that
write before a route runs (the idempotency claim, the triage writes answered ahead of the
router) call ``answer`` themselves; ``WriteFailedMiddleware``, outermost, answers one raised by
any other layer (the rate limit's counts on PostgreSQL) rather than let it become a bare 500.

A team server's database that cannot be reached (stopped, restarting, the network) is the same
kind of condition for a read as for a write: ``WriteFailedMiddleware`` answers it with a 503
(``Retry-After: RETRY_UNREACHABLE_S``, "cannot reach its database") and one log line naming the
database without its password. Once the database is back, the store replaces the connections
its restart cut before a request uses them (storage/pg_conn.py ``hung_up``), so none fails for them. It is
installed twice: inside Starlette's error layer (which would answer a bare 500 first) and around
the hot paths, which run ahead of the whole stack.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage.failures import StoreBusy, StoreWriteFailed, server_unreachable
from workbench.mcp import http_refusals
from workbench.server import envelope
from workbench.server.logs import RedactSecrets
from workbench.server.responses import JSON

log = logging.getLogger("workbench.server")
log.addFilter(RedactSecrets())  # the path of a refused MCP call carries its token

# Freeing disk space takes an operator, not a moment: a minute, the rate limit's window, keeps
# retrying clients from hammering a server that cannot take their writes.
RETRY_AFTER_S = 60
# Another writer holding the store (StoreBusy) is done in seconds, the time the refused write waited for it.
RETRY_BUSY_S = 10
# A database restart or failover takes seconds, not an operator's minute.
RETRY_UNREACHABLE_S = 5
UNREACHABLE = "The server cannot reach its database now; nothing was changed. Try again shortly."
# The connection lost while a write's COMMIT was out: the server cannot tell whether it was saved.
COMMIT_UNKNOWN = ("The server lost its database while saving this change, which may have been saved. Read it back before "
                  "sending it again, or send it again with the same Idempotency-Key, which is never applied twice.")


def answer(exc: StoreWriteFailed, scope: Scope) -> JSON:
    """The 503 for ``exc`` in the family of ``scope``'s path, and the operator's log line."""
    path: str = scope.get("path", "")
    log.error("%s", exc.for_operator(f"answered {scope.get('method', '')} {path} with 503"))
    headers = {"Retry-After": str(RETRY_BUSY_S if isinstance(exc, StoreBusy) else RETRY_AFTER_S)}
    return _in_family(path, exc.public, headers)


def answer_unreachable(exc: BaseException, store: Any, scope: Scope) -> JSON:
    """The 503 of a database that cannot be reached, in the family of ``scope``'s path, and the
    operator's line: the database by its label (no password) and the driver's first line."""
    from storage.pg_conn import cause, commit_unknown  # only for a psycopg error: PostgreSQL's module is loaded already

    path: str = scope.get("path", "")
    unknown = commit_unknown(exc)
    log.error("cannot reach the database %s (%s): answered %s %s with 503%s", store.label, cause(exc, store.url),
              scope.get("method", ""), path, "; its write's COMMIT was out, it may have been saved" if unknown else "")
    headers = {"Retry-After": str(RETRY_UNREACHABLE_S)}
    detail = COMMIT_UNKNOWN if unknown else UNREACHABLE
    return _in_family(path, detail, headers)


def _in_family(path: str, detail: str, headers: dict[str, str]) -> JSON:
    """The 503 saying ``detail`` in the shape of ``path``'s family: the envelope, a JSON-RPC error
    on the MCP endpoint (which the SDK's client hands its caller), else ``{"detail": ...}``."""
    if envelope.covers(path):
        return envelope.error_response(503, detail, headers=headers)
    if http_refusals.covers(path):
        return JSON(http_refusals.refusal(503, detail), status_code=503, headers=headers)
    return JSON({"detail": detail}, status_code=503, headers=headers)


async def handler(request: Request, exc: Exception) -> JSON:
    """FastAPI's exception handler for StoreWriteFailed raised by a route."""
    assert isinstance(exc, StoreWriteFailed)
    return answer(exc, request.scope)


def write_failure(exc: BaseException, store: Any) -> StoreWriteFailed | None:
    """``exc`` as a StoreWriteFailed if it is one, or the database server's disk refusing a write
    in a layer that talks to PostgreSQL itself, not through ``store`` (the rate limit's counts); else None."""
    if isinstance(exc, StoreWriteFailed):
        return exc
    if type(exc).__module__.startswith("psycopg"):
        from storage.pg_conn import disk_error

        error = disk_error(exc)  # pyright: ignore[reportArgumentType]  # a psycopg error, by its module
        if error is not None:
            return store.disk_refusal(error)
    return None


class WriteFailedMiddleware:
    """Pure ASGI, the outermost of the app's own layers (inside Starlette's, which would answer a
    bare 500), and again around the hot paths: a write refusal no inner layer answered, or the
    database out of reach, before the response started, is the 503."""

    def __init__(self, app: ASGIApp, store: Any) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:
            if started:
                raise
            failed = write_failure(exc, self.store)
            if failed is not None:
                await answer(failed, scope)(scope, receive, send)
            elif server_unreachable(exc):
                await answer_unreachable(exc, self.store, scope)(scope, receive, send)
            else:
                raise
