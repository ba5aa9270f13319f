"""The sockets ``workbench serve`` listens on, one per address its ``--host`` names, with or without ``--workers``.

Both paths bind before anything says where the server is (see ``single`` and ``worker``), and
bind what asyncio's ``create_server(host=..., port=...)`` would have: ``""`` is every address
(0.0.0.0 and ::), a name such as ``localhost`` each address it resolves to.
"""

from __future__ import annotations

import errno
import socket


def listen(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Every socket asyncio's ``create_server(host=..., port=...)`` would have opened, bound and
    listening. Port 0 takes one free port, the same on every address, so one URL names them all.
    An address whose family the kernel cannot make a socket of (IPv6 on a kernel without it) is
    skipped, as asyncio skips it; an OSError if no address is left."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE,
        ):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError as exc:
                # getaddrinfo answers :: on a kernel built or booted without IPv6: serve the rest.
                if exc.errno == errno.EAFNOSUPPORT:
                    continue
                raise
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
    if not sockets:
        raise OSError(errno.EAFNOSUPPORT, f"no address of {host or 'this host'} is of a family this kernel supports")
    return sockets


def bound_port(sockets: list[socket.socket]) -> int:
    """The port the sockets listen on (the free one the system chose for port 0)."""
    return sockets[0].getsockname()[1]
