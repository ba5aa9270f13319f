"""``workbench serve``'s one process: uvicorn on the sockets ``listening.listen`` bound before anything said where it serves.

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


def run(sockets: list[socket.socket], app: Any, shown_url: str, **config: Any) -> None:
    """``uvicorn.run`` for one process, on ``sockets`` from ``listening.listen``: the same signals, the same
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
