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


# -- every documented read against /openapi.json ------------------------------------------------


def _object_schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed and a nullable ``anyOf`` taken as its non-null side."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _object_schema(spec, option)
    return schema


def _drift(spec: dict[str, Any], schema: dict[str, Any], data: Any, where: str) -> list[str]:
    """Where ``data`` names other keys than its schema's properties, at any depth."""
    schema = _object_schema(spec, schema)
    if isinstance(data, list) and "items" in schema:
        return [d for i, item in enumerate(data) for d in _drift(spec, schema["items"], item, f"{where}[{i}]")]
    if not isinstance(data, dict) or "properties" not in schema:
        return []
    props = schema["properties"]
    found = [f"{where}: {sorted(set(data) - set(props))} not in the schema, {sorted(set(props) - set(data))} not sent"] \
        if set(data) != set(props) else []
    return found + [d for k, v in data.items() if k in props for d in _drift(spec, props[k], v, f"{where}.{k}")]


def test_every_documented_read_sends_exactly_the_fields_its_openapi_schema_names(client, wb: Workbench, creds: dict) -> None:
    """The JSON of each read, on the demo's data, against the schema /openapi.json gives its 200, key
    by key at every depth: an agent generating a client from the schema met fields it did not know (a
    test session's analysis had 3 of its 9), or expected one never sent (a list's sessions had
    ``progress``, which only GET of one session computes)."""
    from workbench.services.demo import load_demo

    load_demo(wb, annotations=60)
    spec = client.get("/openapi.json").json()
    token = {"Authorization": f"Bearer {creds['member_token']}"}
    owner = {"Authorization": f"Bearer {creds['owner_session']}", "X-GF-Workspace": creds["workspace_id"]}
    store = {"Authorization": f"Bearer {creds['store_api_key']}"}
    jwt = {"Authorization": f"Bearer {creds['jwt']}"}
    site, ws = creds["site_id"], creds["workspace_id"]
    annotations = client.get(f"/api/v1/sites/{site}/annotations?limit=200", headers=token).json()["items"]
    evidenced = next(a["id"] for a in annotations if client.get(f"/api/v1/annotations/{a['id']}", headers=token).json()["resolutions"])
    sessions = client.get("/api/v1/feedback-sessions", headers=store).json()["data"]
    tests = client.get(f"/api/sessions?jobId={creds['job_id']}", headers=jwt).json()["data"]["sessions"]
    analyzed = next(s["sessionId"] for s in tests if s["analysis"])
    reads = [
        ("/api/v1/sites", "/api/v1/sites", token),
        ("/api/v1/sites/{site_id}", f"/api/v1/sites/{site}", token),
        ("/api/v1/sites/{site_id}/annotations", f"/api/v1/sites/{site}/annotations", token),
        ("/api/v1/annotations/{annotation_id}", f"/api/v1/annotations/{evidenced}", token),
        ("/api/v1/annotations/{annotation_id}/resolutions", f"/api/v1/annotations/{evidenced}/resolutions", token),
        ("/api/personas/mine", "/api/personas/mine", token),
        ("/api/widget/sites/{site_id}/stakeholders", f"/api/widget/sites/{site}/stakeholders", token),
        ("/api/workspaces/{workspace_id}/api-tokens", f"/api/workspaces/{ws}/api-tokens", owner),
        ("/api/widget/sites/{site_id}/secrets", f"/api/widget/sites/{site}/secrets", owner),
        ("/api/v1/workspace", "/api/v1/workspace", token),
        ("/api/v1/store", "/api/v1/store", store),
        ("/api/v1/feedback-sessions", "/api/v1/feedback-sessions", store),
        *[("/api/v1/feedback-sessions/{session_id}", f"/api/v1/feedback-sessions/{s['id']}", store) for s in sessions],
        *[("/api/v1/feedback-sessions/{session_id}/comments", f"/api/v1/feedback-sessions/{s['id']}/comments", store) for s in sessions],
        ("/api/studies", "/api/studies", jwt),
        ("/api/sessions", f"/api/sessions?jobId={creds['job_id']}", jwt),
        ("/api/sessions/{session_id}", f"/api/sessions/{analyzed}", jwt),
        ("/api/sessions/{session_id}/notes", f"/api/sessions/{analyzed}/notes", jwt),
    ]
    assert sessions and evidenced
    drift = []
    for route, url, headers in reads:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        schema = spec["paths"][route]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        drift += _drift(spec, schema, r.json(), url)
    assert drift == []
