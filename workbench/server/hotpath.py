"""The annotations list answered ahead of the whole middleware stack.

``GET /api/v1/sites/{id}/annotations`` is the hottest read (agents and replicas poll it). Of
the layers in front of the router, only the rate limits concern it, and this path counts the
request in the same ``RateLimiter``; the others act on other paths (the sessions envelope,
widget CORS, the docs policy), on request bodies (body limits, idempotency) or on exceptions
the path renders itself (domain errors, as the app's handler does; anything else reaches the
server, which answers 500). Authentication, validation and the page are the functions the
declared FastAPI route uses (it still documents the endpoint), so the
behaviour is one; the store's data version is read once for the auth cache and the page
cache, and a query string already seen is not validated again.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from workbench.domain.annotations import AnnotationListQuery
from workbench.domain.errors import DomainError, Invalid
from workbench.domain.roles import Principal
from workbench.domain.safe_text import refuse_nul_parameters
from workbench.server.errors import domain_error_response, refuse_repeated_parameters
from workbench.server.pagecache import PageCache
from workbench.server.ratelimit import RateLimiter
from workbench.server.routes.annotations import LIST_PARAMETERS, encode_page, page_key, page_rows
from workbench.server.version_reads import SharedVersionReads
from workbench.server.writer import run_read
from workbench.services import auth
from workbench.services.annotation_rows import RowPage, after_cursor, page_statement, read_page, refresh_annotation_rows, row_listing
from workbench.services.context import Workbench

LIST_PATH = re.compile(r"^/api/v1/sites/([^/]+)/annotations$")
# Query strings longer than this are validated every time rather than kept.
_CACHED_QUERY_MAX = 512


@lru_cache(maxsize=1024)
def _cached_query(raw: bytes) -> AnnotationListQuery:
    return _parse_query(raw)


def _parse_query(raw: bytes) -> AnnotationListQuery:
    params = QueryParams(raw.decode("latin-1"))
    # Before the values, as the route's OneValueEach: a parameter given twice has no one value to judge.
    refuse_repeated_parameters(params.multi_items(), LIST_PARAMETERS)
    try:
        # Nothing downstream mutates the model, so the cached one may be shared between requests.
        return AnnotationListQuery.model_validate(dict(params))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(f"Invalid {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


class HotListMiddleware:
    def __init__(self, app: ASGIApp, wb: Workbench, cache: PageCache, limiter: RateLimiter) -> None:
        self.app = app
        self.wb = wb
        self.cache = cache
        self.limiter = limiter
        # PostgreSQL's version is a round trip: concurrent requests share reads (version_reads.py).
        postgresql = wb.store.dialect == "postgresql"
        self._reader = wb.store.version_reader() if postgresql else None
        self.versions = SharedVersionReads(self._reader.read) if self._reader is not None else None
        # ... and so is a page: read on the loop (storage/pg.py LoopReads), not in a thread.
        self._pages = wb.store.loop_reads() if postgresql else None

    async def aclose(self) -> None:
        """Close the version reads' and the page reads' connections (at the app's shutdown)."""
        if self._reader is not None:
            await self._reader.close()
        if self._pages is not None:
            await self._pages.close()

    async def _page_on_loop(self, caller: Principal, site_id: str, q: AnnotationListQuery) -> RowPage | None:
        """PostgreSQL's page, read on the loop; None when the threadpool's read must answer: a
        ``since`` (it asks the store which index to walk), a cursor not of this listing, or an
        empty page (is the site there?), each judged there as the route judges it."""
        assert self._pages is not None
        listing = row_listing(caller, site_id, status=q.status, kind=q.kind, since_ms=q.since, auto_fix=q.auto_fix, limit=q.limit)
        if q.cursor:
            try:
                listing = after_cursor(self.wb, listing, q.cursor)
            except Invalid:
                return None
        statement = page_statement(caller, listing)
        if statement is None:
            return None
        window = await self._pages.fetchall(*statement)
        return read_page(self.wb, listing, window) if window else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = LIST_PATH.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        refused, counted_at = await self.limiter.counted(scope, send)
        if refused:
            return
        headers = Headers(scope=scope)
        raw = scope["query_string"]
        try:
            refuse_nul_parameters([("site_id", match.group(1))])  # as every route's parameters (errors.py)
            # Read once: a commit after this point empties both caches on the next request. SQLite
            # always knows it; on PostgreSQL a rate-limit count that made a round trip read it
            # (after this request arrived), else the version pushed to this process
            # (storage/pg_versions.py), read only while the watch cannot vouch for it.
            version = counted_at or self.wb.store.known_version()
            if version is None:
                assert self.versions is not None  # PostgreSQL's: SQLite's known_version never is None
                version = await self.versions.read()
            # The caller first: a refused one learns nothing about its query.
            # A token seen at this version needs no lookup; a lookup, like a page not kept, is a
            # read of the store (run_read: a round trip on PostgreSQL, made off the loop).
            authorization, workspace = headers.get("authorization"), headers.get("x-gf-workspace")
            caller = auth.cached_principal(self.wb, authorization, version) or await run_read(
                self.wb, auth.authenticate, self.wb, authorization, workspace, version=version
            )
            query = _cached_query(raw) if len(raw) <= _CACHED_QUERY_MAX else _parse_query(raw)
            key = page_key(caller, match.group(1), query)
            body = self.cache.peek(key, version)
            if body is None:
                # The page read before the last commits, refreshed with only the rows that changed
                # (SQLite's change journal: only pages with a journal position are kept as sources);
                # read whole when that cannot be done.
                earlier = self.cache.source(key)
                rows = None
                if isinstance(earlier, RowPage):
                    rows = await run_read(self.wb, refresh_annotation_rows, self.wb, caller, earlier)
                if rows is None and self._pages is not None:
                    rows = await self._page_on_loop(caller, match.group(1), query)
                if rows is None:
                    rows = await run_read(self.wb, page_rows, self.wb, caller, match.group(1), query)
                # A refresh that changed none of the page's rows hands back the very same rows: the
                # same bytes, not encoded again (most writes, spread over a site, miss its first page).
                same = isinstance(earlier, RowPage) and rows.rows is earlier.rows and rows.next_cursor == earlier.next_cursor
                body = self.cache.body_of(key, earlier) if same else None
                if body is None:
                    body = encode_page(self.cache, key, rows)
                body = self.cache.put(key, body, version, rows if rows.position is not None else None)
        except DomainError as exc:
            await domain_error_response(exc)(scope, receive, send)
            return
        await send({
            "type": "http.response.start", "status": 200,
            "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")],
        })
        await send({"type": "http.response.body", "body": body})
