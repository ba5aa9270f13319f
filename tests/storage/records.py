"""Plain records for the storage unit tests: every field set, each test overriding what it is about."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from workbench.domain.records import Annotation, Reply, Resolution

T0 = 1_764_000_000_000


def annotation(workspace_id: str, site_id: str, ann_id: str, **fields: Any) -> Annotation:
    base = Annotation(
        id=ann_id, workspace_id=workspace_id, site_id=site_id, page_url="https://shop.example/cart", selector="#pay",
        kind="bug", body=f"Body of {ann_id}", status="new", summary=None, assignee_id=None, auto_fix=False,
        submitter_name="Ada", submitter_email=None, stakeholder_token=None, screenshot_key=None, computed_styles=None,
        created_at=T0, updated_at=T0, version=1,
    )
    return replace(base, **fields)


def reply(ann: Annotation, reply_id: str, **fields: Any) -> Reply:
    base = Reply(
        id=reply_id, annotation_id=ann.id, workspace_id=ann.workspace_id, author_kind="user", author_id="user-1",
        author_name="Bea", body="On it", persona_id=None, created_at=T0 + 1,
    )
    return replace(base, **fields)


def resolution(ann: Annotation, resolution_id: str, **fields: Any) -> Resolution:
    base = Resolution(
        id=resolution_id, annotation_id=ann.id, workspace_id=ann.workspace_id, before_key=None, after_key=None,
        diff_url="https://git.example/pr/1", explanation=None, created_by="user-1", created_at=T0 + 2,
        notification_status="pending",
    )
    return replace(base, **fields)
