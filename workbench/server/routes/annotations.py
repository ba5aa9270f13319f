"""Routes: annotations list/detail/PATCH, replies, markdown and run-personas under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse

from workbench.domain.annotations import AnnotationPatch, KindLiteral, ReplyCreate, RunPersonasRequest, StatusLiteral
from workbench.domain.errors import Invalid
from workbench.server.deps import WB, Caller
from workbench.server.responses import JSON
from workbench.server.schemas import AnnotationDetail, AnnotationPage, AnnotationPublic, PersonaRun, ReplyPublic
from workbench.services import annotations as svc

router = APIRouter(tags=["annotations"])


@router.get("/api/v1/sites/{site_id}/annotations", response_model=AnnotationPage, summary="List a site's annotations")
def list_annotations(
    site_id: str,
    wb: WB,
    caller: Caller,
    status: Annotated[StatusLiteral | None, Query()] = None,
    kind: Annotated[KindLiteral | None, Query()] = None,
    since: Annotated[int | None, Query(ge=0, le=2**53, description="epoch milliseconds: updated at or after")] = None,
    auto_fix: Annotated[bool | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSON:
    page = svc.list_annotations(
        wb, caller, site_id, status=status, kind=kind, since_ms=since, auto_fix=auto_fix, cursor=cursor, limit=limit
    )
    return JSON({"items": [a.to_public() for a in page.items], "next_cursor": page.next_cursor})


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"v{version}"'}


@router.get("/api/v1/annotations/{annotation_id}", response_model=AnnotationDetail, summary="Detail with replies + resolutions")
def get_annotation(annotation_id: str, wb: WB, caller: Caller) -> JSON:
    out = svc.detail(wb, caller, annotation_id)
    return JSON(out, headers=_etag(out["version"]))


def _parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.startswith("v") or not tag[1:].isdigit():
        raise Invalid("If-Match must be an ETag returned by this server, like \"v3\"")
    return int(tag[1:])


@router.patch("/api/v1/annotations/{annotation_id}", response_model=AnnotationPublic, summary="Update status, summary, assignee")
def patch_annotation(
    annotation_id: str,
    body: AnnotationPatch,
    wb: WB,
    caller: Caller,
    if_match: Annotated[str | None, Header(description="Optional compare-and-set: the ETag of the version you edited")] = None,
) -> JSON:
    ann = svc.patch(wb, caller, annotation_id, body, if_version=_parse_if_match(if_match))
    return JSON(ann.to_public(), headers=_etag(ann.version))


@router.post("/api/v1/annotations/{annotation_id}/replies", status_code=201, response_model=ReplyPublic, summary="Reply on the thread")
def post_reply(annotation_id: str, body: ReplyCreate, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.reply(wb, caller, annotation_id, body).to_public(), status_code=201)


@router.get(
    "/api/v1/annotations/{annotation_id}/markdown",
    response_class=PlainTextResponse,
    summary="Agent-paste-friendly markdown blob",
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def get_markdown(annotation_id: str, wb: WB, caller: Caller) -> PlainTextResponse:
    return PlainTextResponse(svc.render_markdown(wb, caller, annotation_id), media_type="text/markdown; charset=utf-8")


@router.post(
    "/api/v1/annotations/{annotation_id}/run-personas", status_code=201, response_model=PersonaRun, summary="Run reviewer personas (MEMBER+)"
)
def run_personas(annotation_id: str, wb: WB, caller: Caller, body: RunPersonasRequest | None = None) -> JSON:
    replies = svc.run_personas(wb, caller, annotation_id, body or RunPersonasRequest())
    return JSON({"replies": [r.to_public() for r in replies]}, status_code=201)
