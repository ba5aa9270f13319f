"""Routes: /api/sessions (JWT), every answer in the ``{success, data, error, metadata}`` envelope.

The router's ``EnvelopeRoute`` envelopes domain refusals and validation failures; the app's
``EnvelopeMiddleware`` covers what never reaches a route (unknown path, 405, 429). Creating a
session or a tester feedback answers 201; everything else 200. Analysis runs as a background
job; poll GET /api/sessions/:id until the status is ``analyzed``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from workbench.domain.fields import QueryInt
from workbench.domain.roles import Principal, Role, require_role
from workbench.domain.session_records import iso_s
from workbench.domain.test_sessions import (
    AnalyzeResultPublic,
    CompleteRequest,
    CompleteResultPublic,
    ConfirmRequest,
    ConfirmResultPublic,
    Envelope,
    FeedbackCreate,
    FeedbackResultPublic,
    NotesListPublic,
    NotesPatch,
    NotesPatchResultPublic,
    TestSessionCreate,
    TestSessionCreatedPublic,
    TestSessionPublic,
    TestSessionStatus,
    Variant,
    ok,
)
from workbench.server import jobs
from workbench.server.deps import WB, OneValueEach
from workbench.server.envelope import EnvelopeRoute
from workbench.server.errors import error_responses
from workbench.server.responses import JSON
from workbench.services import test_sessions as svc

router = APIRouter(prefix="/api/sessions", tags=["test sessions"], route_class=EnvelopeRoute)

_bearer = HTTPBearer(auto_error=False, scheme_name="TestSessionsJWT", description="A JWT for the test-sessions API (bootstrap's `jwt`)")


def _caller(request: Request, _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    return svc.authenticate(request.app.state.wb, request.headers.get("authorization"))


async def _writer(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
    require_role(caller, Role.MEMBER)
    return caller


Tester = Annotated[Principal, Depends(_caller)]
# The writes' caller, its role judged with it, before the body (as deps.Member): a read-only JWT
# gets its 403 whatever it sends, not a 422 about a body it may not send at all.
Writer = Annotated[Principal, Depends(_writer)]

ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429, model=Envelope[Any], why={
    401: "Missing, invalid or expired JWT",
    403: "The caller's role is read-only (GUEST), or the workspace is deleted (its OWNER can restore it)",
    404: "No such session (or it belongs to another workspace's study)",
    409: "The session's status does not allow this",
})


class SessionPage(BaseModel):
    sessions: list[TestSessionPublic]


def _envelope(data: Any, status: int = 200, metadata: dict[str, Any] | None = None) -> JSON:
    return JSON(ok(data, metadata), status_code=status)


@router.post("", status_code=201, response_model=Envelope[TestSessionCreatedPublic], responses=ERRORS,
             summary="Create a test session (variant auto-assigned to keep A/B balanced when omitted)")
def create_session(body: TestSessionCreate, wb: WB, caller: Writer) -> JSON:
    return _envelope(svc.create(wb, caller, body).to_created(), 201)


@router.get("", response_model=Envelope[SessionPage], responses=ERRORS, tags=["test sessions", "extensions"],
            summary="Extension: a study's sessions, newest first, with filters")
def list_sessions(
    wb: WB,
    caller: Tester,
    _once: OneValueEach,
    jobId: Annotated[str, Query(min_length=1, max_length=200, description="The study")],  # the documents' name
    status: Annotated[TestSessionStatus | None, Query()] = None,
    variant: Annotated[Variant | None, Query()] = None,
    testerId: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=100)] = 50,
    offset: Annotated[QueryInt, Query(ge=0, le=2**31 - 1)] = 0,
) -> JSON:
    rows, total = svc.list_for_study(
        wb, caller, jobId, status=status.value if status else None, variant=variant.value if variant else None,
        tester_id=testerId, limit=limit, offset=offset,
    )
    return _envelope({"sessions": [s.to_public() for s in rows]}, metadata={"total": total, "limit": limit, "offset": offset})


@router.get("/{session_id}", response_model=Envelope[TestSessionPublic], responses=ERRORS, summary="A test session")
def get_session(session_id: str, wb: WB, caller: Tester) -> JSON:
    return _envelope(svc.get(wb, caller, session_id).to_public())


@router.post("/{session_id}/complete", response_model=Envelope[CompleteResultPublic], responses=ERRORS,
             summary="Mark a session complete (completedAt defaults to now; never before the start)")
def complete(session_id: str, wb: WB, caller: Writer, body: CompleteRequest | None = None) -> JSON:
    session = svc.complete(wb, caller, session_id, body or CompleteRequest())
    return _envelope({"sessionId": session.id, "status": session.status, "completedAt": iso_s(session.completed_at)})


@router.post("/{session_id}/analyze", response_model=Envelope[AnalyzeResultPublic], responses=ERRORS,
             summary="Start the analysis of a completed session (asynchronous)")
def analyze(session_id: str, request: Request, wb: WB, caller: Tester) -> JSON:
    with jobs.together(request.app, wb) as later:
        session, estimate = svc.analyze(wb, caller, session_id)
        later(jobs.ANALYZE, session.id)
    return _envelope({"sessionId": session.id, "status": session.status, "estimatedCompletionSeconds": estimate})


@router.get("/{session_id}/notes", response_model=Envelope[NotesListPublic], responses=ERRORS, summary="The session's notes")
def list_notes(session_id: str, wb: WB, caller: Tester) -> JSON:
    notes = svc.list_notes(wb, caller, session_id)
    return _envelope({"sessionId": session_id, "notes": [n.to_public() for n in notes]})


@router.patch("/{session_id}/notes", response_model=Envelope[NotesPatchResultPublic], responses=ERRORS,
              summary="Update notes with a noteId, create those without")
def patch_notes(session_id: str, body: NotesPatch, wb: WB, caller: Writer) -> JSON:
    updated, created = svc.patch_notes(wb, caller, session_id, body)
    return _envelope({"sessionId": session_id, "updatedCount": updated, "createdCount": created})


@router.post("/{session_id}/confirm", response_model=Envelope[ConfirmResultPublic], responses=ERRORS,
             summary="Confirm an analyzed session and queue the tester's payout")
def confirm(session_id: str, body: ConfirmRequest, wb: WB, caller: Writer) -> JSON:
    session = svc.confirm(wb, caller, session_id, body)
    return _envelope({"sessionId": session.id, "status": session.status, "payoutQueued": session.payout_queued,
                      "confirmedAt": iso_s(session.confirmed_at)})


@router.post("/{session_id}/feedback", status_code=201, response_model=Envelope[FeedbackResultPublic], responses=ERRORS,
             summary="The tester's feedback (once, after completion)")
def feedback(session_id: str, body: FeedbackCreate, wb: WB, caller: Writer) -> JSON:
    fb = svc.submit_feedback(wb, caller, session_id, body)
    return _envelope({"sessionId": session_id, "feedbackId": fb.id, "submittedAt": iso_s(fb.submitted_at)}, 201)


@router.post("/{session_id}/pause", response_model=Envelope[TestSessionPublic], responses=ERRORS, tags=["test sessions", "extensions"],
             summary="Extension: pause an active session")
def pause(session_id: str, wb: WB, caller: Tester) -> JSON:
    return _envelope(svc.pause(wb, caller, session_id).to_public())


@router.post("/{session_id}/resume", response_model=Envelope[TestSessionPublic], responses=ERRORS, tags=["test sessions", "extensions"],
             summary="Extension: resume a paused session")
def resume(session_id: str, wb: WB, caller: Tester) -> JSON:
    return _envelope(svc.resume(wb, caller, session_id).to_public())
