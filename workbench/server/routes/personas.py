"""Routes: /api/personas (mine, by category, detail, CRUD, reset-defaults)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.convertors import StringConvertor, register_url_convertor

from workbench.domain.paging import PageQuery
from workbench.domain.personas import PersonaCreate, PersonaUpdate, ResetDefaultsRequest
from workbench.server.deps import WB, Caller, Member, OneValueEach
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON, page
from workbench.server.schemas import PersonaList, PersonaPublic, ResetCount
from workbench.services import personas as svc

router = APIRouter(prefix="/api/personas", tags=["personas"], responses=error_responses(*COMMON_ERRORS))


class _PersonaId(StringConvertor):
    """A persona's id: any segment but the names of this router's own paths. As a plain segment,
    GET /api/personas/reset-defaults was the read of a persona of that id (404) where the path
    serves only POST (405 with Allow), and a POST to /mine was told to PATCH or DELETE it."""

    regex = r"(?!(?:mine|reset-defaults)(?:/|$))[^/]+"


register_url_convertor("persona_id", _PersonaId())


@router.get("/mine", response_model=PersonaList, summary="Defaults + customs, category asc, defaults first, name asc")
def mine(query: Annotated[PageQuery, Query()], wb: WB, caller: Caller, _once: OneValueEach) -> JSON:
    return page(svc.personas_page(wb, caller, cursor=query.cursor, limit=query.limit))


@router.get("/category/{category}", response_model=PersonaList, summary="Same ordering, one category")
def by_category(category: str, query: Annotated[PageQuery, Query()], wb: WB, caller: Caller, _once: OneValueEach) -> JSON:
    return page(svc.personas_page(wb, caller, category, cursor=query.cursor, limit=query.limit))


@router.post("/reset-defaults", response_model=ResetCount, summary="Reset all defaults, or one by slug (MEMBER+)")
def reset_defaults(wb: WB, caller: Member, body: ResetDefaultsRequest | None = None) -> JSON:
    return JSON({"reset_count": svc.reset_defaults(wb, caller, body.slug if body else None)})


@router.get("/{persona_id:persona_id}", response_model=PersonaPublic, summary="Workspace-scoped read")
def get_persona(persona_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.get(wb, caller, persona_id).to_public())


@router.post("", status_code=201, response_model=PersonaPublic, summary="Create a custom persona (MEMBER+)",
             responses=error_responses(409, why={409: "A persona with this slug already exists"}))
def create_persona(body: PersonaCreate, wb: WB, caller: Member) -> JSON:
    return JSON(svc.create(wb, caller, body).to_public(), status_code=201)


@router.patch("/{persona_id:persona_id}", response_model=PersonaPublic, summary="Edit any persona (MEMBER+)")
def update_persona(persona_id: str, body: PersonaUpdate, wb: WB, caller: Member) -> JSON:
    return JSON(svc.update(wb, caller, persona_id, body).to_public())


@router.delete("/{persona_id:persona_id}", status_code=204, summary="Delete any persona (MEMBER+)")
def delete_persona(persona_id: str, wb: WB, caller: Member) -> Response:
    svc.delete(wb, caller, persona_id)
    return Response(status_code=204)
