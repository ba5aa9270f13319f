"""``workbench mcp``: the same MCP tools over stdio, against a local store, as its local user.

An agent on the same machine (Claude Code, for instance) triages offline: the tools call the
same services the server does, so rules and audit are identical, and the writes reach a server
with the next sync. Its triage and replies join the local user's undo history (``Caller.records_undo``),
as the CLI's do: `workbench undo` or the TUI's `u` takes an agent's change back. stdout carries the
protocol, so nothing else may print there.

Every request line gets an answer. The SDK's stdin reader hands the server, in place of a message,
the error of a line it could not read (not JSON, bytes that are not UTF-8, JSON that is no JSON-RPC
message), and the server drops it: a client waited for ever for that request's answer. Between the
two, ``Answering`` answers such a line as JSON-RPC says, with ``"id": null``, and reads on. At the
end of stdin it waits for the requests still running: the SDK cancels them there, so a script piping
its requests in (``printf … | workbench mcp``) lost the answers of the calls still at work.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import ErrorData, JSONRPCError, JSONRPCNotification, JSONRPCRequest
from pydantic import ValidationError

from workbench.domain.roles import Principal
from workbench.mcp.tools import Caller, StoreServer, build_server
from workbench.mcp.unreadable import invalid_request, parse_error
from workbench.services.context import Workbench


def serve_stdio(wb: Workbench, principal: Principal, *, records_undo: bool = True) -> None:
    """Serve until the client closes stdin. There is no server to upload to: ``base_url=None``.
    ``records_undo`` False (a team server's database, ``--database``) keeps no undo history, which
    ``workbench undo`` and the TUI only read from a data directory's store."""
    caller = Caller(wb, principal, None, records_undo=records_undo)

    def caller_of(_ctx: Context) -> Caller:
        # Each tool asks first, on the thread that runs it: a write the disk refuses then says
        # whether this call had saved anything before it (a resolution's files, say).
        wb.store.begin_unit_of_work()
        return caller

    anyio.run(_serve, build_server(caller_of, offline=True, store=wb.store))


async def _serve(server: StoreServer) -> None:
    if not server.serves_streams:
        await server.run_stdio_async()  # the SDK's own loop: an unreadable line goes unanswered, as before
        return
    async with stdio_server() as (read_stream, write_stream):
        answering = Answering(read_stream, write_stream)
        await server.serve_streams(answering, answering.replies)


class Answering:
    """The stdio transport's read stream, answering each line it could not read instead of passing
    the error on (the server drops it unanswered). Read as the SDK reads a stream: ``receive`` and
    async iteration, ``last_context`` the sender's context of the item given last."""

    def __init__(self, inner: Any, write_stream: Any) -> None:
        self._inner = inner
        self._write = write_stream
        self._running: set[str | int] = set()  # ids of the requests passed on and not yet answered
        self._settled = anyio.Event()
        self.replies = Replies(write_stream, self._answered)

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            try:
                item = await self._inner.receive()
            except anyio.EndOfStream:
                while self._running:  # the server cancels what still runs once this stream ends
                    await self._settled.wait()
                raise
            if not isinstance(item, Exception):
                self._note(item.message)
                return item
            error = _answer_to(item)
            await self._write.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(**error))))

    def _note(self, message: Any) -> None:
        if isinstance(message, JSONRPCRequest):
            self._running.add(message.id)
            self._settled = anyio.Event()
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            # A request its client cancelled is never answered: waiting for it would never end.
            self._answered((message.params or {}).get("requestId"))

    def _answered(self, request_id: Any) -> None:
        self._running.discard(request_id)
        if not self._running:
            self._settled.set()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> Answering:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Answering:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


class Replies:
    """The stdio transport's write stream, telling ``Answering`` which request each answer ends."""

    def __init__(self, inner: Any, answered: Callable[[Any], None]) -> None:
        self._inner = inner
        self._answered = answered

    async def send(self, item: SessionMessage) -> None:
        try:
            await self._inner.send(item)
        finally:  # an answer stdout refused ends its request too: the end of stdin must not wait on it
            if not isinstance(item.message, JSONRPCRequest | JSONRPCNotification):
                self._answered(item.message.id)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Replies:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


def _answer_to(failed: Exception) -> dict[str, Any]:
    """The error object for a line the reader refused: not JSON (the SDK decodes bytes that are not
    UTF-8 as U+FFFD, which no JSON outside a string takes), or JSON that is no JSON-RPC message."""
    errors = failed.errors() if isinstance(failed, ValidationError) else []
    if errors and errors[0].get("type") != "json_invalid":
        return invalid_request("line", "line")
    return parse_error(str(errors[0].get("msg")) if errors else type(failed).__name__)
