"""``Idempotency-Key`` on POST writes: replay the first response, 422 on a changed body, 409 in flight.

Keys are scoped to the caller's credential (hashed), so two callers never share one. The
record lives in the store, so a restarted server still replays; a record left in flight by a
server that died is released to the next retry.
"""

from __future__ import annotations

import hashlib
import uuid

import orjson
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage import idempotency as repo
from workbench.services.context import Workbench

MAX_KEY_LENGTH = 255


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, wb: Workbench) -> None:
        self.app = app
        self.wb = wb
        self.boot_id = uuid.uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _json(send, 400, {"detail": f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"})
            return
        body = await _read_body(receive)
        mcp_token = scope["path"].split("/")[2] if scope["path"].startswith("/mcp/") else ""
        # The widget authenticates by its own header: its keys are the site's, not everyone's.
        credential = headers.get(b"authorization", b"") + b"|" + mcp_token.encode()
        if b"x-gf-widget-token" in headers:
            credential += b"|widget:" + headers[b"x-gf-widget-token"]
        principal = hashlib.sha256(credential).hexdigest()
        body_hash = hashlib.sha256(body).hexdigest()
        path = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")

        def _claim() -> repo.Stored | None:
            with self.wb.store.write() as db:
                return repo.claim(
                    db, principal=principal, key=key, method="POST", path=path, body_hash=body_hash,
                    boot_id=self.boot_id, at=self.wb.clock(),
                )

        stored = await to_thread.run_sync(_claim)
        if stored is not None:
            if stored.path != path or stored.body_hash != body_hash:
                await _json(send, 422, {"detail": "Idempotency-Key was already used with a different request"})
            elif stored.state == "in_flight":
                await _json(send, 409, {"detail": "A request with this Idempotency-Key is still being processed"})
            else:
                await _replay(send, stored)
            return

        captured: dict = {"status": 500, "headers": [], "body": bytearray()}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        delivered = False

        async def _receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, _receive, _send)
        finally:
            status = captured["status"]
            ctype = next((v.decode() for k, v in captured["headers"] if k == b"content-type"), None)

            def _finish() -> None:
                with self.wb.store.write() as db:
                    # Auth failures and server errors did nothing: let a retry run afresh.
                    if status >= 500 or status in (401, 429):
                        repo.release(db, principal=principal, key=key)
                    else:
                        repo.complete(db, principal=principal, key=key, status_code=status, content_type=ctype, body=bytes(captured["body"]))

            await to_thread.run_sync(_finish)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json(send: Send, status: int, payload: dict) -> None:
    body = orjson.dumps(payload)
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _replay(send: Send, stored: repo.Stored) -> None:
    body = stored.response_body or b""
    headers = [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode()))
    await send({"type": "http.response.start", "status": stored.status_code or 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
