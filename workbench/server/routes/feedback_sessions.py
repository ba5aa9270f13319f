"""Routes: /api/v1/feedback-sessions (store API key), the reviewers' widget endpoints, review/preview pages.

Shapes are the document's: the list is ``{data, meta}``, single sessions are bare objects,
start answers 201 while the preview deploys in a background job. Errors keep the app's
``{"detail": ...}`` shape, like the rest of /api/v1.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from workbench.domain.errors import NotFound, Unauthenticated
from workbench.domain.feedback_sessions import (
    CommentCreate,
    FeedbackAction,
    FeedbackCommentPublic,
    FeedbackSessionDetailPublic,
    FeedbackSessionPublic,
    comment_refusal,
)
from workbench.domain.fields import CleanStr
from workbench.domain.session_records import Storefront, on_base
from workbench.domain.statuses import STATUS_LABELS
from workbench.server import jobs, storefront
from workbench.server.conditional import conditional
from workbench.server.deps import WB, OneValueEach
from workbench.server.errors import ErrorDetail, error_responses
from workbench.server.responses import JSON
from workbench.services import feedback_sessions as feedback_sessions_svc
from workbench.services import stores as stores_svc

router = APIRouter(prefix="/api/v1/feedback-sessions", tags=["feedback sessions"], responses=error_responses(400, 401, 404, 422, 429))
widget = APIRouter(prefix="/api/widget/feedback-sessions/{session_id}", tags=["widget", "extensions"],
                   responses=error_responses(400, 401, 404, 422, 429))
pages = APIRouter(include_in_schema=False)

_bearer = HTTPBearer(auto_error=False, scheme_name="StoreApiKey", description="The store's API key (`wbsk_…`)")


def _store(request: Request, _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Storefront:
    return stores_svc.authenticate_store(request.app.state.wb, request.headers.get("authorization"))


StoreCaller = Annotated[Storefront, Depends(_store)]


def _public_base(request: Request) -> str:
    """Where this caller reaches the server: ``--public-url``, else this request's own base URL
    (its Host, and the scheme a proxy named by ``--forwarded-allow-ips`` forwards). Computed per
    response and never stored, so one request's Host is shown to that request alone."""
    return request.app.state.settings.public_url or str(request.base_url)


Base = Annotated[str, Depends(_public_base)]


# --- OpenAPI shapes ---------------------------------------------------------------------------


class ListMeta(BaseModel):
    count: int = Field(description="Sessions matching the status filter in total (not only this page)")
    offset: int
    limit: int


class SessionList(BaseModel):
    data: list[FeedbackSessionPublic]
    meta: ListMeta


class CommentCount(BaseModel):
    count: int


class CommentList(BaseModel):
    data: list[FeedbackCommentPublic]
    meta: CommentCount


class WidgetComment(FeedbackCommentPublic):
    selector: str | None = None
    offsetX: float | None = None
    offsetY: float | None = None
    pinX: float | None = None
    pinY: float | None = None
    reviewerName: str | None = None
    resolvedAt: str | None = None


class WidgetSession(BaseModel):
    id: str
    status: str
    deploymentUrl: str | None = None
    acceptsComments: bool = Field(description="Whether reviewers may comment in the session's status (the domain's rule)")
    notice: str | None = Field(default=None, description="Why comments are closed, when they are")


class WidgetCommentList(BaseModel):
    session: WidgetSession
    data: list[WidgetComment]


class BuilderFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    errorMessage: CleanStr | None = Field(default=None, max_length=2000)


NOT_FOUND = {404: {"model": ErrorDetail, "description": "The session does not exist or belongs to another store"}}
UNAUTHENTICATED = {401: {"model": ErrorDetail, "description": "Missing, malformed or unknown store API key"}}


# --- the documented endpoints -----------------------------------------------------------------


@router.get("", response_model=SessionList, responses={
                304: {"description": "Extension: `If-None-Match` named the current ETag, which covers every session of the store and their comments"},
                400: {"model": ErrorDetail, "description": "limit, offset or status out of range, or given more than once"}, **UNAUTHENTICATED},
            summary="List feedback sessions, newest first")
def list_sessions(
    request: Request,
    wb: WB,
    store: StoreCaller,
    _once: OneValueEach,
    base: Base,
    limit: Annotated[str | None, Query(description="Sessions per page (1-100, default 50)")] = None,
    offset: Annotated[str | None, Query(description="Sessions to skip (default 0)")] = None,
    status: Annotated[str | None, Query(description="Filter by status (e.g. in_review, done)")] = None,
) -> Response:
    def build() -> JSON:
        rows, meta = feedback_sessions_svc.list_sessions(wb, store, limit=limit, offset=offset, status=status)
        return JSON({"data": [s.to_public(base) for s in rows], "meta": meta})

    # The base is in the ETag: the same sessions read through another base are another representation.
    return conditional(request, f"{feedback_sessions_svc.tree_digest(wb, store)} {base}", "comments", build)


