"""Request dependencies: the Workbench of this app and the authenticated Principal.

Authentication is one indexed read of the token digest (WAL readers never wait on writers),
so it runs on the event loop: a threadpool hop per dependency cost more than the query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workbench.domain.roles import Principal
from workbench.services import auth
from workbench.services.context import Workbench

_bearer = HTTPBearer(auto_error=False, description="`gfat_…` API token, or a session bearer with X-GF-Workspace")


async def get_wb(request: Request) -> Workbench:
    return request.app.state.wb


async def _principal(
    request: Request,
    _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_gf_workspace: Annotated[str | None, Header(description="Workspace id (session callers only)")] = None,
) -> Principal:
    return auth.authenticate(request.app.state.wb, request.headers.get("authorization"), x_gf_workspace)


def _principal_allow_deleted(
    request: Request,
    _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_gf_workspace: Annotated[str | None, Header(description="Workspace id (session callers only)")] = None,
) -> Principal:
    return auth.authenticate(request.app.state.wb, request.headers.get("authorization"), x_gf_workspace, allow_deleted=True)


WB = Annotated[Workbench, Depends(get_wb)]
Caller = Annotated[Principal, Depends(_principal)]
CallerEvenIfDeleted = Annotated[Principal, Depends(_principal_allow_deleted)]
