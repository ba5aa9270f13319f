"""The ASGI application of ``workbench serve``: routers, error mapping, rate limits, body bounds, idempotency."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from storage.failures import StoreWriteFailed
from workbench import __version__
from workbench.mcp.http import McpHttpEndpoint
from workbench.server import errors, faults, jobs, search_upkeep, write_failed
from workbench.server.cors import WidgetCorsMiddleware
from workbench.server.docs_policy import DocsPolicyMiddleware
from workbench.server.envelope import EnvelopeMiddleware
from workbench.server.head import HeadAsGetMiddleware
from workbench.server.hotpath import HotListMiddleware
from workbench.server.hotwrites import HotWritesMiddleware
from workbench.server.idempotency import IdempotencyMiddleware
from workbench.server.limits import BodyLimitMiddleware
from workbench.server.pagecache import PageCache
from workbench.server.ratelimit import RateLimiter, RateLimitMiddleware
from workbench.server.routes import annotations, assets, feedback_sessions, personas, resolutions, sites, sync_ext, test_sessions, widget, workspaces
from workbench.server.settings import ServerSettings
from workbench.services.context import Workbench

log = logging.getLogger("workbench.server")

DESCRIPTION = """The documented greatfeedback sites/annotations API, served over a local SQLite store.
Endpoints tagged *extensions* are this product's additions (see README)."""


def create_app(wb: Workbench, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    # The MCP tools at /mcp/<mcp_token>; the SDK's session manager lives as long as the app.
    mcp_http = McpHttpEndpoint(wb, settings.public_url)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Notifications that were pending when a previous server stopped are delivered now (SQLite);
        # on PostgreSQL they are jobs, queued by the sweep below.
        await run_in_threadpool(jobs.jobs_of(app).before_serving)
        # Preview deployments and analyses a stopped server left unfinished run again.
        jobs.resume(app, wb)
        upkeep = asyncio.create_task(search_upkeep.keep_search_current(wb)) if wb.store.dialect == "sqlite" else None
        # PostgreSQL's version pushed to this process: a cached page then asks the database nothing.
        watch = wb.store.version_watch()
        watching = asyncio.create_task(watch.run()) if watch is not None else None
        async with mcp_http.run():
            yield
        for task in (upkeep, watching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await run_in_threadpool(jobs.stop, app)
        # The asyncio connections the loop counted and read versions on (PostgreSQL) close with it.
        await limiter.aclose()
        await hot.aclose()

    # /docs and /redoc load Swagger UI and ReDoc from files shipped in fastapi-offline, not a
    # CDN, so the docs work on a machine with no network; the online validator badge is off
    # for the same reason.
    app = FastAPIOffline(
        title="Review Workbench API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # No OpenTelemetry exporter is configured here; skipping the probe saves a few
        # environment lookups on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        dependencies=[Depends(errors.refuse_nul_in_parameters)],
        # A path has one spelling: with a trailing slash it is the 404 of a path no route serves,
        # in its family's shape (errors.not_found_detail), never a 307 to the other spelling, which
        # a client follows re-sending its body, and across hosts without its Authorization header.
        redirect_slashes=False,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.wb = wb
    app.state.settings = settings
    app.state.page_cache = PageCache(wb.store)
    errors.install(app)
    # A route's write the disk refused: 503 + Retry-After, inside every layer (CORS, idempotency, the envelope).
    app.add_exception_handler(StoreWriteFailed, write_failed.handler)
    for module in (sites, annotations, resolutions, personas, workspaces, widget, sync_ext, assets):
        app.include_router(module.router)
    for router in (feedback_sessions.router, feedback_sessions.widget, feedback_sessions.pages, test_sessions.router):
        app.include_router(router)
    app.mount(feedback_sessions.ASSETS_URL, feedback_sessions.assets, name="review-assets")
    # Starlette serves a class-instance endpoint as raw ASGI; its stub names request handlers only.
    # Both spellings: an MCP client configured with a trailing slash reached the endpoint through
    # the redirect the app no longer sends, and its URL is the one thing it is told.
    for path in (mcp_http.path, mcp_http.path + "/"):
        app.add_route(path, mcp_http, include_in_schema=False)  # pyright: ignore[reportArgumentType]
    app.add_middleware(IdempotencyMiddleware, wb=wb)
    # Outside idempotency (which reads the body): an oversized or trickled body is refused unread.
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(DocsPolicyMiddleware)
    # Outside body limits and idempotency: a throttled request never reaches them or auth.
    limiter = RateLimiter(settings, wb)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    # Outside the limits, so a browser can read a 429 (and its Retry-After) from an allowed origin.
    app.add_middleware(WidgetCorsMiddleware, wb=wb, limiter=limiter)
    # Outermost of these, so even a 429 or an unknown path under /api/sessions is enveloped.
    app.add_middleware(EnvelopeMiddleware)
    # Outermost of the app's own: a write refusal raised by any layer is a 503, never a bare 500.
    app.add_middleware(write_failed.WriteFailedMiddleware, store=wb.store)
    # Ahead of the whole stack, FastAPI's own layers included: the annotations list and the triage
    # writes, counted by the same rate limiter, are answered before any other layer runs
    # (hotpath.py, hotwrites.py). The stack is built here, once the app is complete, instead of at
    # the first request.
    stack = HotWritesMiddleware(app.build_middleware_stack(), wb=wb, limiter=limiter, settings=settings)
    if os.environ.get(faults.ENV):  # crash tests only: SIGKILL after a write applied, before its response
        stack = faults.CrashAfterApply(stack, pattern=os.environ[faults.ENV])
    hot = HotListMiddleware(stack, wb=wb, cache=app.state.page_cache, limiter=limiter)
    # The hot paths run ahead of the layer above: a team server's database out of reach while they
    # read or count is their 503 too, not uvicorn's bare 500 and a traceback. A SQLite store has
    # no server to lose, and its hot paths answer a refused write themselves: no layer to pay for.
    guarded = write_failed.WriteFailedMiddleware(hot, store=wb.store) if wb.store.dialect == "postgresql" else hot
    # Outermost: a HEAD is every layer's GET, the hot path's included.
    app.middleware_stack = HeadAsGetMiddleware(guarded)
    return app
