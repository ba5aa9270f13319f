"""Routes: GET /api/v1/sites and /api/v1/sites/{id} (mcp_token never included)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from workbench.server.conditional import conditional
from workbench.server.deps import WB, Caller
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON, items
from workbench.server.schemas import SiteList, SitePublic
from workbench.services import sites

router = APIRouter(prefix="/api/v1/sites", tags=["sites"], responses=error_responses(*COMMON_ERRORS))


@router.get(
    "", response_model=SiteList, summary="List workspace sites",
    description="Extension: the weak `ETag` covers the sites and every annotation, reply and resolution of the workspace "
    "(`Workbench-ETag-Covers: annotations threads`); `If-None-Match` with it answers 304 while none moved.",
    responses={304: {"description": "Extension: nothing in the sites, their annotations or their threads changed"}},
)
def list_sites(request: Request, wb: WB, caller: Caller) -> Response:
    # Digest first, list second: a write in between only makes the next request a 200.
    return conditional(request, sites.tree_digest(wb, caller), "annotations threads", lambda: items(sites.list_sites(wb, caller)))


@router.get("/{site_id}", response_model=SitePublic, summary="Site detail")
def get_site(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(sites.get_site(wb, caller, site_id).to_public())
