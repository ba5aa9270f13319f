"""The stored entities of sites and annotations as plain records, and their public (wire) shapes.

Workspaces, users and API tokens live in account_records.py (read on every start, so kept small).

Records are slotted dataclasses rather than pydantic models: they come from trusted rows, and
the list endpoints build thousands of them a second. Validation happens once, at the edge,
with the pydantic request models beside each rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from workbench.domain.clock import iso_ms


@dataclass(slots=True)
class Site:
    id: str
    workspace_id: str
    name: str
    url: str
    widget_token: str
    mcp_token: str
    mcp_token_hash: str
    loader_secret_id: str
    created_at: int
    updated_at: int

    def to_public(self) -> dict[str, Any]:
        # The document: sites list and detail exclude mcp_token (and the widget token too:
        # "The dashboard is the only place that ever reveals mcp_token or widget_token").
        return {
            "id": self.id,
            "workspace_id": self.workspace_id,
            "name": self.name,
            "url": self.url,
            "created_at": iso_ms(self.created_at),
            "updated_at": iso_ms(self.updated_at),
        }


@dataclass(slots=True)
class Stakeholder:
    token: str
    site_id: str
    workspace_id: str
    name: str | None
    email: str | None
    auto_fix_default: str
    created_at: int
    updated_at: int
    revoked_at: int | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "site_id": self.site_id,
            "name": self.name,
            "email": self.email,
            "auto_fix_default": self.auto_fix_default,
            "created_at": iso_ms(self.created_at),
            "updated_at": iso_ms(self.updated_at),
        }

    def redacted(self) -> Stakeholder:
        """What a caller below MEMBER sees: the token's last four characters, no email.

        A GUEST may not create stakeholders, so it must not hold a working stakeholder token
        (it could then submit as one, auto-fix included); the address is a third party's
        personal data that reading feedback does not need. The shape stays the same.
        """
        return replace(self, token="****" + self.token[-4:], email=None)


@dataclass(slots=True)
class Annotation:
    id: str
    workspace_id: str
    site_id: str
    page_url: str
    selector: str | None
    kind: str
    body: str
    status: str
    summary: str | None
    assignee_id: str | None
    auto_fix: bool
    submitter_name: str | None
    submitter_email: str | None
    stakeholder_token: str | None
    screenshot_key: str | None
    computed_styles: dict[str, str] | None
    created_at: int
    updated_at: int
    version: int
    # The widget's capture (anchor, viewport, user agent, console and network rings): an extension.
    capture: dict[str, Any] | None = None
    # SHA-256 of the submitting browser's random key: it lists its own annotations; never shown.
    submitter_key_hash: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site_id": self.site_id,
            "page_url": self.page_url,
            "selector": self.selector,
            "kind": self.kind,
            "body": self.body,
            "status": self.status,
            "summary": self.summary,
            "assignee_id": self.assignee_id,
            "auto_fix": self.auto_fix,
            "submitter": {
                "name": self.submitter_name,
                "type": "stakeholder" if self.stakeholder_token else "anonymous",
                "has_email": bool(self.submitter_email),
            },
            "screenshot_key": self.screenshot_key,
            "computed_styles": self.computed_styles,
            "capture": self.capture,
            "created_at": iso_ms(self.created_at),
            "updated_at": iso_ms(self.updated_at),
            "version": self.version,
        }


@dataclass(slots=True)
class Reply:
    id: str
    annotation_id: str
    workspace_id: str
    author_kind: str  # user | agent | persona | system
    author_id: str | None
    author_name: str
    body: str
    persona_id: str | None
    created_at: int

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "annotation_id": self.annotation_id,
            "author": {"type": self.author_kind, "id": self.author_id, "name": self.author_name},
            "body": self.body,
            "persona_id": self.persona_id,
            "created_at": iso_ms(self.created_at),
        }


@dataclass(slots=True)
class Resolution:
    id: str
    annotation_id: str
    workspace_id: str
    before_key: str | None
    after_key: str | None
    diff_url: str | None
    explanation: str | None
    created_by: str
    created_at: int
    notification_status: str  # pending | emailed | replied | failed
    notified_at: int | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "annotation_id": self.annotation_id,
            "before_key": self.before_key,
            "after_key": self.after_key,
            "diff_url": self.diff_url,
            "explanation": self.explanation,
            "created_by": self.created_by,
            "created_at": iso_ms(self.created_at),
            "notification_status": self.notification_status,
            "notified_at": iso_ms(self.notified_at),
        }


@dataclass(slots=True)
class Persona:
    id: str
    workspace_id: str
    slug: str
    name: str
    category: str
    description: str
    focus: list[str] = field(default_factory=list)
    voice: str = ""
    is_default: bool = False
    created_at: int = 0
    updated_at: int = 0

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "focus": list(self.focus),
            "voice": self.voice,
            "is_default": self.is_default,
            "created_at": iso_ms(self.created_at),
            "updated_at": iso_ms(self.updated_at),
        }
