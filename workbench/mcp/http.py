"""``/mcp/<mcp_token>``: the MCP tools over streamable HTTP, authenticated by the token in the path.

Every HTTP request re-authenticates its path token with ``authenticate_mcp`` before it reaches
the MCP SDK, and the tools read the principal of *their* request, so nothing maps tokens to
sites across requests: a rotated token is refused from the commit that rotated it, even in
the middle of an agent's session. Unknown tokens answer 401 with the same
``WWW-Authenticate`` challenge as the REST API, the reason in a JSON-RPC error (http_refusals.py).

The SDK's session manager runs stateless with JSON responses: no MCP session outlives its
request, so there is no per-session state to leak across a rotation and any worker can answer
any request. It needs a running task group, entered by the app's lifespan through ``run()``.

The SDK loads on the first request to the endpoint, not with the app: importing it and building
the tools costs about a second of CPU, which every ``workbench serve`` start would otherwise pay
whether or not an agent ever calls. One task owns the session manager from its first use to the
lifespan's end, so its task group is entered and left in the same task.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson
from anyio import to_thread
from starlette.types import Message, Receive, Scope, Send

from workbench.domain.errors import DomainError
from workbench.domain.roles import Principal
from workbench.mcp.http_refusals import refusal
from workbench.mcp.unreadable import invalid_request
from workbench.services.auth import authenticate_mcp
from workbench.services.context import Workbench

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from workbench.mcp.tools import Caller

PATH = "/mcp/{token}"
_PRINCIPAL = "workbench.mcp_principal"  # ASGI scope key: the principal of this one request


class McpHttpEndpoint:
    """An ASGI endpoint for ``PATH``; mount it as a route and enter ``run()`` in the lifespan."""

    path = PATH

    def __init__(self, wb: Workbench, public_url: str | None = None) -> None:
        self.wb = wb
        self.public_url = public_url
        self._running = False
        self._stop = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        self._manager: asyncio.Future[StreamableHTTPSessionManager] | None = None

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        # A session manager runs once; a fresh one per lifespan lets an app be started again
        # (test clients do) without tripping that rule.
        self._stop = asyncio.Event()
        self._running = True
        try:
            yield
        finally:
            self._running = False
            self._stop.set()
            owner, self._owner, self._manager = self._owner, None, None
            if owner is not None:
                with contextlib.suppress(Exception):  # a failed start was told to its requests
                    await owner

    async def _session_manager(self) -> StreamableHTTPSessionManager:
        if self._manager is None:
            self._manager = asyncio.get_running_loop().create_future()
            self._owner = asyncio.create_task(self._own(self._manager, self._stop))
        return await asyncio.shield(self._manager)

    async def _own(self, ready: asyncio.Future[StreamableHTTPSessionManager], stop: asyncio.Event) -> None:
        try:
            # Off the loop: the import is the second of CPU this module avoids paying at start.
            manager = await to_thread.run_sync(self._build)
            async with manager.run():
                ready.set_result(manager)
                await stop.wait()
        except Exception as exc:
            if ready.done():
                raise
            # Told to the requests that waited; the next request tries again.
            ready.set_exception(exc)
            if self._manager is ready:
                self._manager = None

    def _build(self) -> StreamableHTTPSessionManager:
        from mcp.server.transport_security import TransportSecuritySettings

        from workbench.mcp.tools import build_server

        server = build_server(self._caller, store=self.wb.store)
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            # The SDK's DNS-rebinding guard pins Host to loopback names, which would refuse
            # `serve --host 0.0.0.0` or a --public-url. The unguessable token in the path is
            # what a rebinding page cannot know, so the guard adds nothing here.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        return server.session_manager

    def _caller(self, ctx: Context) -> Caller:
        from mcp.server.mcpserver.exceptions import ToolError

        from workbench.mcp.tools import Caller

        request = ctx.request_context.request
        principal = request.scope.get(_PRINCIPAL) if request is not None else None
        if request is None or not isinstance(principal, Principal):
            raise ToolError("Not authenticated")  # only reachable if mounted without this endpoint
        base = self.public_url or str(request.base_url)
        return Caller(self.wb, principal, base)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = str(scope.get("path_params", {}).get("token", ""))
        try:
            principal = await to_thread.run_sync(authenticate_mcp, self.wb, token)
        except DomainError as exc:
            await _json(send, 401, refusal(401, exc.message), _challenge(exc.message))
            return
        if not self._running:
            await _json(send, 503, refusal(503, "The MCP endpoint is not running (app lifespan not started)"))
            return
        if (method := str(scope.get("method", ""))) != "POST":
            # Answered here, not by the SDK, so each 405 is the endpoint's refusal shape with its
            # ``data.status`` (the SDK's DELETE, PUT and PATCH refusals had none).
            await _json(send, 405, refusal(405, _NOT_SERVED.get(method, _ONLY_POST)), [_ALLOW])
            return
        if (unsupported := _not_json(scope)) is not None:
            await _json(send, 415, unsupported)
            return
        # Media types are case-insensitive (RFC 9110), the SDK's own check of this header is not:
        # it refused `Application/JSON` with a 415 that this one had let through.
        scope["headers"] = [(k, v.lower() if k.lower() == b"content-type" else v) for k, v in scope.get("headers", [])]
        scope[_PRINCIPAL] = principal
        manager = await self._session_manager()
        await manager.handle_request(scope, receive, _answered(send))


# Stateless transport: there is no session a DELETE could end, nor a stream a GET could open.
_ALLOW = (b"allow", b"POST")
_ONLY_POST = "Method Not Allowed: this MCP endpoint answers JSON-RPC requests sent by POST only"
_NOT_SERVED = {
    # The event stream a GET opens carries only what a server sends unasked, which a stateless
    # server never does: the SDK held each one open, idle, for as long as the client stayed, each
    # a connection. The transport's spec lets a server refuse it so.
    "GET": "This MCP endpoint opens no event stream (GET): it is stateless and answers each JSON-RPC request in its POST's response",
    "DELETE": "This MCP endpoint has no session to end (DELETE): it is stateless, so there is nothing to terminate",
}

# The SDK answers JSON that is no JSON-RPC message with pydantic's report on every way it could
# have been one (eight errors for `{"id": 1}`, each with a link), as Invalid params. JSON-RPC 2.0
# names it Invalid Request (-32600); a client is told that in one sentence.
_SDK_ENVELOPE_REFUSAL = "Validation error: "
_INVALID_REQUEST = invalid_request("body", "POST")


_JSON = "application/json"


def _not_json(scope: Scope) -> dict[str, Any] | None:
    """The answer to a POST whose body is not declared JSON, or None when it is.

    The SDK refuses one before its own checks (its DNS-rebinding guard, ``validate_request``,
    runs even with that guard off) with a bare ``text/plain`` 400, "Invalid Content-Type header",
    where its later check of the same header (a case it lets through the first) answers 415 in
    JSON-RPC's error shape: every other refusal of this endpoint is JSON. Judged here first, by
    the SDK's rule (``Content-Type`` starting ``application/json``, in any case), so the client
    gets that 415 and is told the type expected and the one it sent."""
    sent = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"content-type"), None)
    if sent is not None and sent.lower().startswith(_JSON):
        return None
    got = f"got {sent[:100]!r}" if sent else "no Content-Type was sent"
    # The shape of the endpoint's other HTTP-level refusals (401, 405, 429, 503), ``data.status`` included.
    return refusal(415, f"Unsupported Media Type: Content-Type must be {_JSON} ({got})")


def _answered(send: Send) -> Send:
    """The SDK's answers as sent but for its refusals (400 for a body it cannot read, 406 for an
    Accept without both types), which take the shape of the endpoint's own: ``data.status``, and
    ``"id": null`` for the SDK's placeholder ``"server-error"``. Its refusal of a body that is no
    JSON-RPC message is one sentence (``_INVALID_REQUEST``), not pydantic's report. (It sees only
    POSTs: every other method is refused before it, with ``Allow``, which the SDK's DELETE refusal lacked.)"""
    held: Message | None = None  # a refusal's start, until its body is read

    async def sending(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            if message["status"] >= 400:
                held = message
                return
        elif held is not None:
            start, held = held, None
            if not message.get("more_body", False) and (body := _readable(message.get("body", b""), start["status"])) is not None:
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                start = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
                message = {**message, "body": body}
            await send(start)
        await send(message)

    return sending


# The id the SDK gives its refusals, where JSON-RPC 2.0 says null for an id that was not read.
_SDK_REFUSAL_ID = "server-error"


def _readable(body: bytes, status: int) -> bytes | None:
    """The SDK's ``status`` refusal in ``body`` in the endpoint's refusal shape, else None (a body
    that is no JSON-RPC error is sent as it is)."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return None
    if str(error.get("message", "")).startswith(_SDK_ENVELOPE_REFUSAL):
        error = _INVALID_REQUEST
    data = error.get("data")
    error = {**error, "data": {**(data if isinstance(data, dict) else {}), "status": status}}
    said = answer.get("id")
    return orjson.dumps({**answer, "id": None if said == _SDK_REFUSAL_ID else said, "error": error})


def _challenge(description: str) -> list[tuple[bytes, bytes]]:
    safe = description.replace("\\", "").replace('"', "'")
    return [(b"www-authenticate", f'Bearer error="invalid_token", error_description="{safe}"'.encode())]


async def _json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": data})
