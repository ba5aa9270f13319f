"""Test sessions: one tester's run of a study — lifecycle, A/B assignment, request rules, envelope.

Lifecycle (``TRANSITIONS`` is the single source of truth; anything not listed is a 409)::

    active ──pause──▶ paused ──resume──▶ active
    active | paused ──complete──▶ completed ──analyze──▶ analyzing
    analyzing ──analysis_finished──▶ analyzed ──confirm──▶ confirmed
    analyzing ──analysis_failed──▶ completed      (so analysis can be retried)

- ``complete`` is accepted from ``paused`` too: a tester who stops for good while paused has
  finished the run, and forcing a resume first would only add a meaningless active stretch.
- ``durationSeconds`` is wall-clock ``completedAt - startedAt`` (pauses included), which is
  what the documented example shows (10:00 → 10:32 = 1920).
- ``completedAt`` is a date and time with its zone (``fields.Timestamp``: a number, a bare date or
  a time without a zone is a 422), never before the
  start and never after now: up to ``CLOCK_SKEW`` ahead (a client clock running fast) is
  recorded as now, further ahead is a 400, like a time before the start.
- ``analyze`` only from ``completed``; ``confirm`` only from ``analyzed`` (the documents say so).
- Tester feedback can be submitted once per session, from ``completed`` on
  (completed, analyzing, analyzed, confirmed).
- Notes can be added or edited in every status except ``confirmed``: confirming releases the
  payout, and the record it was based on must not change afterwards. Analysis reads the notes
  when it starts, so edits during ``analyzing`` do not race with it.
- Variant: an omitted variant goes to whichever of A/B has fewer sessions in the study; a tie
  is broken by a stable hash (SHA-256) of the tester id, so assignment stays balanced and is
  reproducible across processes.
- Estimated analysis time: ``clamp(10 + 3 × notes + durationSeconds // 60, 5, 120)`` seconds;
  the documented example (1 note, 1920 s) gives 45.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, field_validator

from workbench.domain.errors import Conflict, Invalid, NotFound
from workbench.domain.fields import TIMESTAMP_FORM, NoNul, Said, Timestamp

# The vocabulary lives in statuses.py (pydantic-free); callers may import it from here too.
from workbench.domain.statuses import TestSessionAction, TestSessionStatus

__all__ = [
    "CLOCK_SKEW",
    "FEEDBACK_STATUSES",
    "NOTE_EDIT_STATUSES",
    "TRANSITIONS",
    "AnalysisPublic",
    "AnalyzeResultPublic",
    "CompleteRequest",
    "CompleteResultPublic",
    "ConfirmRequest",
    "ConfirmResultPublic",
    "Envelope",
    "ErrorBody",
    "FeedbackCreate",
    "FeedbackResultPublic",
    "NotePublic",
    "NoteUpsert",
    "NotesListPublic",
    "NotesPatch",
    "NotesPatchResultPublic",
    "TestSessionAction",
    "TestSessionCreate",
    "TestSessionCreatedPublic",
    "TestSessionPublic",
    "TestSessionStatus",
    "Variant",
    "apply",
    "can",
    "can_submit_feedback",
    "choose_variant",
    "duration_seconds",
    "ensure_notes_editable",
    "estimate_analysis_seconds",
    "fail",
    "iso_seconds",
    "ok",
    "plan_notes_patch",
    "resolve_completed_at",
]


S = TestSessionStatus
A = TestSessionAction

TRANSITIONS: dict[tuple[TestSessionStatus, TestSessionAction], TestSessionStatus] = {
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.ACTIVE, A.COMPLETE): S.COMPLETED,
    (S.PAUSED, A.COMPLETE): S.COMPLETED,
    (S.COMPLETED, A.ANALYZE): S.ANALYZING,
    (S.ANALYZING, A.ANALYSIS_FINISHED): S.ANALYZED,
    (S.ANALYZING, A.ANALYSIS_FAILED): S.COMPLETED,
    (S.ANALYZED, A.CONFIRM): S.CONFIRMED,
}

FEEDBACK_STATUSES: frozenset[TestSessionStatus] = frozenset(
    {S.COMPLETED, S.ANALYZING, S.ANALYZED, S.CONFIRMED}
)
NOTE_EDIT_STATUSES: frozenset[TestSessionStatus] = frozenset(set(S) - {S.CONFIRMED})

_VERBS: dict[TestSessionAction, str] = {
    A.PAUSE: "pause",
    A.RESUME: "resume",
    A.COMPLETE: "complete",
    A.ANALYZE: "analyze",
    A.ANALYSIS_FINISHED: "finish analysis",
    A.ANALYSIS_FAILED: "fail analysis",
    A.CONFIRM: "confirm",
}


def can(status: TestSessionStatus | str, action: TestSessionAction | str) -> bool:
    """Whether the table allows ``action`` from ``status``."""
    return (TestSessionStatus(status), TestSessionAction(action)) in TRANSITIONS


def apply(status: TestSessionStatus | str, action: TestSessionAction | str) -> TestSessionStatus:
    """The status ``action`` leads to; Conflict naming the required and the current status otherwise."""
    status, action = TestSessionStatus(status), TestSessionAction(action)
    target = TRANSITIONS.get((status, action))
    if target is not None:
        return target
    required = " or ".join(s.value for s in TestSessionStatus if (s, action) in TRANSITIONS)
    raise Conflict(f"Session must be in {required} status to {_VERBS[action]}; it is {status.value}")


# --- variants -----------------------------------------------------------------------------


class Variant(str, Enum):
    A = "A"
    B = "B"


def choose_variant(count_a: int, count_b: int, tester_id: str) -> Variant:
    """The variant with fewer sessions; a tie goes by a stable hash of the tester id."""
    if count_a < count_b:
        return Variant.A
    if count_b < count_a:
        return Variant.B
    # hash() is salted per process; the same tester must land on the same side every run.
    digest = hashlib.sha256(tester_id.encode("utf-8")).digest()
    return Variant.A if digest[0] % 2 == 0 else Variant.B


# --- requests -----------------------------------------------------------------------------

Ident = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Rating = Annotated[StrictInt, Field(ge=1, le=5)]


class TestSessionCreate(BaseModel):
    """POST /api/sessions body."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")

    jobId: Ident
    testerId: Ident
    variant: Variant | None = None


