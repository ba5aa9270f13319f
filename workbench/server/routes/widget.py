"""Routes under /api/widget: site secrets (OWNER session), stakeholders, and the widget's own endpoints.

The widget's endpoints (config, submit, mine) take the public widget token; browsers reach them
across origins through server/cors.py, which answers only the site's allowed origins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from workbench.domain.annotations import StakeholderCreate, StakeholderUpdate, WidgetSubmission
from workbench.domain.paging import PageQuery
from workbench.server.deps import WB, Caller, Member, OneValueEach
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.ratelimit import new_buckets, retry_after
from workbench.server.responses import JSON, page
from workbench.server.schemas import AnnotationPublic, MineList, Secrets, StakeholderList, StakeholderPublic, WidgetConfig
from workbench.server.settings import ServerSettings
from workbench.services import annotations as annotations_svc
from workbench.services import sites as svc
from workbench.services import widget as widget_svc
from workbench.services.context import Workbench

router = APIRouter(prefix="/api/widget/sites/{site_id}", tags=["widget"], responses=error_responses(*COMMON_ERRORS))


@router.get("/secrets", response_model=Secrets, summary="widget_token, mcp_token, loader_secret_id (OWNER session)")
def get_secrets(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.get_secrets(wb, caller, site_id), headers={"Cache-Control": "no-store"})


@router.post("/secrets/rotate-mcp-token", response_model=Secrets, summary="Mint a fresh MCP token; the old one stops at once")
def rotate(site_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.rotate_mcp_token(wb, caller, site_id), headers={"Cache-Control": "no-store"})


@router.post("/stakeholders", status_code=201, response_model=StakeholderPublic, summary="Create a stakeholder (MEMBER+)")
def create_stakeholder(site_id: str, body: StakeholderCreate, wb: WB, caller: Member) -> JSON:
    return JSON(svc.create_stakeholder(wb, caller, site_id, body).to_public(), status_code=201)


@router.get("/stakeholders", response_model=StakeholderList, summary="List existing stakeholders")
def list_stakeholders(site_id: str, query: Annotated[PageQuery, Query()], wb: WB, caller: Caller, _once: OneValueEach) -> JSON:
    return page(svc.stakeholders_page(wb, caller, site_id, cursor=query.cursor, limit=query.limit))


@router.patch("/stakeholders/{token}", response_model=StakeholderPublic, summary="Update a stakeholder (MEMBER+)")
def update_stakeholder(site_id: str, token: str, body: StakeholderUpdate, wb: WB, caller: Member) -> JSON:
    return JSON(svc.update_stakeholder(wb, caller, site_id, token, body).to_public())


@router.delete("/stakeholders/{token}", status_code=204, summary="Revoke a stakeholder (MEMBER+)")
def revoke_stakeholder(site_id: str, token: str, wb: WB, caller: Member) -> Response:
    svc.revoke_stakeholder(wb, caller, site_id, token)
    return Response(status_code=204)


class SubmitLimits:
    """Submissions per client IP (loopback included: browsers, not local tools, post here) and per site."""

    def __init__(self, settings: ServerSettings, wb: Workbench) -> None:
        self.settings = settings
        self.ips = new_buckets(wb, "widget-ip", settings.widget_ip_limit, settings.window_seconds)
        self.sites = new_buckets(wb, "widget-site", settings.widget_site_limit, settings.window_seconds)

    def check(self, request: Request, site_id: str) -> JSON | None:
        host = request.client.host if request.client else "unknown"
        wait = self.ips.hit(f"ip:{host}")
        what = f"per-IP widget submissions ({self.settings.widget_ip_limit} per {self.settings.window_seconds}s)"
        if wait is not None:
            # Both full: a submission is admitted once both have rolled over.
            wait = max(wait, self.sites.left(f"site:{site_id}") or 0.0)
        else:
            wait = self.sites.hit(f"site:{site_id}")
            what = f"per-site widget submissions ({self.settings.widget_site_limit} per {self.settings.window_seconds}s)"
        if wait is None:
            return None
        return JSON({"detail": f"Rate limit exceeded: {what}"}, status_code=429, headers={"Retry-After": str(retry_after(wait))})


def _limits(request: Request) -> SubmitLimits:
    state = request.app.state
    if getattr(state, "widget_limits", None) is None:
        state.widget_limits = SubmitLimits(state.settings, state.wb)
    return state.widget_limits


WidgetToken = Annotated[str | None, Header(description="The site's public widget token")]
StakeholderToken = Annotated[str | None, Header(description="A stakeholder's token (optional)")]


@router.get(
    "/config",
    response_model=WidgetConfig,
    summary="Extension: who the widget's visitor is and how the Auto-fix toggle renders (widget token; stakeholder token optional)",
    tags=["extensions"],
)
def widget_config(
    site_id: str, wb: WB, x_gf_widget_token: WidgetToken = None, x_gf_stakeholder_token: StakeholderToken = None
) -> JSON:
    return JSON(widget_svc.config(wb, site_id, x_gf_widget_token, x_gf_stakeholder_token), headers={"Cache-Control": "no-store"})


@router.get(
    "/mine",
    response_model=MineList,
    summary="Extension: this browser's own annotations on the site, with status and replies (widget token + submitter key)",
    tags=["extensions"],
)
def widget_mine(
    site_id: str,
    wb: WB,
    x_gf_widget_token: WidgetToken = None,
    x_gf_submitter_key: Annotated[str | None, Header(description="The browser's random submitter key")] = None,
) -> JSON:
    return JSON({"items": widget_svc.mine(wb, site_id, x_gf_widget_token, x_gf_submitter_key)}, headers={"Cache-Control": "no-store"})


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
    body: WidgetSubmission,
    wb: WB,
    request: Request,
    x_gf_widget_token: WidgetToken = None,
    x_gf_stakeholder_token: StakeholderToken = None,
) -> JSON:
    refused = _limits(request).check(request, site_id)
    if refused is not None:
        return refused
    ann = annotations_svc.submit_from_widget(wb, site_id, x_gf_widget_token, x_gf_stakeholder_token, body)
    return JSON(ann.to_public(), status_code=201)
