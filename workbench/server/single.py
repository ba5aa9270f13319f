"""``workbench serve``'s one process: its sockets bound and listening before anything says where it serves, then uvicorn on them.

``uvicorn.run`` binds only once the app has started (its lifespan, seconds on a large store), so
a script that connected on reading the ``Docs:`` line was refused. Bound first, such a
connection waits in the backlog and is answered once the app is up, as with ``--workers``.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from uvicorn.config import STARTUP_FAILURE


def listen(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Every socket asyncio's ``create_server(host=..., port=...)`` would have opened (``""`` and a
    name such as ``localhost`` are each address they resolve to), bound and listening.
    Port 0 takes one free port, the same on every address, so one URL names them all."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE,
        ):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # As asyncio does: otherwise :: also takes the IPv4 port, and 0.0.0.0 then fails.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], bound_port(sockets), *address[2:])
            sock.bind(address)
            sock.listen(backlog)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def bound_port(sockets: list[socket.socket]) -> int:
    """The port the sockets listen on (the free one the system chose for port 0)."""
    return sockets[0].getsockname()[1]


def run(sockets: list[socket.socket], app: Any, shown_url: str, **config: Any) -> None:
    """``uvicorn.run`` for one process, on ``sockets`` from ``listen``: the same signals, the same
    "running on" line (uvicorn leaves it out when given sockets), exit 3 if the app did not start."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, **config))
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s (Press CTRL+C to quit)", shown_url)
    try:
        server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
