"""The annotation JSON is described twice, by the records' ``to_public()`` and by the OpenAPI models
in server/schemas.py (issue 15 item 3): they must agree field by field, names and types.

A fully populated annotation (every optional field set, capture, a reply, a resolution) is
stored in a real SQLite file and read back through the service that builds the detail; the
dict is then checked against the pydantic model in strict mode, level by level. FastAPI's
response_model would silently drop a field the model lacks, so the wire alone cannot show it.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from storage import annotations as repo
from workbench.domain.records import Annotation, Reply, Resolution
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.server.schemas import AnnotationDetail, AnnotationPublic, ReplyPublic, ResolutionPublic
from workbench.services import annotations as annotations_svc
from workbench.services.context import Workbench

NOW = 1_764_000_000_123


def _agree(model: type[BaseModel], data: dict[str, Any], where: str) -> None:
    """``data`` has exactly the model's fields, and each value has the field's declared type."""
    assert set(data) == set(model.model_fields), (where, sorted(set(data) ^ set(model.model_fields)))
    for name, field in model.model_fields.items():
        value, annotation = data[name], field.annotation
        assert annotation is not None, f"{where}.{name} is declared without a type"
        assert value is not None, f"{where}.{name} must be populated for the comparison to mean anything"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _agree(annotation, value, f"{where}.{name}")
        else:
            # strict: an int is not accepted for a str, nor a str for an int or bool
            TypeAdapter(annotation).validate_python(value, strict=True)


@pytest.fixture
def populated(wb: Workbench, creds: dict) -> dict[str, Any]:
    ann = Annotation(
        id="ann-1", workspace_id=creds["workspace_id"], site_id=creds["site_id"], page_url="https://shop.example/cart",
        selector="#pay", kind="bug", body="The button is broken", status="triaged", summary="Pay button dead",
        assignee_id=creds["owner_user_id"], auto_fix=True, submitter_name="Ada", submitter_email="ada@example.com",
        stakeholder_token=None, screenshot_key="screenshots/ann-1.png", computed_styles={"color": "red"},
        created_at=NOW, updated_at=NOW + 5, version=3,
        capture={"anchor": {"css": "#pay"}, "viewport": {"w": 1280, "h": 800}, "console": [], "network": []},
        submitter_key_hash="ab" * 32,
    )
    reply = Reply(
        id="rep-1", annotation_id=ann.id, workspace_id=ann.workspace_id, author_kind="user",
        author_id=creds["owner_user_id"], author_name="Owner", body="On it", persona_id="persona-1", created_at=NOW + 1,
    )
    resolution = Resolution(
        id="res-1", annotation_id=ann.id, workspace_id=ann.workspace_id, before_key="resolutions/ann-1/before-x.png",
        after_key="resolutions/ann-1/after-x.png", diff_url="https://git.example/pr/1", explanation="Rewired the handler",
        created_by=creds["owner_user_id"], created_at=NOW + 2, notification_status="emailed", notified_at=NOW + 3,
    )
    with wb.store.write() as db:
        repo.add_annotation(db, ann)
        repo.add_reply(db, reply)
        repo.add_resolution(db, resolution)
    owner = Principal(
        kind=PrincipalKind.SESSION, workspace_id=creds["workspace_id"], role=Role.OWNER, user_id=creds["owner_user_id"]
    )
    return annotations_svc.detail(wb, owner, ann.id)


def test_annotation_detail_agrees_with_its_openapi_model(populated: dict[str, Any]) -> None:
    top = {k: v for k, v in populated.items() if k not in ("replies", "resolutions")}
    _agree(AnnotationPublic, top, "annotation")
    assert set(populated) == set(AnnotationDetail.model_fields)
    assert len(populated["replies"]) == len(populated["resolutions"]) == 1
    _agree(ReplyPublic, populated["replies"][0], "reply")
    _agree(ResolutionPublic, populated["resolutions"][0], "resolution")


def test_the_comparison_catches_a_drifted_field(populated: dict[str, Any]) -> None:
    """The check itself can fail: an extra name, a missing one, or a wrong type."""
    top = {k: v for k, v in populated.items() if k not in ("replies", "resolutions")}
    with pytest.raises(AssertionError):
        _agree(AnnotationPublic, {**top, "secret": "x"}, "annotation")
    with pytest.raises(AssertionError):
        _agree(AnnotationPublic, {k: v for k, v in top.items() if k != "version"}, "annotation")
    with pytest.raises(ValueError):  # pydantic's ValidationError
        _agree(AnnotationPublic, {**top, "version": "3"}, "annotation")
