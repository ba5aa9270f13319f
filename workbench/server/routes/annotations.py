"""Routes: annotations list/detail/PATCH, replies, markdown and run-personas under /api/v1."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import PlainTextResponse

from workbench.domain.annotations import AnnotationListQuery, AnnotationPatch, ReplyCreate, RunPersonasRequest
from workbench.domain.errors import Invalid, PreconditionFailed
from workbench.domain.roles import Principal
from workbench.server.deps import WB, Caller, Member, OneValueEach
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON
from workbench.server.schemas import AnnotationDetail, AnnotationPage, AnnotationPublic, PersonaRun, ReplyPublic
from workbench.server.writer import run_write
from workbench.services import annotation_rows
from workbench.services import annotations as svc

if TYPE_CHECKING:
    from collections.abc import Hashable

    from starlette.datastructures import Headers

    from workbench.server.pagecache import PageCache
    from workbench.services.context import Workbench

router = APIRouter(tags=["annotations"], responses=error_responses(*COMMON_ERRORS))
# The list's query parameters, which hotpath.py refuses given twice as OneValueEach does here.
LIST_PARAMETERS = frozenset(AnnotationListQuery.model_fields)


@router.get("/api/v1/sites/{site_id}/annotations", response_model=AnnotationPage, summary="List a site's annotations")
async def list_annotations(
    site_id: str, request: Request, query: Annotated[AnnotationListQuery, Query()], caller: Caller, _once: OneValueEach
) -> Response:
    return _page(request, caller, site_id, query)


def _page(request: Request, caller: Principal, site_id: str, q: AnnotationListQuery) -> Response:
    return Response(page_body(request.app.state.wb, request.app.state.page_cache, caller, site_id, q), media_type="application/json")


def page_body(wb: Workbench, cache: PageCache, caller: Principal, site_id: str, q: AnnotationListQuery, version: object = None) -> bytes:
    """The encoded page: inline on the event loop (WAL reads never wait), reused until the store
    changes; the key carries the caller's scope so no page crosses workspaces. ``version``: the
    store's data version when the caller already read it for this request."""
    key = page_key(caller, site_id, q)
    return cache.get(key, lambda: encode_page(cache, key, page_rows(wb, caller, site_id, q)), version)


def page_key(caller: Principal, site_id: str, q: AnnotationListQuery) -> tuple[object, ...]:
    return (caller.workspace_id, caller.site_id, site_id, q.status, q.kind, q.since, q.auto_fix, q.cursor, q.limit)


def page_rows(wb: Workbench, caller: Principal, site_id: str, q: AnnotationListQuery) -> annotation_rows.RowPage:
    """The page's rows, read from the store (any thread)."""
    return annotation_rows.list_annotation_rows(
        wb, caller, site_id, status=q.status, kind=q.kind, since_ms=q.since, auto_fix=q.auto_fix, cursor=q.cursor, limit=q.limit
    )


def encode_page(cache: PageCache, key: Hashable, page: annotation_rows.RowPage) -> bytes:
    """The page's JSON (kept at ``key``), each row's reused from ``cache`` while the row is unchanged (the cache's thread)."""
    return orjson.dumps({"items": cache.page_rows(key, page.rows, _encode_row), "next_cursor": page.next_cursor})


def _encode_row(row: tuple[Any, ...]) -> bytes:
    return orjson.dumps(annotation_rows.public_row(row))


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"v{version}"'}


@router.get("/api/v1/annotations/{annotation_id}", response_model=AnnotationDetail, summary="Detail with replies + resolutions")
def get_annotation(annotation_id: str, wb: WB, caller: Caller) -> JSON:
    out = svc.detail(wb, caller, annotation_id)
    return JSON(out, headers=_etag(out["version"]))


