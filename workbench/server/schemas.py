"""Response schemas for the OpenAPI document (the handlers return pre-serialised JSON of these shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SitePublic(BaseModel):
    id: str
    workspace_id: str
    name: str
    url: str
    created_at: str
    updated_at: str


class SiteList(BaseModel):
    items: list[SitePublic]
    next_cursor: str | None


class Submitter(BaseModel):
    name: str | None
    type: str
    has_email: bool


class AnnotationPublic(BaseModel):
    id: str
    site_id: str
    page_url: str
    selector: str | None
    kind: str
    body: str
    status: str
    summary: str | None
    assignee_id: str | None
    auto_fix: bool
    submitter: Submitter
    screenshot_key: str | None
    computed_styles: dict[str, str] | None
    capture: dict[str, Any] | None = Field(
        default=None, description="Extension: the widget's anchor, viewport, user agent, console errors and failed requests"
    )
    created_at: str
    updated_at: str
    version: int


class AnnotationPage(BaseModel):
    items: list[AnnotationPublic]
    next_cursor: str | None


class Author(BaseModel):
    type: str
    id: str | None
    name: str


class ReplyPublic(BaseModel):
    id: str
    annotation_id: str
    author: Author
    body: str
    persona_id: str | None
    created_at: str


class ResolutionPublic(BaseModel):
    id: str
    annotation_id: str
    before_key: str | None
    after_key: str | None
    diff_url: str | None
    explanation: str | None
    created_by: str
    created_at: str
    notification_status: str
    notified_at: str | None


class ResolutionList(BaseModel):
    items: list[ResolutionPublic]
    next_cursor: str | None


class AnnotationDetail(AnnotationPublic):
    replies: list[ReplyPublic]
    resolutions: list[ResolutionPublic]


class PersonaRun(BaseModel):
    replies: list[ReplyPublic]


class UploadUrl(BaseModel):
    url: str
    method: str
    headers: dict[str, str]
    key: str
    expires_in_seconds: int


class UploadReceipt(BaseModel):
    key: str
    size: int
    sha256: str


class PersonaPublic(BaseModel):
    id: str
    slug: str
    name: str
    category: str
    description: str
    focus: list[str]
    voice: str
    is_default: bool
    created_at: str
    updated_at: str


class PersonaList(BaseModel):
    items: list[PersonaPublic]
    next_cursor: str | None


class ResetCount(BaseModel):
    reset_count: int


class ApiTokenPublic(BaseModel):
    id: str
    name: str
    role: str
    last4: str
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class ApiTokenCreated(ApiTokenPublic):
    token: str


class ApiTokenList(BaseModel):
    items: list[ApiTokenPublic]
    next_cursor: str | None


class Secrets(BaseModel):
    widget_token: str
    mcp_token: str
    loader_secret_id: str


class StakeholderPublic(BaseModel):
    token: str
    site_id: str
    name: str | None
    email: str | None
    auto_fix_default: str
    created_at: str
    updated_at: str


class StakeholderList(BaseModel):
    items: list[StakeholderPublic]
    next_cursor: str | None


class WorkspacePublic(BaseModel):
    id: str
    name: str
    created_at: str
    deleted_at: str | None


class WidgetToggle(BaseModel):
    visible: bool
    checked: bool


class WidgetStakeholder(BaseModel):
    name: str | None
    auto_fix_default: str
    has_email: bool = Field(description="Whether the site has their email, which their feedback then carries (the widget's Email field is not shown)")


class WidgetConfig(BaseModel):
    site_id: str
    stakeholder: WidgetStakeholder | None
    auto_fix: WidgetToggle


class MineReply(BaseModel):
    author: dict[str, str | None]
    body: str
    created_at: str


class MineItem(BaseModel):
    id: str
    page_url: str
    selector: str | None
    anchor: dict[str, Any] | None
    kind: str
    body: str
    status: str
    summary: str | None
    created_at: str
    updated_at: str
    replies: list[MineReply]


class MineList(BaseModel):
    items: list[MineItem]