# How far a completedAt may be ahead of the server's clock: a tester's device running a little fast.
CLOCK_SKEW = timedelta(minutes=5)


class CompleteRequest(BaseModel):
    """POST /api/sessions/:id/complete body; an absent completedAt means "now"."""

    model_config = ConfigDict(extra="forbid")

    completedAt: Timestamp | None = Field(default=None, description=f"When the run ended: {TIMESTAMP_FORM}; absent, now")

    @field_validator("completedAt")
    @classmethod
    def _representable_in_utc(cls, value: datetime | None) -> datetime | None:
        # "9999-12-31T23:59:59-05:00" parses, but has no UTC equivalent: refuse it here
        # rather than fail later with an OverflowError (a 500).
        if value is None:
            return None
        try:
            _utc(value).timestamp()
        except (OverflowError, ValueError, OSError):
            raise ValueError("completedAt is out of range") from None
        return value


class ConfirmRequest(BaseModel):
    """POST /api/sessions/:id/confirm body."""

    model_config = ConfigDict(extra="forbid")

    rating: Rating
    comment: Annotated[str, StringConstraints(max_length=2000), NoNul] | None = None


class FeedbackCreate(BaseModel):
    """POST /api/sessions/:id/feedback body; technicalIssues must be a JSON boolean, not "yes" or 1."""

    model_config = ConfigDict(extra="forbid")

    clarity: Rating
    difficulty: Rating
    technicalIssues: StrictBool
    comment: Annotated[str, StringConstraints(max_length=5000), NoNul] | None = None


