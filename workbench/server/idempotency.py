"""``Idempotency-Key`` on POST writes: each keyed request is applied at most once and answered the same way.

Also on the one PATCH that creates records, ``PATCH /api/sessions/{id}/notes`` (a note without a
``noteId`` is new), whose retry would otherwise add the notes twice. Every other PATCH sets
values, so a retry of it changes nothing and needs no key.

- The caller is authenticated first (credentials.py): a revoked token or a deleted workspace
  gets the route's usual refusal, never a replay.
- A record is scoped to the credential, the workspace, the method and the path (with its
  query), so the same key sent to another workspace or path is another request.
- The claim's record commits inside the request's own write transaction
  (``storage.db.write_hook``), so a crash between the write and its response leaves an
  ``applied`` record: a retry is told what was written instead of writing it twice.
- A response that carries a secret (``Cache-Control: no-store``, or a token, store key, JWT or
  upload signature in its body) is never stored. The key then stays used if the request
  wrote something, and is released if it did not (an upload-url retry simply presigns again).
- Bodies compare as canonical JSON (sorted keys, no whitespace), so a reformatted retry
  is the same request; another body under the same key is 422, a retry while the first
  still runs is 409.
- A request refused before it wrote anything (any 4xx or 5xx) is not recorded: its retry runs
  afresh, so a client may mend a refused body and send it again under the same key.
- Each answer of this layer's own (the 422 and the two 409s) names its case in an ``idempotency``
  field beside ``detail`` (``other_body``, ``in_flight``, ``applied``): a client tells them from
  the route's own 409s and 422s (a closed round, a body that fails its schema) without parsing words.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from typing import Any

import orjson
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage import idempotency as repo
from storage.db import write_hook
from storage.failures import StoreWriteFailed, server_unreachable
from workbench.domain.errors import DomainError
from workbench.server import credentials, write_failed
from workbench.server.limits import read_body, replay_body
from workbench.services.context import Workbench

MAX_KEY_LENGTH = 255
# How long another live process's applied record counts as its request still answering.
ANSWERING_MS = 60_000
SWEEP_EVERY_S = 600.0
# Secrets this server mints, as they appear in a response body.
_SECRET = re.compile(
    rb"gf(?:at|mcp|sh)_[A-Za-z0-9_-]{16,}|wbsk_[A-Za-z0-9_-]{32,}|[?&]signature=[0-9a-fA-F]{32,}"
    # A feedbackUrl carries the round's review token: whoever holds it may comment.
    rb"|/review/[^?\s\"]+\?token=[A-Za-z0-9_-]{16,}"
    rb"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."
)
# The endpoint answers with or without a trailing slash (app.py): one path for the record, so a
# retry through the other spelling replays rather than writes again.
_MCP_PATH = re.compile(r"^/mcp/[^/]+/?$")
_CREATING_PATCH = re.compile(r"^/api/sessions/[^/]+/notes$")


def _keyed(method: str, path: str) -> bool:
    """Whether a request's Idempotency-Key is honoured: POSTs, and the PATCH that creates notes."""
    return method == "POST" or (method == "PATCH" and _CREATING_PATCH.match(path) is not None)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, wb: Workbench) -> None:
        self.app = app
        self.wb = wb
        self.boot_id = uuid.uuid4().hex
        # Several processes on one PostgreSQL database: the others learn this one is alive from it.
        wb.store.hold_boot(self.boot_id)
        self._next_sweep = 0.0
        # (scope, key) of this process's keyed requests between their claim and their record's
        # update: an in-flight record of this boot outside it is a leftover (repo.claim).
        self._running: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _keyed(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        raw_key = next((v for k, v in scope["headers"] if k == b"idempotency-key"), None)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        try:
            credential = await to_thread.run_sync(credentials.resolve, self.wb, scope)
        except DomainError:
            credential = None  # refused: the route answers with its usual 401/403/404
        if credential is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _json(send, 400, {"detail": f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"})
            return
        body = await read_body(receive)
        if body is None:
            return  # the client left; nobody to answer
        query = scope.get("query_string", b"").decode("latin-1")
        path: str = scope["path"]
        mcp = _MCP_PATH.match(path) is not None
        if mcp:
            path = path.rstrip("/")
        record_scope = hashlib.sha256(
            "\0".join([credential.identity, credential.workspace_id or "", method, path, query]).encode()
        ).hexdigest()
        body_hash = _body_digest(body)
        sweep = time.monotonic() >= self._next_sweep
        if sweep:
            self._next_sweep = time.monotonic() + SWEEP_EVERY_S

        mine = (record_scope, key)
        added = False  # whether this request put ``mine`` in ``_running``

        def still_running(boot_id: str) -> bool:
            if boot_id == self.boot_id:
                return mine in self._running
            return self.wb.store.boot_alive(boot_id)

        def _claim() -> tuple[repo.Stored | None, dict[str, Any] | None]:
            nonlocal added
            with self.wb.store.write() as db:
                now = self.wb.clock()
                if sweep:
                    repo.sweep(db, now=now)
                stored = repo.claim(
                    db, scope=record_scope, key=key, method=method, path="/mcp/<token>" if mcp else path,
                    body_hash=body_hash, boot_id=self.boot_id, at=now, still_running=still_running,
                )
                if stored is None:
                    # Before the commit: a retry claiming next must find this one running.
                    self._running.add(mine)
                    added = True
                    return None, None
                if stored.state == "applied" and _still_answering(stored, now):
                    # Written, its response not yet stored: the first request is still
                    # answering, not lost, so this retry is told so and, asked again, replayed.
                    stored.state = "in_flight"
                return stored, (repo.applied_entry(db, stored.audit_id) if stored.state != "in_flight" else None)

        def _still_answering(stored: repo.Stored, now: int) -> bool:
            """Whether the request that applied ``stored`` may still be storing its response: in
            this process, exactly; in another, while that process lives and for ANSWERING_MS after
            its claim (a live process whose record's last write failed keeps no response either,
            and its retries are told so once that time has passed)."""
            return (stored.boot_id == self.boot_id or now - stored.created_at < ANSWERING_MS) and still_running(stored.boot_id)

        try:
            stored, entry = await to_thread.run_sync(_claim)
        except BaseException as exc:
            # The request does not run: rolled back, or committed with its answer lost (the
            # connection cut as it committed), its claim is a leftover once out of ``_running``
            # (repo.claim), where it kept every retry a 409 "still being processed" for good.
            if added:
                self._running.discard(mine)
            if isinstance(exc, StoreWriteFailed):
                await write_failed.answer(exc, scope)(scope, receive, send)
                return
            raise
        if stored is not None:
            await _answer_existing(send, stored, body_hash, entry)
            return

        claim = repo.Claim(record_scope, key)
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}
        recorded = False

        async def _record() -> None:
            """Store the response (or release the key), once."""
            nonlocal recorded
            if recorded:
                return
            recorded = True
            status = captured["status"]
            headers = {k.lower(): v for k, v in captured["headers"]}
            ctype = headers[b"content-type"].decode("latin-1") if b"content-type" in headers else None
            out = bytes(captured["body"])
            secret = b"no-store" in headers.get(b"cache-control", b"") or _SECRET.search(out) is not None

            def _finish() -> None:
                # The record's own write is not the request's: the claim's hook stays out of it.
                hook = write_hook.set(None)
                try:
                    with self.wb.store.write() as db:
                        # Refused or failed before writing: a retry runs afresh, with the body it has
                        # (a client that mended a refused body under the same key was told the key was
                        # used with another). A request that wrote (its record is ``applied``) keeps its
                        # key either way (release leaves an applied record), without a 5xx to replay.
                        if status >= 500 or (not claim.applied and (status >= 400 or secret)):
                            repo.release(db, scope=record_scope, key=key)
                        else:
                            repo.complete(db, scope=record_scope, key=key, status_code=status, content_type=ctype, body=None if secret else out)
                finally:
                    write_hook.reset(hook)

            try:
                await to_thread.run_sync(_finish)
            except StoreWriteFailed as exc:
                # The record stays as the request's write left it. In flight, it is this
                # process's leftover once out of ``_running`` (repo.claim), so a retry runs
                # afresh rather than meet a 409 "still being processed". After a 5xx (the disk's
                # own 503 included, already logged) that is all there is to it; after an answer
                # that wrote, the record stays ``applied`` without the response.
                if status < 500:
                    write_failed.log.error("%s", exc.for_operator(f"the Idempotency-Key record of {method} {scope['path']} keeps no response"))
            except Exception as exc:
                if not server_unreachable(exc):
                    raise
                # The same, the database gone: raised here, after the response started, it was a
                # traceback and a client cut off before the body its write had earned.
                if status < 500:
                    from storage.pg_conn import cause

                    store: Any = self.wb.store
                    write_failed.log.error("the Idempotency-Key record of %s %s keeps no response: cannot reach the database %s (%s)",
                                           method, scope["path"], store.label, cause(exc, store.url))

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    # Stored before the client has the whole response: a retry it sends on
                    # reading it is replayed, never told the response was lost.
                    await _record()
            await send(message)

        _receive = replay_body(body, receive)

        hook = write_hook.set(claim)
        try:
            await self.app(scope, _receive, _send)
        finally:
            write_hook.reset(hook)
            try:
                await _record()  # a response that never completed (the app raised, the client left)
            finally:
                self._running.discard(mine)


def _body_digest(body: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


async def _answer_existing(send: Send, stored: repo.Stored, body_hash: str, entry: dict[str, Any] | None) -> None:
    if stored.body_hash != body_hash:
        await _json(send, 422, {"detail": "Idempotency-Key was already used with a different request body", "idempotency": "other_body"})
    elif stored.state == "in_flight":
        await _json(send, 409, {"detail": "A request with this Idempotency-Key is still being processed", "idempotency": "in_flight"})
    elif stored.state == "done" and stored.response_body is not None:
        await _replay(send, stored)
    else:
        why = (
            "its response carried a secret, which is shown only once and never stored"
            if stored.state == "done"
            else "its first response was never stored (the server stopped or failed after the write)"
        )
        wrote = ""
        if entry is not None:
            ids = ", ".join(f"{k} {v}" for k, v in entry.items() if k not in ("action", "entity_type", "entity_id"))
            wrote = f" It wrote: {entry['action']} on {entry['entity_type']} {entry['entity_id']}" + (f" ({ids})" if ids else "") + "."
        payload: dict[str, Any] = {
            "detail": f"A request with this Idempotency-Key was already applied and is not run again; {why}.{wrote}",
            "applied": entry,
            "idempotency": "applied",
        }
        await _json(send, 409, payload)


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _replay(send: Send, stored: repo.Stored) -> None:
    body = stored.response_body or b""
    headers = [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode()))
    await send({"type": "http.response.start", "status": stored.status_code or 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
