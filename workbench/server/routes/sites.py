"""Routes: GET /api/v1/sites and /api/v1/sites/{id} (mcp_token never included)."""

from __future__ import annotations

from fastapi import APIRouter

from workbench.server.deps import WB, Caller
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON, items
from workbench.server.schemas import SiteList, SitePublic
from workbench.services import sites

router = APIRouter(prefix="/api/v1/sites", tags=["sites"], responses=error_responses(*COMMON_ERRORS))


@router.get("", response_model=SiteList, summary="List workspace sites")
def list_sites(wb: WB, caller: Caller) -> JSON:
    return items(sites.list_sites(wb, caller))


@router.get("/{site_id}", response_model=SitePublic, summary="Site detail")
def get_site(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(sites.get_site(wb, caller, site_id).to_public())