class NoteUpsert(BaseModel):
    """One entry of a notes PATCH: with noteId it updates that note, without it creates one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    noteId: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] | None = None
    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000), NoNul, Said]


class NotesPatch(BaseModel):
    """PATCH /api/sessions/:id/notes body."""

    model_config = ConfigDict(extra="forbid")

    notes: list[NoteUpsert] = Field(min_length=1, max_length=100)


# --- rules --------------------------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    # A timestamp without an offset is read as UTC, the only zone the store writes.
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def resolve_completed_at(started_at: datetime, completed_at: datetime | None, now: datetime) -> datetime:
    """The completion time to record (UTC): the given one, or ``now``; never before the start, never after now.

    A value up to ``CLOCK_SKEW`` ahead of ``now`` is recorded as ``now``; further ahead is refused,
    since a duration and an analysis built on a future time would be nonsense.
    """
    now = _utc(now)
    resolved = now if completed_at is None else _utc(completed_at)
    if resolved > now + CLOCK_SKEW:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        raise Invalid(f"completedAt is in the future (more than {minutes} minutes after the server's clock)")
    resolved = min(resolved, now)
    if resolved < _utc(started_at):
        raise Invalid("completedAt is before the session started")
    return resolved


def duration_seconds(started_at: datetime, completed_at: datetime) -> int:
    """Whole wall-clock seconds from start to completion (pauses included)."""
    seconds = (_utc(completed_at) - _utc(started_at)).total_seconds()
    if seconds < 0:
        raise Invalid("completedAt is before the session started")
    return int(seconds)


def can_submit_feedback(status: TestSessionStatus | str, already_submitted: bool) -> None:
    """Raise Conflict unless the session is completed (or later) and has no feedback yet."""
    if TestSessionStatus(status) not in FEEDBACK_STATUSES:
        raise Conflict("Feedback can only be submitted after the session is completed")
    if already_submitted:
        raise Conflict("Feedback was already submitted for this session")


def ensure_notes_editable(status: TestSessionStatus | str) -> None:
    """Raise Conflict once the session is confirmed: the payout was based on these notes."""
    if TestSessionStatus(status) not in NOTE_EDIT_STATUSES:
        raise Conflict("Notes cannot be changed after the session is confirmed")


def plan_notes_patch(
    existing_note_ids: set[str], patch: NotesPatch
) -> tuple[list[NoteUpsert], list[NoteUpsert]]:
    """Split a PATCH into (to_update, to_create), in request order.

    A noteId that is not one of this session's notes is NotFound (a note of another session
    reads the same as one that never existed); the same noteId twice is Invalid, since the
    outcome would depend on write order.
    """
    to_update: list[NoteUpsert] = []
    to_create: list[NoteUpsert] = []
    seen: set[str] = set()
    for note in patch.notes:
        if note.noteId is None:
            to_create.append(note)
            continue
        if note.noteId not in existing_note_ids:
            raise NotFound(f"Note {note.noteId} not found in this session")
        if note.noteId in seen:
            raise Invalid(f"Note {note.noteId} appears more than once in the request")
        seen.add(note.noteId)
        to_update.append(note)
    return to_update, to_create


def estimate_analysis_seconds(note_count: int, duration_seconds: int | None) -> int:
    """A deterministic, rough analysis time in seconds: clamp(10 + 3·notes + minutes, 5, 120)."""
    minutes = max(duration_seconds or 0, 0) // 60
    return max(5, min(120, 10 + 3 * max(note_count, 0) + minutes))


def iso_seconds(dt: datetime) -> str:
    """ISO-8601 in UTC to the second with "Z", the format of this document: 2026-03-16T10:00:00Z."""
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- envelope -----------------------------------------------------------------------------

T = TypeVar("T")


class ErrorBody(BaseModel):
    code: str
    message: str


class Envelope(BaseModel, Generic[T]):
    """Every /api/sessions response: exactly one of data and error is set."""

    success: bool
    data: T | None = None
    error: ErrorBody | None = None
    metadata: dict[str, Any] | None = None


def ok(data: Any, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A success envelope."""
    return {"success": True, "data": data, "error": None, "metadata": metadata}


def fail(code: str, message: str) -> dict[str, Any]:
    """A failure envelope."""
    return {"success": False, "data": None, "error": {"code": code, "message": message}, "metadata": None}


# --- public shapes (OpenAPI schema only; the service layer builds the JSON) ---------------


class AnalysisPublic(BaseModel):
    """The analysis result once status is analyzed (extension: the document leaves its shape open).

    ``findings`` is ``issues`` then ``highlights``, one list for a reader who wants them all;
    ``engine`` names what wrote it, and ``fallbackReason`` why the configured engine did not (the
    offline engine answered instead), null when it did."""

    summary: str
    findings: list[str] = Field(default_factory=list)
    highlights: list[str] = Field(default_factory=list)
    issues: list[str] = Field(default_factory=list)
    sentiment: Literal["positive", "mixed", "negative"]
    completionMinutes: float | None = Field(default=None, examples=[32])
    engine: str = Field(examples=["offline", "openai-compatible:llama3"])
    fallbackReason: str | None = None
    analyzedAt: str = Field(examples=["2026-03-16T10:33:00Z"])


class TestSessionCreatedPublic(BaseModel):
    __test__ = False

    sessionId: str
    jobId: str
    testerId: str
    variant: Variant
    status: TestSessionStatus
    createdAt: str = Field(examples=["2026-03-16T10:00:00Z"])


class TestSessionPublic(BaseModel):
    __test__ = False

    sessionId: str
    jobId: str
    testerId: str
    variant: Variant
    status: TestSessionStatus
    createdAt: str | None = None
    startedAt: str = Field(examples=["2026-03-16T10:00:00Z"])
    completedAt: str | None = Field(default=None, examples=["2026-03-16T10:32:00Z"])
    durationSeconds: int | None = Field(default=None, examples=[1920])
    analysis: AnalysisPublic | None = None
    # Extensions: why the last analysis attempt failed, and the confirmation (payout) state.
    analysisError: str | None = None
    rating: int | None = None
    confirmedAt: str | None = None
    payoutQueued: bool = False


class CompleteResultPublic(BaseModel):
    sessionId: str
    status: TestSessionStatus
    completedAt: str


class AnalyzeResultPublic(BaseModel):
    sessionId: str
    status: TestSessionStatus
    estimatedCompletionSeconds: int


class NotePublic(BaseModel):
    noteId: str
    content: str
    timestamp: str
    authorId: str


class NotesListPublic(BaseModel):
    sessionId: str
    notes: list[NotePublic]


class NotesPatchResultPublic(BaseModel):
    sessionId: str
    updatedCount: int
    createdCount: int


class ConfirmResultPublic(BaseModel):
    sessionId: str
    status: TestSessionStatus
    payoutQueued: bool
    confirmedAt: str


class FeedbackResultPublic(BaseModel):
    sessionId: str
    feedbackId: str
    submittedAt: str
