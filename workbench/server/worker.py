"""``workbench serve --workers N``'s processes: the supervisor on the parent's listening sockets, and each worker's app rebuilt from what the parent passed.

The parent binds the port and listens before it says where it serves (``listening.listen``), so a
connection made on reading that line waits in the backlog for the first worker ready instead of
being refused: uvicorn's own parent only binds, and the socket listened once a worker had
started its app, seconds later.

uvicorn starts each worker by spawning a fresh interpreter and importing an app by name, so
nothing of the parent's objects crosses over: the parent puts its settings in one environment
variable (JSON: the database URL, the data directory, the ServerSettings, the head bounds), and
``create`` (uvicorn's factory) opens the same store and builds the same app from it. The
protocol class is named the same way (``http_protocol``), built from the same variable.
The variable holds the database URL with any password: it is never logged.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI

from workbench.server.logs import RedactSecrets
from workbench.server.protocol import BoundedHttpToolsProtocol, bounded_protocol
from workbench.server.settings import ServerSettings

log = logging.getLogger("workbench.server")
T = TypeVar("T")

ENV = "WORKBENCH_WORKER_CONFIG"
# A restart or failover takes seconds; trying each second starts the worker soon after, at one connect a second.
REACH_RETRY_S = 1.0
APP = "workbench.server.worker:create"
HTTP = "workbench.server.worker:http_protocol"


def config_env(*, database: str, data_dir: str, settings: ServerSettings, header_timeout: float, max_header_bytes: int) -> dict[str, str]:
    """The environment the parent sets before uvicorn spawns its workers."""
    config = {
        "database": database, "data_dir": data_dir, "settings": dataclasses.asdict(settings),
        "header_timeout": header_timeout, "max_header_bytes": max_header_bytes,
    }
    return {ENV: json.dumps(config)}


def run(sockets: list[socket.socket], workers: int, shown_url: str, **common: Any) -> None:
    """uvicorn's ``run`` for N workers (the same supervisor, the same log line) on ``sockets``,
    which ``listening.listen`` made before anything said where the server is: every worker
    accepts on each of them."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(APP, factory=True, workers=workers, http=HTTP, **common)
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s (Press CTRL+C to quit)", shown_url)
    for sock in sockets:
        sock.set_inheritable(True)  # as uvicorn's own bind leaves the socket it hands its workers
    # uvicorn's supervisor took the server's ``run`` as ``target`` until a release made each
    # worker build its own: given only where it is still asked for, as uvicorn.run gives it.
    takes_target = "target" in inspect.signature(Multiprocess).parameters
    target: dict[str, Any] = {"target": uvicorn.Server(config).run} if takes_target else {}
    try:
        Multiprocess(config, sockets=sockets, **target).run()
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()


def _config() -> dict[str, Any]:
    raw = os.environ.get(ENV)
    if not raw:
        raise RuntimeError(f"{ENV} is not set: workers are started by `workbench serve --workers N`")
    return json.loads(raw)


def create() -> FastAPI:
    """uvicorn's factory in each worker: the store and the app, as the parent would have built them."""
    from workbench.server.app import create_app
    from workbench.services.context import Workbench

    config = _config()
    # Spawned workers configure logging afresh: the access log's redaction is added here again.
    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())

    def build() -> FastAPI:
        # The app connects too (the idempotency boot lock holds a connection of its own): a database
        # that went away between the store's opening and the app's was a traceback and a dead worker.
        wb = Workbench.open(config["data_dir"], database=config["database"])
        try:
            return create_app(wb, ServerSettings(**config["settings"]))
        except BaseException:
            wb.store.close()
            raise

    return _open_when_reachable(build, config["database"])


def _open_when_reachable(open_store: Callable[[], T], database: str) -> T:
    """``open_store()`` (the store and the app on it), waited for while the database cannot be reached: a worker uvicorn starts
    again while PostgreSQL is down (one killed, or the supervisor's restart) says so in one line
    and starts once it is back, where it used to die with a traceback and be started again, each
    time with another. A stop signal meanwhile ends the wait (uvicorn's handler still hears it)."""
    from storage.pg_conn import cause, redact, when_reachable

    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stopping(sig: int, frame: Any) -> None:
        stop.set()
        handler = previous[signal.Signals(sig)]
        if callable(handler):
            handler(sig, frame)

    for sig in previous:
        signal.signal(sig, stopping)
    try:
        opened = when_reachable(
            open_store, stop, REACH_RETRY_S,
            lost=lambda exc: log.error("worker %d cannot reach the database %s (%s); it starts serving once it can, trying every %s s",
                                       os.getpid(), redact(database), cause(exc, database), REACH_RETRY_S),
            back=lambda: log.warning("worker %d reached the database %s: starting", os.getpid(), redact(database)),
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if opened is None:  # stopped while it waited
        raise SystemExit(0)
    return opened


def _protocol() -> type[BoundedHttpToolsProtocol]:
    raw = os.environ.get(ENV)
    if not raw:  # imported outside a worker (the type checker, a test): the default bounds
        return BoundedHttpToolsProtocol
    config = json.loads(raw)
    return bounded_protocol(config["header_timeout"], config["max_header_bytes"])


http_protocol = _protocol()
