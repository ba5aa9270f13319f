"""Use cases of test sessions: JWT auth, create (balanced A/B), lifecycle, analysis job, notes, confirm, feedback.

Rules come from ``workbench.domain.test_sessions``; this module loads rows, asks the domain and
writes the outcome with its audit entry in one transaction. ``run_analysis`` is a plain
function: the server runs it in a worker thread, the offline front ends call it directly.

Who may do what: every member of the study's workspace may read; writing (create, pause,
resume, complete, analyze, notes, confirm, feedback) needs MEMBER or above, so a GUEST's
token is read-only, as everywhere else in the workbench.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from sqlite3 import Connection
from typing import Any

from storage import accounts as accounts_repo
from storage import test_sessions as repo
from sync import ops
from workbench.domain import test_sessions as ts
from workbench.domain.clock import from_ms, new_id, to_ms
from workbench.domain.errors import WORKSPACE_DELETED, Conflict, Forbidden, NotFound, Unauthenticated
from workbench.domain.roles import Principal, PrincipalKind, Role, require_role
from workbench.domain.session_records import Study, TesterFeedback, TestNote, TestSession, iso_s
from workbench.domain.test_sessions import (
    CompleteRequest,
    ConfirmRequest,
    FeedbackCreate,
    NotesPatch,
    TestSessionAction,
    TestSessionCreate,
    TestSessionStatus,
)
from workbench.domain.tokens import bearer_credential
from workbench.engine.base import AnalysisResult, SessionFeedbackBrief, TestSessionBrief
from workbench.services.context import Workbench

log = logging.getLogger("workbench.test_sessions")

TESTS_JWT_TTL = timedelta(days=30)
TESTS_JWT_TYPE = "tests"
_JWT_ALG = "HS256"
ANALYSIS_ACTOR = "system:analysis"


def _prefixed_id(prefix: str, now: int) -> str:
    # The documents' ids are prefixed (sess_001, note_001, fb_001, job_abc123); the hex of a
    # UUIDv7 keeps them unguessable and roughly time-ordered.
    return f"{prefix}_{uuid.UUID(new_id(now)).hex}"


# --- authentication ---------------------------------------------------------------------------


def issue_token(wb: Workbench, user_id: str, workspace_id: str, ttl: timedelta = TESTS_JWT_TTL) -> str:
    """A bearer for /api/sessions: a JWT naming the user (sub) and the workspace (ws)."""
    import jwt  # lazily: ~40 ms of imports the TUI's first paint need not pay
    now = datetime.fromtimestamp(wb.clock() / 1000, tz=UTC)
    claims = {"sub": user_id, "ws": workspace_id, "typ": TESTS_JWT_TYPE, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, wb.secret, algorithm=_JWT_ALG)


def authenticate(wb: Workbench, authorization: str | None) -> Principal:
    """The caller of /api/sessions, bound to the workspace of its token; Unauthenticated otherwise."""
    import jwt  # lazily: ~40 ms of imports the TUI's first paint need not pay
    value = bearer_credential(authorization, "JWT")
    try:
        claims = jwt.decode(value, wb.secret, algorithms=[_JWT_ALG], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("Invalid token: not a JWT signed by this server") from None
    # The dashboard's session JWTs are signed with the same secret; only "tests" tokens count.
    if claims.get("typ") != TESTS_JWT_TYPE or not claims.get("sub") or not claims.get("ws"):
        raise Unauthenticated("Token is not valid for the test-sessions API")
    db = wb.store.db
    user_id, ws_id = str(claims["sub"]), str(claims["ws"])
    role = accounts_repo.membership_role(db, ws_id, user_id)
    ws = accounts_repo.get_workspace(db, ws_id)
    user = accounts_repo.get_user(db, user_id)
    if role is None or ws is None or user is None:
        raise Unauthenticated("Token names an unknown user or workspace, or a user who is not a member of it")
    if ws.deleted_at is not None:
        # A session bearer, as the dashboard's is: the user and the JWT are still good, the workspace
        # is closed for now, so 403 (as README's soft-deleted workspace row says), and a restore reopens it.
        raise Forbidden(WORKSPACE_DELETED)
    return Principal(kind=PrincipalKind.SESSION, workspace_id=ws_id, role=Role(role), user_id=user_id, display_name=user.name)


# --- studies ----------------------------------------------------------------------------------


def create_study(wb: Workbench, principal: Principal, name: str) -> Study:
    """Extension (the hosted dashboard's job): a study to run sessions against."""
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    study = Study(id=_prefixed_id("job", now), workspace_id=principal.workspace_id, name=name.strip() or "Untitled study", created_at=now)
    with wb.store.write() as db:
        repo.add_study(db, study)
        wb.audit(db, principal, "study.create", "study", study.id, {"name": study.name}, at=now)
    return study


def list_studies(wb: Workbench, principal: Principal) -> list[Study]:
    return repo.list_studies(wb.store.db, principal.workspace_id)


def tree_digest(wb: Workbench, principal: Principal) -> str:
    """Changes whenever any of the workspace's studies, sessions, notes or feedback does (for the studies list's ETag)."""
    with wb.store.read() as db:
        return repo.tree_digest(db, principal.workspace_id)


def _study(db: Connection, principal: Principal, job_id: str) -> Study:
    study = repo.get_study(db, principal.workspace_id, job_id)
    if study is None:
        raise NotFound("Study not found")
    return study


# --- sessions ---------------------------------------------------------------------------------


def _load(db: Connection, principal: Principal, session_id: str) -> TestSession:
    session = repo.get_session(db, principal.workspace_id, session_id)
    if session is None:
        raise NotFound("Session not found")
    return session


def create(wb: Workbench, principal: Principal, req: TestSessionCreate) -> TestSession:
    """A new ``active`` session; an omitted variant goes to the study's smaller side."""
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    # The API shows times to the second; starting on a whole second keeps a completedAt
    # copied from startedAt valid and durationSeconds equal to what the client can compute.
    started = now - now % 1000
    with wb.store.write() as db:
        study = _study(db, principal, req.jobId)
        if req.variant is None:
            counts = repo.variant_counts(db, study.id)
            variant = ts.choose_variant(counts.get("A", 0), counts.get("B", 0), req.testerId)
        else:
            variant = req.variant
        session = TestSession(
            id=_prefixed_id("sess", now), job_id=study.id, tester_id=req.testerId, variant=variant.value,
            status=TestSessionStatus.ACTIVE.value, created_at=now, started_at=started, completed_at=None, duration_seconds=None,
            analysis=None, analysis_started_at=None, analysis_error=None, rating=None, confirm_comment=None, confirmed_at=None,
            payout_queued=False, updated_at=now,
        )
        repo.add_session(db, session)
        wb.audit(db, principal, "test_session.create", "test_session", session.id,
                 {"job_id": study.id, "tester_id": req.testerId, "variant": variant.value, "assigned": req.variant is None}, at=now)
    return session


def get(wb: Workbench, principal: Principal, session_id: str) -> TestSession:
    return _load(wb.store.db, principal, session_id)


def list_for_study(
    wb: Workbench, principal: Principal, job_id: str, *, status: str | None = None, variant: str | None = None,
    tester_id: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[TestSession], int]:
    """Extension: a study's sessions, newest first, and how many match the filters in total."""
    with wb.store.read() as db:
        _study(db, principal, job_id)
        rows = repo.list_sessions(db, job_id, status=status, variant=variant, tester_id=tester_id, limit=limit, offset=offset)
        total = repo.count_sessions(db, job_id, status=status, variant=variant, tester_id=tester_id)
    return rows, total


# Extra column values a transition writes, computed inside its transaction from the loaded row.
Fields = Callable[[Connection, TestSession, int], dict[str, Any]]


def _transition(
    wb: Workbench, principal: Principal, session_id: str, action: TestSessionAction, extra: Fields | None = None
) -> TestSession:
    """Apply one transition of the domain's table; ``extra(session, now)`` adds field values."""
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    with wb.store.write() as db:
        session = _load(db, principal, session_id)
        target = ts.apply(session.status, action)
        values: dict[str, Any] = {"status": target.value, "updated_at": now}
        if extra is not None:
            values.update(extra(db, session, now))
        repo.update_session(db, session_id, values)
        ops.TEST_ACTION.enqueue(db, principal.workspace_id, session_id, action.value, session.status, values, now)  # outbox
        detail = {"from": session.status, "to": target.value, **{k: v for k, v in values.items() if k in ("rating", "completed_at")}}
        wb.audit(db, principal, f"test_session.{action.value}", "test_session", session_id, detail, at=now)
        return _load(db, principal, session_id)


def pause(wb: Workbench, principal: Principal, session_id: str) -> TestSession:
    """Extension."""
    return _transition(wb, principal, session_id, TestSessionAction.PAUSE)


def resume(wb: Workbench, principal: Principal, session_id: str) -> TestSession:
    """Extension."""
    return _transition(wb, principal, session_id, TestSessionAction.RESUME)


def complete(wb: Workbench, principal: Principal, session_id: str, req: CompleteRequest) -> TestSession:
    def fields(_: Connection, session: TestSession, now: int) -> dict[str, Any]:
        at = ts.resolve_completed_at(from_ms(session.started_at), req.completedAt, from_ms(now))
        return {"completed_at": to_ms(at), "duration_seconds": ts.duration_seconds(from_ms(session.started_at), at)}

    return _transition(wb, principal, session_id, TestSessionAction.COMPLETE, fields)


def analyze(wb: Workbench, principal: Principal, session_id: str) -> tuple[TestSession, int]:
    """Move to ``analyzing`` and estimate the time; the caller then runs ``run_analysis``."""
    estimate = 0

    def fields(db: Connection, session: TestSession, now: int) -> dict[str, Any]:
        nonlocal estimate
        estimate = ts.estimate_analysis_seconds(len(repo.note_ids(db, session.id)), session.duration_seconds)
        return {"analysis_started_at": now, "analysis_error": None}

    session = _transition(wb, principal, session_id, TestSessionAction.ANALYZE, fields)
    return session, estimate


def _brief(db: Connection, session: TestSession) -> TestSessionBrief:
    fb = repo.get_feedback(db, session.id)
    return TestSessionBrief(
        session_id=session.id, variant=session.variant, duration_seconds=session.duration_seconds,
        notes=[n.content for n in repo.list_notes(db, session.id)],
        feedback=SessionFeedbackBrief(clarity=fb.clarity, difficulty=fb.difficulty, technical_issues=fb.technical_issues, comment=fb.comment)
        if fb is not None else None,
    )


def analysis_record(result: AnalysisResult, analyzed_at: int) -> dict[str, Any]:
    """A session's ``analysis`` as stored and sent (``AnalysisPublic`` names its fields)."""
    return {
        "summary": result.summary, "findings": [*result.issues, *result.highlights], "highlights": result.highlights,
        "issues": result.issues, "sentiment": result.sentiment, "completionMinutes": result.completion_minutes,
        "engine": result.engine, "fallbackReason": result.fallback_reason, "analyzedAt": iso_s(analyzed_at),
    }


def run_analysis(wb: Workbench, session_id: str) -> TestSession | None:
    """Analyse an ``analyzing`` session and record the result (analyzed) or the failure (completed).

    Safe to run twice or late: a session no longer analyzing is left as it is.
    """
    with wb.store.read() as db:
        session = repo.get_session_any(db, session_id)
        if session is None or session.status != TestSessionStatus.ANALYZING.value:
            return session
        brief = _brief(db, session)
        workspace_id = repo.study_workspace(db, session.job_id) or ""
    values: dict[str, Any]
    try:
        result = wb.engine.analyze_test_session(brief)
        action = TestSessionAction.ANALYSIS_FINISHED
        values = {"analysis": analysis_record(result, wb.clock()), "analysis_error": None}
    except Exception as exc:  # a failed analysis returns the session to completed for a retry
        log.exception("analysis of %s failed", session_id)
        action = TestSessionAction.ANALYSIS_FAILED
        values = {"analysis_error": f"Analysis failed: {exc}"[:500] or "Analysis failed"}
    now = wb.clock()
    with wb.store.write() as db:
        current = repo.get_session_any(db, session_id)
        if current is None or current.status != TestSessionStatus.ANALYZING.value:
            return current
        target = ts.apply(current.status, action)
        repo.update_session(db, session_id, {"status": target.value, **values, "updated_at": now})
        wb.audit(db, _system(workspace_id), f"test_session.{action.value}", "test_session", session_id, {"to": target.value}, at=now)
        return repo.get_session_any(db, session_id)


def _system(workspace_id: str) -> Principal:
    return Principal(kind=PrincipalKind.LOCAL, workspace_id=workspace_id, role=Role.MEMBER, user_id=ANALYSIS_ACTOR)


def pending_analyses(wb: Workbench) -> list[str]:
    """Sessions left ``analyzing`` by a stopped server: run their analysis again."""
    return repo.session_ids_in_status(wb.store.db, TestSessionStatus.ANALYZING.value)


def resume_local_analyses(wb: Workbench) -> int:
    """Run every analysis left ``analyzing`` in this store's own workspaces; how many finished.

    What the server's startup sweep does for its database, for a local store (the TUI at
    start): without it a session analyzed by a process that stopped (or the demo's) reads
    "analysis running…" forever. A replica's sessions are left alone: their analysis is the
    server's, and its outcome comes down with the next sync.
    """
    from storage import sync_state

    done = 0
    for session_id in pending_analyses(wb):
        with wb.store.read() as db:
            session = repo.get_session_any(db, session_id)
            workspace_id = repo.study_workspace(db, session.job_id) if session is not None else None
            if workspace_id is None or sync_state.is_replica(db, workspace_id):
                continue
        got = run_analysis(wb, session_id)
        done += got is not None and got.status == TestSessionStatus.ANALYZED.value
    return done


def confirm(wb: Workbench, principal: Principal, session_id: str, req: ConfirmRequest) -> TestSession:
    """Confirm an analyzed session and queue the tester's payout."""

    def fields(_: Connection, __: TestSession, now: int) -> dict[str, Any]:
        return {"rating": req.rating, "confirm_comment": req.comment, "confirmed_at": now, "payout_queued": True}

    return _transition(wb, principal, session_id, TestSessionAction.CONFIRM, fields)


# --- notes and feedback -----------------------------------------------------------------------


def list_notes(wb: Workbench, principal: Principal, session_id: str) -> list[TestNote]:
    with wb.store.read() as db:
        _load(db, principal, session_id)
        return repo.list_notes(db, session_id)


def patch_notes(wb: Workbench, principal: Principal, session_id: str, req: NotesPatch) -> tuple[int, int]:
    """Update the notes that carry a noteId, create the others; (updatedCount, createdCount)."""
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    with wb.store.write() as db:
        session = _load(db, principal, session_id)
        ts.ensure_notes_editable(session.status)
        to_update, to_create = ts.plan_notes_patch(repo.note_ids(db, session_id), req)
        previous = {n.id: n.content for n in repo.list_notes(db, session_id)}  # for undo (sync.ops)
        for note in to_update:
            assert note.noteId is not None
            repo.update_note(db, session_id, note.noteId, note.content, now)
        created = []
        for note in to_create:
            row = TestNote(id=_prefixed_id("note", now), session_id=session_id, content=note.content,
                           author_id=principal.user_id or principal.actor_id, timestamp=now, updated_at=now)
            repo.add_note(db, row)
            created.append(row.id)
        ops.TEST_NOTES.enqueue(  # outbox, same transaction (replicas only)
            db, principal.workspace_id, session_id, [(n.noteId or "", n.content) for n in to_update],
            list(zip(created, [n.content for n in to_create], strict=True)), now,
            {n.noteId: previous[n.noteId] for n in to_update if n.noteId in previous})
        wb.audit(db, principal, "test_session.notes", "test_session", session_id,
                 {"updated": [n.noteId for n in to_update], "created": created}, at=now)
    return len(to_update), len(to_create)


def submit_feedback(wb: Workbench, principal: Principal, session_id: str, req: FeedbackCreate) -> TesterFeedback:
    """The tester's feedback: once per session, from completed on."""
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    with wb.store.write() as db:
        session = _load(db, principal, session_id)
        ts.can_submit_feedback(session.status, repo.get_feedback(db, session_id) is not None)
        feedback = TesterFeedback(id=_prefixed_id("fb", now), session_id=session_id, clarity=req.clarity, difficulty=req.difficulty,
                                  technical_issues=req.technicalIssues, comment=req.comment, submitted_at=now)
        try:
            repo.add_feedback(db, feedback)
        except sqlite3.IntegrityError:
            raise Conflict("Feedback was already submitted for this session") from None
        ops.TEST_FEEDBACK.enqueue(db, principal.workspace_id, session_id, req.model_dump(), feedback.id, now)  # outbox
        wb.audit(db, principal, "test_session.feedback", "test_session", session_id, {"feedback_id": feedback.id}, at=now)
    return feedback
