"""Routes: GET /api/v1/sites and /api/v1/sites/{id} (mcp_token never included)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from workbench.domain.paging import PageQuery
from workbench.server.conditional import conditional
from workbench.server.deps import WB, Caller, OneValueEach
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON, page
from workbench.server.schemas import SiteList, SitePublic
from workbench.services import sites

router = APIRouter(prefix="/api/v1/sites", tags=["sites"], responses=error_responses(*COMMON_ERRORS))


@router.get(
    "", response_model=SiteList, summary="List workspace sites",
    description="Creation order, cursor pagination like the annotations list. Extension: the weak `ETag` covers the sites "
    "and every annotation, reply and resolution of the workspace (`Workbench-ETag-Covers: annotations threads`), and "
    "the page asked for; `If-None-Match` with it answers 304 while none moved.",
    responses={304: {"description": "Extension: nothing in the sites, their annotations or their threads changed"}},
)
def list_sites(request: Request, query: Annotated[PageQuery, Query()], wb: WB, caller: Caller, _once: OneValueEach) -> Response:
    # Digest first, list second: a write in between only makes the next request a 200. The page
    # is read before the 304 is decided, so a tampered cursor is a 400 even then.
    digest = sites.tree_digest(wb, caller)
    found = sites.sites_page(wb, caller, cursor=query.cursor, limit=query.limit)
    return conditional(request, digest, "annotations threads", lambda: page(found))


@router.get("/{site_id}", response_model=SitePublic, summary="Site detail")
def get_site(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(sites.get_site(wb, caller, site_id).to_public())
