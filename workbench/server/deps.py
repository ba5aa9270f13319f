"""Request dependencies: the Workbench of this app, the authenticated Principal, and a list's
query parameters given once each.

On SQLite authentication is one indexed read of the token digest (WAL readers never wait on
writers), so it runs on the event loop: a threadpool hop per dependency cost more than the
query. On PostgreSQL it is a round trip, during which the loop would serve no one: there it
goes to the threadpool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workbench.domain.roles import Principal, Role, require_role
from workbench.server.errors import refuse_repeated_query
from workbench.server.writer import run_read
from workbench.services import auth
from workbench.services.context import Workbench

_bearer = HTTPBearer(auto_error=False, description="`gfat_…` API token, or a session bearer with X-GF-Workspace")


async def get_wb(request: Request) -> Workbench:
    return request.app.state.wb


async def authenticated(wb: Workbench, authorization: str | None, workspace_header: str | None, *, allow_deleted: bool = False) -> Principal:
    """``auth.authenticate``, inline on SQLite and in the threadpool on PostgreSQL (see above)."""
    return await run_read(wb, auth.authenticate, wb, authorization, workspace_header, allow_deleted=allow_deleted)


async def _principal(
    request: Request,
    _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_gf_workspace: Annotated[str | None, Header(description="Workspace id (session callers only)")] = None,
) -> Principal:
    return await authenticated(request.app.state.wb, request.headers.get("authorization"), x_gf_workspace)


async def _principal_allow_deleted(
    request: Request,
    _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_gf_workspace: Annotated[str | None, Header(description="Workspace id (session callers only)")] = None,
) -> Principal:
    return await authenticated(request.app.state.wb, request.headers.get("authorization"), x_gf_workspace, allow_deleted=True)


async def _member(caller: Annotated[Principal, Depends(_principal)]) -> Principal:
    require_role(caller, Role.MEMBER)
    return caller


WB = Annotated[Workbench, Depends(get_wb)]
Caller = Annotated[Principal, Depends(_principal)]
# A MEMBER route's caller, its role judged as a dependency: FastAPI reports a body that does not
# match its schema only after every dependency, so a GUEST is told the document's 403 "Insufficient
# role", not how to fix a body it may not send at all. The use case checks the role again.
Member = Annotated[Principal, Depends(_member)]
CallerEvenIfDeleted = Annotated[Principal, Depends(_principal_allow_deleted)]
# Every list takes it, after its caller (a refused caller learns nothing of its query, as on the
# annotations list's hot path) and before its values are judged (a repeated value has no one value
# to judge): ``_once: OneValueEach``.
OneValueEach = Annotated[None, Depends(refuse_repeated_query)]
