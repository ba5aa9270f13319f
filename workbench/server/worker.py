"""One of ``workbench serve --workers N``'s processes: the app rebuilt from what the parent passed.

uvicorn starts each worker by spawning a fresh interpreter and importing an app by name, so
nothing of the parent's objects crosses over: the parent puts its settings in one environment
variable (JSON: the database URL, the data directory, the ServerSettings, the head bounds), and
``create`` (uvicorn's factory) opens the same store and builds the same app from it. The
protocol class is named the same way (``http_protocol``), built from the same variable.
The variable holds the database URL with any password: it is never logged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

from fastapi import FastAPI

from workbench.server.logs import RedactSecrets
from workbench.server.protocol import BoundedHttpToolsProtocol, bounded_protocol
from workbench.server.settings import ServerSettings

ENV = "WORKBENCH_WORKER_CONFIG"
APP = "workbench.server.worker:create"
HTTP = "workbench.server.worker:http_protocol"


def config_env(*, database: str, data_dir: str, settings: ServerSettings, header_timeout: float, max_header_bytes: int) -> dict[str, str]:
    """The environment the parent sets before uvicorn spawns its workers."""
    config = {
        "database": database, "data_dir": data_dir, "settings": dataclasses.asdict(settings),
        "header_timeout": header_timeout, "max_header_bytes": max_header_bytes,
    }
    return {ENV: json.dumps(config)}


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
    wb = Workbench.open(config["data_dir"], database=config["database"])
    return create_app(wb, ServerSettings(**config["settings"]))


def _protocol() -> type[BoundedHttpToolsProtocol]:
    raw = os.environ.get(ENV)
    if not raw:  # imported outside a worker (the type checker, a test): the default bounds
        return BoundedHttpToolsProtocol
    config = json.loads(raw)
    return bounded_protocol(config["header_timeout"], config["max_header_bytes"])


http_protocol = _protocol()
