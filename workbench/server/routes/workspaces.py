"""Routes: API tokens (session only) and, as an extension, workspace soft-delete and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from workbench.domain.paging import PageQuery
from workbench.domain.roles import Principal
from workbench.domain.tokens import TokenCreate
from workbench.server.deps import WB, Caller, CallerEvenIfDeleted, OneValueEach
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON, page
from workbench.server.schemas import ApiTokenCreated, ApiTokenList, WorkspacePublic
from workbench.services import accounts as svc

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["api tokens"], responses=error_responses(*COMMON_ERRORS))


async def _minter(workspace_id: str, caller: Caller) -> Principal:
    svc.check_minter(caller, workspace_id)
    return caller


# Judged with the caller, before the body (as deps.Member): a token or a MEMBER is told it may not
# mint, not how to fix the body of a mint it may not make.
Minter = Annotated[Principal, Depends(_minter)]


@router.post("/api-tokens", status_code=201, response_model=ApiTokenCreated, summary="Mint a token (OWNER session); plaintext shown once")
def mint(workspace_id: str, body: TokenCreate, wb: WB, caller: Minter) -> JSON:
    token, plaintext = svc.mint_token(wb, caller, workspace_id, body)
    return JSON({**token.to_public(), "token": plaintext}, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/api-tokens", response_model=ApiTokenList, summary="OWNER sees all; others only their own")
def list_tokens(workspace_id: str, query: Annotated[PageQuery, Query()], wb: WB, caller: Caller, _once: OneValueEach) -> JSON:
    return page(svc.tokens_page(wb, caller, workspace_id, cursor=query.cursor, limit=query.limit))


@router.delete("/api-tokens/{token_id}", status_code=204, summary="Revoke (immediate)")
def revoke(workspace_id: str, token_id: str, wb: WB, caller: Caller) -> Response:
    svc.revoke_token(wb, caller, workspace_id, token_id)
    return Response(status_code=204)


@router.delete("", response_model=WorkspacePublic, summary="Extension: soft-delete the workspace (OWNER session)", tags=["extensions"])
def delete_workspace(workspace_id: str, wb: WB, caller: Caller) -> JSON:
    return JSON(svc.delete_workspace(wb, caller, workspace_id).to_public())


@router.post("/restore", response_model=WorkspacePublic, summary="Extension: restore a soft-deleted workspace (OWNER session)", tags=["extensions"])
def restore_workspace(workspace_id: str, wb: WB, caller: CallerEvenIfDeleted) -> JSON:
    return JSON(svc.restore_workspace(wb, caller, workspace_id).to_public())
