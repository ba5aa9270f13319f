"""Extension routes for sync (not in the documents; a sync client falls back when they are absent)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from workbench.domain.fields import QueryInt
from workbench.domain.since import MAX_SINCE_MS
from workbench.domain.test_sessions import Envelope, ok
from workbench.server.conditional import conditional
from workbench.server.deps import WB, Caller, OneValueEach
from workbench.server.errors import COMMON_ERRORS, error_responses
from workbench.server.responses import JSON
from workbench.server.schemas import WorkspacePublic
from workbench.services import accounts, stores, test_sessions, thread_feed

router = APIRouter(tags=["extensions"], responses=error_responses(*COMMON_ERRORS))


@router.get(
    "/api/v1/sites/{site_id}/thread-changes",
    summary="Extension: a site's replies and resolutions created (or notified) since a time, for replicas",
    description=(
        "Items are `{kind: \"reply\"|\"resolution\", data: <the documented reply or resolution shape>}`, replies "
        "first, oldest first; cursor pagination like the documented lists. A resolution is listed when it was "
        "created or its submitter notification happened at or after `since`."
    ),
)
def thread_changes(
    site_id: str,
    wb: WB,
    caller: Caller,
    _once: OneValueEach,
    since: Annotated[QueryInt, Query(ge=0, le=MAX_SINCE_MS, description="epoch milliseconds")] = 0,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=thread_feed.MAX_LIMIT)] = thread_feed.DEFAULT_LIMIT,
) -> JSON:
    page = thread_feed.thread_changes(wb, caller, site_id, since_ms=since, cursor=cursor, limit=limit)
    return JSON({"items": page.items, "next_cursor": page.next_cursor})


@router.get(
    "/api/studies",
    summary="Extension: the studies (jobIds) of the JWT's workspace, so a replica can find their test sessions",
    description="Bearer: a test-sessions JWT. Answers in the test-sessions envelope: `{success, data: {studies: [...]}, error, metadata}`. "
    "Its weak ETag covers the studies, their sessions, notes and feedback: `If-None-Match` with it answers 304 while none moved.",
    # Its refusals in the envelope too (envelope.PREFIXES), not the router's ErrorDetail.
    responses={
        **error_responses(*COMMON_ERRORS, model=Envelope[Any]),
        304: {"description": "Nothing in the workspace's studies, sessions, notes or feedback changed"},
    },
)
def list_studies(request: Request, wb: WB) -> Response:
    caller = test_sessions.authenticate(wb, request.headers.get("authorization"))
    return conditional(
        request, test_sessions.tree_digest(wb, caller), "sessions notes",
        lambda: JSON(ok({"studies": [s.to_public() for s in test_sessions.list_studies(wb, caller)]})),
    )


@router.get(
    "/api/v1/workspace",
    response_model=WorkspacePublic,
    summary="Extension: the caller's workspace (id and name), so a replica is shown by the server's name for it",
)
def own_workspace(wb: WB, caller: Caller) -> JSON:
    return JSON(accounts.own_workspace(wb, caller).to_public())


@router.get(
    "/api/v1/store",
    summary="Extension: the store a store API key belongs to (`{id, name, aiBuilt, createdAt}`), so a replica shows its name",
    description="Bearer: the store's API key (`wbsk_…`); a missing, unknown or revoked key is a 401.",
)
def own_store(request: Request, wb: WB) -> JSON:
    return JSON(stores.authenticate_store(wb, request.headers.get("authorization")).to_public())
