"""The ASGI application of ``workbench serve``: routers, error mapping, rate limits, idempotency."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from workbench import __version__
from workbench.server import errors
from workbench.server.idempotency import IdempotencyMiddleware
from workbench.server.ratelimit import RateLimitMiddleware
from workbench.server.routes import annotations, personas, resolutions, sites, widget, workspaces
from workbench.server.settings import ServerSettings
from workbench.services import resolutions as resolutions_svc
from workbench.services.context import Workbench

log = logging.getLogger("workbench.server")

DESCRIPTION = """The documented greatfeedback sites/annotations API, served over a local SQLite store.
Endpoints tagged *extensions* are this product's additions (see README)."""


def create_app(wb: Workbench, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Notifications that were pending when a previous server stopped are delivered now.
        delivered = await run_in_threadpool(resolutions_svc.deliver_pending, wb)
        if delivered:
            log.info("delivered %d pending submitter notifications", delivered)
        yield

    app = FastAPI(title="Review Workbench API", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.wb = wb
    app.state.settings = settings
    errors.install(app)
    for module in (sites, annotations, resolutions, personas, workspaces, widget):
        app.include_router(module.router)
    app.add_middleware(IdempotencyMiddleware, wb=wb)
    # Added last, so it runs first: a throttled request never reaches idempotency or auth.
    app.add_middleware(RateLimitMiddleware, settings=settings)
    return app
