"""Routes under /api/widget: site secrets (OWNER session), stakeholders, and the widget's own submit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from workbench.domain.annotations import StakeholderCreate, StakeholderUpdate, WidgetAnnotationCreate
from workbench.server.deps import WB, Caller
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON, items
from workbench.server.schemas import AnnotationPublic, Secrets, StakeholderList, StakeholderPublic
from workbench.services import annotations as annotations_svc
from workbench.services import sites as svc

router = APIRouter(prefix="/api/widget/sites/{site_id}", tags=["widget"], responses=error_responses(*COMMON_ERRORS))


@router.get("/secrets", response_model=Secrets, summary="widget_token, mcp_token, loader_secret_id (OWNER session)")
def get_secrets(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.get_secrets(wb, caller, site_id), headers={"Cache-Control": "no-store"})


@router.post("/secrets/rotate-mcp-token", response_model=Secrets, summary="Mint a fresh MCP token; the old one stops at once")
def rotate(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.rotate_mcp_token(wb, caller, site_id), headers={"Cache-Control": "no-store"})


@router.post("/stakeholders", status_code=201, response_model=StakeholderPublic, summary="Create a stakeholder (MEMBER+)")
def create_stakeholder(site_id: str, body: StakeholderCreate, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.create_stakeholder(wb, caller, site_id, body).to_public(), status_code=201)


@router.get("/stakeholders", response_model=StakeholderList, summary="List existing stakeholders")
def list_stakeholders(site_id: str, wb: WB, caller: Caller) -> JSON:
    return items(svc.list_stakeholders(wb, caller, site_id))


@router.patch("/stakeholders/{token}", response_model=StakeholderPublic, summary="Update a stakeholder (MEMBER+)")
def update_stakeholder(site_id: str, token: str, body: StakeholderUpdate, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.update_stakeholder(wb, caller, site_id, token, body).to_public())


@router.delete("/stakeholders/{token}", status_code=204, summary="Revoke a stakeholder (MEMBER+)")
def revoke_stakeholder(site_id: str, token: str, wb: WB, caller: Caller) -> Response:
    svc.revoke_stakeholder(wb, caller, site_id, token)
    return Response(status_code=204)


@router.post(
    "/annotations",
    status_code=201,
    response_model=AnnotationPublic,
    summary="Extension: the widget posts a visitor's annotation (widget token; stakeholder token optional)",
    tags=["extensions"],
    responses=error_responses(413, why={413: "The screenshot is over 10 MB once decoded"}),
)
def widget_submit(
    site_id: str,
    body: WidgetAnnotationCreate,
    wb: WB,
    x_gf_widget_token: Annotated[str | None, Header()] = None,
    x_gf_stakeholder_token: Annotated[str | None, Header()] = None,
) -> JSON:
    ann = annotations_svc.submit_from_widget(wb, site_id, x_gf_widget_token, x_gf_stakeholder_token, body)
    return JSON(ann.to_public(), status_code=201)