# ASCII digits only ("²".isdigit() is True) and few enough to fit SQLite's INTEGER.
# No leading zero: "v02" is not a tag this server gave, and strong comparison (RFC 9110 8.8.3.2)
# would not take it for "v2". Quoted, as every entity-tag is: a bare v2 is not one.
_ETAG = re.compile(r'(W/)?"v(0|[1-9][0-9]{0,17})"')
# What a weak tag asks for: If-Match compares strongly (RFC 9110 13.1.1), so a weak tag never
# matches, not even W/ on the current version; no annotation has a negative version.
WEAK_TAG = -1


def if_match_header(headers: Headers) -> str | None:
    """Every If-Match line as the one list they are (RFC 9110 5.3): reading only the first let a
    second condition go unchecked, where the same two tags on one line are refused."""
    return ", ".join(headers.getlist("if-match")) or None


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    m = _ETAG.fullmatch(value.strip())
    if m is None:
        raise Invalid("If-Match must be an ETag returned by this server, like \"v3\"")
    return WEAK_TAG if m.group(1) else int(m.group(2))


@router.patch(
    "/api/v1/annotations/{annotation_id}", response_model=AnnotationPublic, summary="Update status, summary, assignee",
    responses=error_responses(409, 412, why={409: "The status transition is refused"}),
)
async def patch_annotation(
    annotation_id: str,
    body: AnnotationPatch,
    wb: WB,
    caller: Caller,
    request: Request,
    # Declared for the schema; the value is read whole from the request (if_match_header).
    if_match: Annotated[str | None, Header(description="Optional compare-and-set: the ETag of the version you edited")] = None,
) -> JSON:
    return await patched(wb, caller, annotation_id, body, parse_if_match(if_match_header(request.headers)))


async def patched(wb: Workbench, caller: Principal, annotation_id: str, body: AnnotationPatch, if_version: int | None) -> JSON:
    """The PATCH's write and answer, shared with its hot path (hotwrites.py)."""
    try:
        ann = await run_write(svc.patch, wb, caller, annotation_id, body, if_version=if_version)
    except PreconditionFailed:
        if if_version != WEAK_TAG:
            raise
        raise PreconditionFailed(
            'If-Match holds a weak ETag (W/...), which never matches: If-Match compares strongly (RFC 9110 13.1.1); send the ETag as given, like "v3"'
        ) from None
    return JSON(ann.to_public(), headers=_etag(ann.version))


@router.post("/api/v1/annotations/{annotation_id}/replies", status_code=201, response_model=ReplyPublic, summary="Reply on the thread")
async def post_reply(annotation_id: str, body: ReplyCreate, wb: WB, caller: Caller) -> JSON:
    return await replied(wb, caller, annotation_id, body)


async def replied(wb: Workbench, caller: Principal, annotation_id: str, body: ReplyCreate) -> JSON:
    """The reply's write and answer, shared with its hot path (hotwrites.py)."""
    return JSON((await run_write(svc.reply, wb, caller, annotation_id, body)).to_public(), status_code=201)


@router.get(
    "/api/v1/annotations/{annotation_id}/markdown",
    summary="Agent-paste-friendly markdown blob",
    # A class without a media type: with PlainTextResponse here, FastAPI would declare the
    # (JSON) refusals as text/plain; the 200's text/markdown is declared below.
    response_class=Response,
    responses={200: {"description": "The markdown", "content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def get_markdown(annotation_id: str, wb: WB, caller: Caller) -> PlainTextResponse:
    return PlainTextResponse(svc.render_markdown(wb, caller, annotation_id), media_type="text/markdown; charset=utf-8")


@router.post(
    "/api/v1/annotations/{annotation_id}/run-personas", status_code=201, response_model=PersonaRun, summary="Run reviewer personas (MEMBER+)"
)
def run_personas(annotation_id: str, wb: WB, caller: Member, body: RunPersonasRequest | None = None) -> JSON:
    replies = svc.run_personas(wb, caller, annotation_id, body or RunPersonasRequest())
    return JSON({"replies": [r.to_public() for r in replies]}, status_code=201)