@router.post("", status_code=201, response_model=FeedbackSessionPublic,
             responses={400: {"model": ErrorDetail, "description": "Store is not AI-built"},
                        409: {"model": ErrorDetail, "description": "A feedback session is already in progress"},
                        **UNAUTHENTICATED},
             summary="Start a feedback session (the preview deploys in the background)")
def start_session(request: Request, wb: WB, store: StoreCaller, base: Base) -> JSON:
    with jobs.together(request.app, wb) as later:
        session = feedback_sessions_svc.start(wb, store)
        later(jobs.DEPLOY, session.id)
    return JSON(session.to_public(base), status_code=201)


@router.get("/{session_id}", response_model=FeedbackSessionDetailPublic, responses={**NOT_FOUND, **UNAUTHENTICATED},
            summary="A session with its review progress")
def get_session(session_id: str, wb: WB, store: StoreCaller, base: Base) -> JSON:
    return JSON(feedback_sessions_svc.get(wb, store, session_id, base=base))


@router.get("/{session_id}/comments", response_model=CommentList, responses={**NOT_FOUND, **UNAUTHENTICATED},
            summary="The reviewers' comments (without positioning fields)")
def list_comments(session_id: str, wb: WB, store: StoreCaller) -> JSON:
    comments = feedback_sessions_svc.list_comments(wb, store, session_id)
    return JSON({"data": [c.to_public() for c in comments], "meta": {"count": len(comments)}})


@router.post("/{session_id}/cancel", response_model=FeedbackSessionPublic,
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "Session is past the preparing phase (finalize instead)"}, **UNAUTHENTICATED},
             summary="Cancel a session still preparing (created)")
def cancel(session_id: str, wb: WB, store: StoreCaller, base: Base) -> JSON:
    return JSON(feedback_sessions_svc.cancel(wb, store, session_id).to_public(base))


@router.post("/{session_id}/finalize", response_model=FeedbackSessionPublic,
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "The session's status does not allow finalizing"}, **UNAUTHENTICATED},
             summary="Close the review round (status → done)")
def finalize(session_id: str, wb: WB, store: StoreCaller, base: Base) -> JSON:
    return JSON(feedback_sessions_svc.finalize(wb, store, session_id).to_public(base))


# --- extensions: the rest of the lifecycle and comment triage ---------------------------------


def _action_route(action: FeedbackAction, summary: str) -> None:
    path = "/{session_id}/" + action.value.replace("_", "-")

    if action is FeedbackAction.BUILDER_FAILED:

        def failed(session_id: str, wb: WB, store: StoreCaller, base: Base, body: BuilderFailure | None = None) -> JSON:
            message = body.errorMessage if body else None
            return JSON(feedback_sessions_svc.act(wb, store, session_id, action, error_message=message).to_public(base))

        endpoint = failed
    else:

        def plain(session_id: str, wb: WB, store: StoreCaller, base: Base) -> JSON:
            return JSON(feedback_sessions_svc.act(wb, store, session_id, action).to_public(base))

        endpoint = plain
    endpoint.__name__ = action.value
    router.add_api_route(
        path, endpoint, methods=["POST"], response_model=FeedbackSessionPublic, tags=["feedback sessions", "extensions"],
        responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "The transition table refuses this action in the current status"}},
        summary=f"Extension: {summary}",
    )


for _action, _summary in (
    (FeedbackAction.START_WORK, "the team starts working through the comments (in_review → in_progress)"),
    (FeedbackAction.SUBMIT_ROUND, "turn the comments into builder tasks (in_review | in_progress → task_review)"),
    (FeedbackAction.RETURN_TO_REVIEW, "send the tasks back for more commenting (task_review → in_review)"),
    (FeedbackAction.APPROVE_TASKS, "approve the tasks; the builder applies them (task_review → processing)"),
    (FeedbackAction.BUILDER_FINISHED, "the builder finished; review the fresh preview (processing → in_review)"),
    (FeedbackAction.BUILDER_FAILED, "the builder failed (processing → interrupted, with errorMessage)"),
):
    _action_route(_action, _summary)


@router.post("/{session_id}/comments/{comment_id}/resolve", response_model=FeedbackCommentPublic, tags=["feedback sessions", "extensions"],
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "The session is preparing or finished"}},
             summary="Extension: resolve a comment (drives progress; idempotent)")
def resolve_comment(session_id: str, comment_id: str, wb: WB, store: StoreCaller) -> JSON:
    return JSON(feedback_sessions_svc.set_comment_resolved(wb, store, session_id, comment_id, True).to_public())


@router.post("/{session_id}/comments/{comment_id}/reopen", response_model=FeedbackCommentPublic, tags=["feedback sessions", "extensions"],
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "The session is preparing or finished"}},
             summary="Extension: reopen a resolved comment (idempotent)")
def reopen_comment(session_id: str, comment_id: str, wb: WB, store: StoreCaller) -> JSON:
    return JSON(feedback_sessions_svc.set_comment_resolved(wb, store, session_id, comment_id, False).to_public())


# --- the reviewers' widget (authorised by the review token of the feedbackUrl) ----------------

ReviewToken = Annotated[str | None, Header(alias="X-Review-Token", description="The token of the session's feedbackUrl")]


@widget.post("/comments", status_code=201, response_model=WidgetComment,
             responses={401: {"model": ErrorDetail, "description": "Missing or wrong review token, or the workspace is deleted"},
                        404: {"model": ErrorDetail, "description": "No such session"},
                        409: {"model": ErrorDetail, "description": "The session does not take comments in its status"}},
             summary="Extension: a reviewer pins a comment on the preview")
def post_comment(session_id: str, body: CommentCreate, wb: WB, token: ReviewToken = None) -> JSON:
    return JSON(feedback_sessions_svc.add_comment(wb, session_id, token, body).to_widget(), status_code=201)


@widget.get("/comments", response_model=WidgetCommentList,
            responses={401: {"model": ErrorDetail, "description": "Missing or wrong review token, or the workspace is deleted"},
                       404: {"model": ErrorDetail, "description": "No such session"}},
            summary="Extension: the session's comments with their pins, for the widget")
def widget_comments(session_id: str, wb: WB, base: Base, token: ReviewToken = None) -> JSON:
    session, comments = feedback_sessions_svc.reviewer_comments(wb, session_id, token)
    refusal = comment_refusal(session.status)
    return JSON({
        "session": {"id": session.id, "status": session.status, "deploymentUrl": on_base(session.deployment_url, base),
                    "acceptsComments": refusal is None, "notice": refusal},
        "data": [c.to_widget() for c in comments],
    })


# --- the pages behind feedbackUrl and the default preview URL ---------------------------------

ASSETS = Path(__file__).resolve().parent.parent / "static" / "review"
# The review page's script, stylesheet and the agent a preview loads; mounted by the app.
assets = StaticFiles(directory=ASSETS)
ASSETS_URL = feedback_sessions_svc.REVIEW_AGENT_PATH.rsplit("/", 1)[0]  # where deploy commands are told the agent is

# The page names a round's status with the words the TUI and the CLI use (one map, statuses.py), never "task_review".
_REVIEW_SHELL = ((ASSETS / "review.html").read_text(encoding="utf-8")
                 .replace("{{STATUS_LABELS}}", html.escape(json.dumps(STATUS_LABELS), quote=True)))


def _message_page(title: str, message: str, status_code: int) -> HTMLResponse:
    body = (f"<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)}</title><link rel=icon href='data:,'><link rel=stylesheet href='{ASSETS_URL}/review.css'>"
            f"<main class=message-page><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></main>")
    return HTMLResponse(body, status_code=status_code, headers=_PAGE_HEADERS)


# The review token is in the page's URL: no referrer may carry it to the preview or a link.
_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@pages.get("/review/{session_id}", response_class=HTMLResponse)
def review_page(session_id: str, wb: WB, token: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    """The reviewers' page: the preview in a frame with a pin layer, the comments beside it (static/review/)."""
    try:
        feedback_sessions_svc.reviewer_comments(wb, session_id, token)
    except feedback_sessions_svc.ReviewClosed:
        return _message_page("This review round is closed for now",
                             "Its workspace was deleted. The link works again if the workspace's owner restores it.", 401)
    except Unauthenticated:
        return _message_page("This review link is not valid",
                             "Its token is missing or does not match the session. Ask for the session's feedback link again.", 401)
    except NotFound:
        return _message_page("No such review round", "The session does not exist or was removed.", 404)
    return HTMLResponse(_REVIEW_SHELL.replace("{{ASSETS}}", ASSETS_URL), headers={
        **_PAGE_HEADERS,
        # Scripts and styles only from this server; the preview may be any http(s) origin.
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-src http: https:; "
                                   "object-src 'none'; base-uri 'none'; frame-ancestors 'self'",
    })


@pages.get("/preview/{session_id}", response_class=HTMLResponse)
@pages.get("/preview/{session_id}/{page_path:path}", response_class=HTMLResponse)
def preview_page(session_id: str, wb: WB, page_path: str = "") -> HTMLResponse:
    """The default (offline) deployment: a small sample storefront standing in for the store's preview build."""
    if not feedback_sessions_svc.preview_exists(wb, session_id):
        return HTMLResponse("Not found", status_code=404)
    page = storefront.render(f"/preview/{session_id}", "/" + page_path, assets=ASSETS_URL,
                             widget=feedback_sessions_svc.WIDGET_PATH)
    if page is None:
        return HTMLResponse(storefront.not_found(f"/preview/{session_id}"), status_code=404)
    return HTMLResponse(page, headers={"X-Content-Type-Options": "nosniff"})
