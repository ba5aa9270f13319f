"""uvicorn's httptools protocol with a deadline and a size cap on each request's head (line + headers).

uvicorn bounds idle keep-alive connections but not a client that trickles its headers: such a
connection would stay open for ever. Here the head of every request must arrive, in at most
``max_header_bytes``, within ``header_timeout`` of the connection opening or of the previous
response; otherwise the connection gets 408 (or 431) and is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _raw_response(status: str) -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode("ascii")


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes: int = 0

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is None:
            return  # the head is complete: body bytes are the body middleware's to bound
        self._head_bytes += len(data)
        if self._head_bytes > self.max_header_bytes:
            self._close_with("431 Request Header Fields Too Large")

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_timeout, self._close_with, "408 Request Timeout")

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _close_with(self, status: str) -> None:
        self._stop_head_timer()
        if not self.transport.is_closing():
            self.transport.write(_raw_response(status))
            self.transport.close()


def bounded_protocol(header_timeout: float, max_header_bytes: int) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for ``uvicorn.run(http=...)`` with these bounds."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )
