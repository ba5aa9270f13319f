"""Routes: /api/v1/feedback-sessions (store API key), the reviewers' widget endpoints, review/preview pages.

Shapes are the document's: the list is ``{data, meta}``, single sessions are bare objects,
start answers 201 while the preview deploys in a background job. Errors keep the app's
``{"detail": ...}`` shape, like the rest of /api/v1.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from workbench.domain.feedback_sessions import CommentCreate, FeedbackAction, FeedbackCommentPublic, FeedbackSessionPublic
from workbench.domain.fields import CleanStr
from workbench.domain.session_records import Storefront
from workbench.server.deps import WB
from workbench.server.errors import ErrorDetail, error_responses
from workbench.server.jobs import jobs_of
from workbench.server.responses import JSON
from workbench.services import feedback_sessions as svc
from workbench.services import stores as stores_svc

router = APIRouter(prefix="/api/v1/feedback-sessions", tags=["feedback sessions"], responses=error_responses(400, 401, 404, 422, 429))
widget = APIRouter(prefix="/api/widget/feedback-sessions/{session_id}", tags=["widget", "extensions"],
                   responses=error_responses(400, 401, 404, 422, 429))
pages = APIRouter(include_in_schema=False)

_bearer = HTTPBearer(auto_error=False, scheme_name="StoreApiKey", description="The store's API key (`wbsk_…`)")


def _store(request: Request, _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Storefront:
    return stores_svc.authenticate_store(request.app.state.wb, request.headers.get("authorization"))


StoreCaller = Annotated[Storefront, Depends(_store)]


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


class WidgetCommentList(BaseModel):
    session: WidgetSession
    data: list[WidgetComment]


class BuilderFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    errorMessage: CleanStr | None = Field(default=None, max_length=2000)


NOT_FOUND = {404: {"model": ErrorDetail, "description": "The session does not exist or belongs to another store"}}
UNAUTHENTICATED = {401: {"model": ErrorDetail, "description": "Missing, malformed or unknown store API key"}}


# --- the documented endpoints -----------------------------------------------------------------


@router.get("", response_model=SessionList, responses={400: {"model": ErrorDetail, "description": "limit, offset or status out of range"}, **UNAUTHENTICATED},
            summary="List feedback sessions, newest first")
def list_sessions(
    wb: WB,
    store: StoreCaller,
    limit: Annotated[str | None, Query(description="Sessions per page (1-100, default 50)")] = None,
    offset: Annotated[str | None, Query(description="Sessions to skip (default 0)")] = None,
    status: Annotated[str | None, Query(description="Filter by status (e.g. in_review, done)")] = None,
) -> JSON:
    rows, meta = svc.list_sessions(wb, store, limit=limit, offset=offset, status=status)
    return JSON({"data": [s.to_public() for s in rows], "meta": meta})


@router.post("", status_code=201, response_model=FeedbackSessionPublic,
             responses={400: {"model": ErrorDetail, "description": "Store is not AI-built"}, 409: {"model": ErrorDetail, "description": "A feedback session is already in progress"},
                        **UNAUTHENTICATED},
             summary="Start a feedback session (the preview deploys in the background)")
def start_session(request: Request, wb: WB, store: StoreCaller) -> JSON:
    base = request.app.state.settings.public_url or str(request.base_url)
    session = svc.start(wb, store, base_url=base)
    jobs_of(request.app).submit(svc.deploy, wb, session.id)
    return JSON(session.to_public(), status_code=201)


@router.get("/{session_id}", response_model=FeedbackSessionPublic, responses={**NOT_FOUND, **UNAUTHENTICATED},
            summary="A session with its review progress")
def get_session(session_id: str, wb: WB, store: StoreCaller) -> JSON:
    return JSON(svc.get(wb, store, session_id))


@router.get("/{session_id}/comments", response_model=CommentList, responses={**NOT_FOUND, **UNAUTHENTICATED},
            summary="The reviewers' comments (without positioning fields)")
def list_comments(session_id: str, wb: WB, store: StoreCaller) -> JSON:
    comments = svc.list_comments(wb, store, session_id)
    return JSON({"data": [c.to_public() for c in comments], "meta": {"count": len(comments)}})


@router.post("/{session_id}/cancel", response_model=FeedbackSessionPublic,
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "Session is past the preparing phase (finalize instead)"}, **UNAUTHENTICATED},
             summary="Cancel a session still preparing (created)")
def cancel(session_id: str, wb: WB, store: StoreCaller) -> JSON:
    return JSON(svc.cancel(wb, store, session_id).to_public())


@router.post("/{session_id}/finalize", response_model=FeedbackSessionPublic,
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "The session's status does not allow finalizing"}, **UNAUTHENTICATED},
             summary="Close the review round (status → done)")
def finalize(session_id: str, wb: WB, store: StoreCaller) -> JSON:
    return JSON(svc.finalize(wb, store, session_id).to_public())


# --- extensions: the rest of the lifecycle and comment triage ---------------------------------


def _action_route(action: FeedbackAction, summary: str) -> None:
    path = "/{session_id}/" + action.value.replace("_", "-")

    if action is FeedbackAction.BUILDER_FAILED:

        def failed(session_id: str, wb: WB, store: StoreCaller, body: BuilderFailure | None = None) -> JSON:
            message = body.errorMessage if body else None
            return JSON(svc.act(wb, store, session_id, action, error_message=message).to_public())

        endpoint = failed
    else:

        def plain(session_id: str, wb: WB, store: StoreCaller) -> JSON:
            return JSON(svc.act(wb, store, session_id, action).to_public())

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
    return JSON(svc.set_comment_resolved(wb, store, session_id, comment_id, True).to_public())


@router.post("/{session_id}/comments/{comment_id}/reopen", response_model=FeedbackCommentPublic, tags=["feedback sessions", "extensions"],
             responses={**NOT_FOUND, 409: {"model": ErrorDetail, "description": "The session is preparing or finished"}},
             summary="Extension: reopen a resolved comment (idempotent)")
def reopen_comment(session_id: str, comment_id: str, wb: WB, store: StoreCaller) -> JSON:
    return JSON(svc.set_comment_resolved(wb, store, session_id, comment_id, False).to_public())


# --- the reviewers' widget (authorised by the review token of the feedbackUrl) ----------------

ReviewToken = Annotated[str | None, Header(alias="X-Review-Token", description="The token of the session's feedbackUrl")]


@widget.post("/comments", status_code=201, response_model=WidgetComment,
             responses={401: {"model": ErrorDetail, "description": "Missing or wrong review token"}, 404: {"model": ErrorDetail, "description": "No such session"},
                        409: {"model": ErrorDetail, "description": "The session does not take comments in its status"}},
             summary="Extension: a reviewer pins a comment on the preview")
def post_comment(session_id: str, body: CommentCreate, wb: WB, token: ReviewToken = None) -> JSON:
    return JSON(svc.add_comment(wb, session_id, token, body).to_widget(), status_code=201)


@widget.get("/comments", response_model=WidgetCommentList,
            responses={401: {"model": ErrorDetail, "description": "Missing or wrong review token"}, 404: {"model": ErrorDetail, "description": "No such session"}},
            summary="Extension: the session's comments with their pins, for the widget")
def widget_comments(session_id: str, wb: WB, token: ReviewToken = None) -> JSON:
    session, comments = svc.reviewer_comments(wb, session_id, token)
    return JSON({
        "session": {"id": session.id, "status": session.status, "deploymentUrl": session.deployment_url},
        "data": [c.to_widget() for c in comments],
    })


# --- the pages behind feedbackUrl and the default preview URL ---------------------------------


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>{body}")


@pages.get("/review/{session_id}", response_class=HTMLResponse)
def review_page(session_id: str, wb: WB, token: Annotated[str | None, Query()] = None) -> HTMLResponse:
    session, comments = svc.reviewer_comments(wb, session_id, token)
    preview = html.escape(session.deployment_url or "")
    link = f'<p>Preview: <a href="{preview}">{preview}</a></p>' if preview else "<p>The preview is still deploying.</p>"
    return _page("Review round", f"<p>Status: {html.escape(session.status)} · {len(comments)} comments</p>{link}")


@pages.get("/preview/{session_id}", response_class=HTMLResponse)
def preview_page(session_id: str, wb: WB) -> HTMLResponse:
    """The default (offline) deployment: a placeholder standing in for the store's preview build."""
    exists = svc.preview_exists(wb, session_id)
    if not exists:
        return HTMLResponse("Not found", status_code=404)
    return _page("Store preview", f"<p>Local preview of feedback session {html.escape(session_id)}.</p>")
