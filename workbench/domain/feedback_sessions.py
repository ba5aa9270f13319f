"""Feedback sessions: the review-round lifecycle, comment input, progress and listing rules.

Lifecycle (``TRANSITIONS`` is the single source of truth; anything not listed is a 409)::

    created ──deploy_succeeded──▶ in_review ──start_work──▶ in_progress
       │  └──deploy_failed──▶ interrupted      │                  │
       └──cancel──▶ canceled                   └──submit_round────┴──▶ task_review
                                                                         │   │
                          in_review ◀──return_to_review──────────────────┘   │
                          in_review ◀──builder_finished── processing ◀──approve_tasks
                                         interrupted ◀──builder_failed──┘

    finalize: in_review | in_progress | task_review ──▶ done

- ``created`` is the preparing phase: the preview is deploying and reviewers cannot comment
  yet. It is the only status ``cancel`` accepts; past it the documented answer is 409
  "Session is past the preparing phase (finalize instead)".
- ``in_review`` is the review phase: the preview is live and reviewers pin comments.
- ``in_progress`` (extension): the store team is working through the comments by hand.
- ``task_review`` (extension): the round's comments were turned into builder tasks that
  await approval; ``return_to_review`` sends them back for more commenting.
- ``processing`` (extension): the builder is applying approved tasks. ``finalize`` is refused
  here because finalizing "unlocks the builder" while the builder is still writing; the
  round ends either with ``builder_finished`` (back to ``in_review`` on the fresh preview)
  or ``builder_failed`` (``interrupted``), and can be finalized from there.
- ``done``, ``canceled`` and ``interrupted`` are finished: every action on them is a 409
  "Session is already <status>".
- Reviewers add comments in ``COMMENTABLE_STATUSES`` (in_review, in_progress); comments are
  resolved or reopened in ``TRIAGE_STATUSES`` (every active status past created).

Only one session per store may be in an ``ACTIVE_STATUSES`` status at a time.

Progress (``compute_progress``)::

    total   = number of comments;  done = comments with status "resolved"
    fillPct = 100.0                                   if status is done
            = round_half_up(done / total * 90, 1)     otherwise (0.0 when total == 0)
    label   = "<done>/<total> resolved"; "No comments yet" (or "No comments" once finished)
    eta     = now + (total - done) * median(resolved_at - max(created_at, session_created_at))
              over the last ETA_WINDOW (5) resolutions; null when nothing is resolved yet, all
              are resolved, or the session is finished

The ETA takes the median of the recent resolutions, not the mean of all: one long-forgotten
comment resolved at last (8 days old) moved a mean-based ETA from 55 minutes to 8 days; the
median of the last five barely moves, yet follows the team's pace as it changes. With one or
two resolutions the median is the mean, so the documented example (one comment resolved in
5 minutes, three open: eta 15 minutes ahead) reads as documented.

Resolving every comment fills 90 %; the last 10 % is finalizing, so a bar never reads full
while the round is still open. The documented example (4 comments, 1 resolved) gives 22.5.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from statistics import median
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StringConstraints, field_validator, model_validator

from workbench.domain.errors import Conflict, Invalid
from workbench.domain.fields import NoNul, Said

# The vocabularies live in statuses.py (pydantic-free); callers may import them from here too.
from workbench.domain.statuses import ACTIVE_STATUSES, FINISHED_STATUSES, CommentStatus, FeedbackStatus, status_label

__all__ = [
    "ACTIVE_STATUSES",
    "COMMENTABLE_STATUSES",
    "FINISHED_STATUSES",
    "TRANSITIONS",
    "TRIAGE_STATUSES",
    "CommentCreate",
    "CommentFact",
    "CommentStatus",
    "FeedbackAction",
    "FeedbackCommentPublic",
    "FeedbackListQuery",
    "FeedbackSessionDetailPublic",
    "FeedbackSessionPublic",
    "FeedbackStatus",
    "Progress",
    "ProgressPublic",
    "apply",
    "can",
    "comment_refusal",
    "compute_progress",
    "ensure_can_comment",
    "ensure_can_triage",
    "iso_ms",
    "parse_list_query",
]


class FeedbackAction(str, Enum):
    DEPLOY_SUCCEEDED = "deploy_succeeded"
    DEPLOY_FAILED = "deploy_failed"
    CANCEL = "cancel"
    START_WORK = "start_work"
    SUBMIT_ROUND = "submit_round"
    RETURN_TO_REVIEW = "return_to_review"
    APPROVE_TASKS = "approve_tasks"
    BUILDER_FINISHED = "builder_finished"
    BUILDER_FAILED = "builder_failed"
    FINALIZE = "finalize"


S = FeedbackStatus
A = FeedbackAction

TRANSITIONS: dict[tuple[FeedbackStatus, FeedbackAction], FeedbackStatus] = {
    (S.CREATED, A.DEPLOY_SUCCEEDED): S.IN_REVIEW,
    (S.CREATED, A.DEPLOY_FAILED): S.INTERRUPTED,
    (S.CREATED, A.CANCEL): S.CANCELED,
    (S.IN_REVIEW, A.START_WORK): S.IN_PROGRESS,
    (S.IN_REVIEW, A.SUBMIT_ROUND): S.TASK_REVIEW,
    (S.IN_PROGRESS, A.SUBMIT_ROUND): S.TASK_REVIEW,
    (S.TASK_REVIEW, A.RETURN_TO_REVIEW): S.IN_REVIEW,
    (S.TASK_REVIEW, A.APPROVE_TASKS): S.PROCESSING,
    (S.PROCESSING, A.BUILDER_FINISHED): S.IN_REVIEW,
    (S.PROCESSING, A.BUILDER_FAILED): S.INTERRUPTED,
    (S.IN_REVIEW, A.FINALIZE): S.DONE,
    (S.IN_PROGRESS, A.FINALIZE): S.DONE,
    (S.TASK_REVIEW, A.FINALIZE): S.DONE,
}

PAST_PREPARING = "Session is past the preparing phase (finalize instead)"


def can(status: FeedbackStatus | str, action: FeedbackAction | str) -> bool:
    """Whether the table allows ``action`` from ``status``."""
    return (FeedbackStatus(status), FeedbackAction(action)) in TRANSITIONS


def apply(status: FeedbackStatus | str, action: FeedbackAction | str) -> FeedbackStatus:
    """The status ``action`` leads to from ``status``; Conflict when the table refuses it."""
    status, action = FeedbackStatus(status), FeedbackAction(action)
    target = TRANSITIONS.get((status, action))
    if target is not None:
        return target
    raise Conflict(_refusal(status, action))


def _refusal(status: FeedbackStatus, action: FeedbackAction) -> str:
    # Finished sessions get one message whatever was tried: the useful fact is that the
    # round is over, not which other statuses would have allowed the action.
    if status in FINISHED_STATUSES:
        return f"Session is already {status.value}"
    if action is A.CANCEL:
        return PAST_PREPARING
    if action is A.FINALIZE and status is S.CREATED:
        return "Session is still preparing (cancel instead)"
    if action is A.FINALIZE and status is S.PROCESSING:
        return "Session is processing: the builder is applying tasks; finalize once it finishes"
    allowed = [s.value for s in FeedbackStatus if (s, action) in TRANSITIONS]
    return f"Cannot {action.value} a session in status {status.value} (allowed from: {', '.join(allowed)})"


# --- comments -----------------------------------------------------------------------------


# JSON numbers only, as rating and clarity are: "50" or true is a 422, not a number read from a string.
Percent = Annotated[StrictFloat, Field(ge=0, le=100, allow_inf_nan=False)]
Offset = Annotated[StrictFloat, Field(allow_inf_nan=False)]


class CommentCreate(BaseModel):
    """A reviewer's pinned comment, as the widget posts it (extension endpoint; camelCase wire names)."""

    model_config = ConfigDict(extra="forbid")

    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), NoNul, Said]
    pagePath: Annotated[str, StringConstraints(max_length=2000), NoNul]
    selector: Annotated[str, StringConstraints(max_length=2000), NoNul] | None = None
    offsetX: Offset | None = None
    offsetY: Offset | None = None
    pinX: Percent | None = None
    pinY: Percent | None = None
    reviewerName: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul] | None = None

    @field_validator("pagePath")
    @classmethod
    def _page_path_is_absolute(cls, value: str) -> str:
        # Paths are matched against the preview's routes; a relative or full URL would
        # never match and would leak the preview host into stored data.
        if not value.startswith("/"):
            raise ValueError("pagePath must start with '/'")
        return value

    @field_validator("reviewerName")
    @classmethod
    def _blank_name_is_anonymous(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _points_come_whole(self) -> CommentCreate:
        # A pin (pinX/pinY) and an offset (offsetX/offsetY) are points: half of one cannot be drawn.
        for x, y in (("pinX", "pinY"), ("offsetX", "offsetY")):
            if (getattr(self, x) is None) != (getattr(self, y) is None):
                raise ValueError(f"{x} and {y} go together: send both or neither")
        return self


# Reviewers pin comments while the preview is live and the team works through them; once the
# round is handed to the builder (task_review, processing) the set of comments is frozen.
COMMENTABLE_STATUSES: frozenset[FeedbackStatus] = frozenset({S.IN_REVIEW, S.IN_PROGRESS})
# Resolving/reopening is triage by the store team: allowed in every active status past
# preparing (the builder resolves comments while processing), never on a finished round.
TRIAGE_STATUSES: frozenset[FeedbackStatus] = frozenset(ACTIVE_STATUSES - {S.CREATED})


def comment_refusal(status: FeedbackStatus | str) -> str | None:
    """Why reviewers may not comment on a session in ``status``; None when they may."""
    status = FeedbackStatus(status)
    if status in COMMENTABLE_STATUSES:
        return None
    if status in FINISHED_STATUSES:
        return f"Session is already {status.value}"
    if status is S.CREATED:
        return "Session is still preparing: reviewers can comment once the preview is deployed"
    # Reviewers read this (the review page's notice, a refused Send): words, not the stored "task_review".
    return f"Session is in {status_label(status)}: comments are closed until it returns to review"


def ensure_can_comment(status: FeedbackStatus | str) -> None:
    """Conflict unless reviewers may add comments to a session in ``status``."""
    refusal = comment_refusal(status)
    if refusal is not None:
        raise Conflict(refusal)


def ensure_can_triage(status: FeedbackStatus | str) -> None:
    """Conflict unless comments of a session in ``status`` may be resolved or reopened."""
    status = FeedbackStatus(status)
    if status in TRIAGE_STATUSES:
        return
    if status in FINISHED_STATUSES:
        raise Conflict(f"Session is already {status.value}")
    raise Conflict("Session is still preparing: it has no comments to resolve yet")


# --- progress -----------------------------------------------------------------------------


class CommentFact(BaseModel):
    """What progress needs to know about one comment."""

    model_config = ConfigDict(frozen=True)

    status: CommentStatus
    created_at: datetime
    resolved_at: datetime | None = None


class Progress(BaseModel):
    """Review progress of one session; ``eta`` stays a datetime until the edge formats it."""

    model_config = ConfigDict(frozen=True)

    total: int
    done: int
    fillPct: float
    label: str
    eta: datetime | None = None

    def to_public(self) -> dict[str, object]:
        """The documented JSON object (eta as an ISO-8601 millisecond "Z" string or null)."""
        return {
            "total": self.total,
            "done": self.done,
            "fillPct": self.fillPct,
            "label": self.label,
            "eta": iso_ms(self.eta) if self.eta is not None else None,
        }


REVIEW_SHARE = 90
ETA_WINDOW = 5  # the resolutions the ETA's pace is taken from (the most recent)


def compute_progress(
    *,
    status: FeedbackStatus | str,
    comments: list[CommentFact],
    now: datetime,
    session_created_at: datetime,
) -> Progress:
    """Counts, fill percentage, label and ETA as the module docstring defines them."""
    status = FeedbackStatus(status)
    finished = status in FINISHED_STATUSES
    total = len(comments)
    resolved = [c for c in comments if c.status is CommentStatus.RESOLVED]
    done = len(resolved)

    if status is S.DONE:
        fill = 100.0
    elif total == 0:
        fill = 0.0
    else:
        # Multiply first: done × 90 / total is exact whenever the share ends in a 5 to round, where
        # done / total, cut to 28 digits before the × 90 (1/120), made 13 of 120's 9.75 read 9.7.
        fill = _round1(Decimal(done * REVIEW_SHARE) / Decimal(total))

    if total == 0:
        label = "No comments" if finished else "No comments yet"
    else:
        label = f"{done}/{total} resolved"

    eta = None
    remaining = total - done
    if not finished and remaining > 0:
        start = _utc(session_created_at)
        recent = sorted(((c.created_at, c.resolved_at) for c in resolved if c.resolved_at is not None), key=lambda c: _utc(c[1]))[-ETA_WINDOW:]
        durations = [_time_to_resolve(created, resolved_at, start) for created, resolved_at in recent]
        if durations:
            # statistics.median only needs order, + and /: timedelta has them; typeshed lists numbers only.
            eta = _utc(now) + median(durations) * remaining  # pyright: ignore[reportArgumentType]

    return Progress(total=total, done=done, fillPct=fill, label=label, eta=eta)


def _time_to_resolve(created_at: datetime, resolved_at: datetime, session_start: datetime) -> timedelta:
    # A comment cannot be older than its session (imports and clock skew say otherwise),
    # and a negative duration would pull the ETA into the past.
    start = max(_utc(created_at), session_start)
    return max(_utc(resolved_at) - start, timedelta())


def _round1(value: Decimal) -> float:
    # Half-up, not Python's half-even on binary floats: 11.25 must read 11.3 on every front end.
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- time ---------------------------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    # Naive values come from SQLite and test fixtures; the store writes UTC.
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_ms(dt: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and "Z", the documents' format: 2024-06-15T10:30:00.000Z."""
    dt = _utc(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# --- listing ------------------------------------------------------------------------------


class FeedbackListQuery(BaseModel):
    """GET /api/v1/feedback-sessions query parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=2**31 - 1)
    status: FeedbackStatus | None = None


_INT = re.compile(r"-?[0-9]+")
MAX_OFFSET = 2**31 - 1


def parse_list_query(limit: str | None, offset: str | None, status: str | None) -> FeedbackListQuery:
    """Raw query strings to a FeedbackListQuery; out-of-range or malformed values are Invalid (400)."""
    lim = 50 if limit is None else _parse_int("limit", limit, "an integer between 1 and 100")
    if not 1 <= lim <= 100:
        raise Invalid("limit must be between 1 and 100")
    off = 0 if offset is None else _parse_int("offset", offset, "a non-negative integer")
    if off < 0:
        raise Invalid("offset must be 0 or greater")
    if off > MAX_OFFSET:
        # SQLite integers stop at 2**63 - 1; a larger OFFSET would be a 500, not an answer.
        raise Invalid(f"offset must be at most {MAX_OFFSET}")
    st: FeedbackStatus | None = None
    if status is not None:
        try:
            st = FeedbackStatus(status.strip())
        except ValueError:
            raise Invalid(
                f"status must be one of: {', '.join(s.value for s in FeedbackStatus)}"
            ) from None
    return FeedbackListQuery(limit=lim, offset=off, status=st)


def _parse_int(name: str, raw: str, expected: str) -> int:
    # int() alone would accept "1_0", "+5" and " 5"; the query string should be plain digits.
    if not _INT.fullmatch(raw):
        raise Invalid(f"{name} must be {expected}")
    return int(raw)


# --- public shapes (OpenAPI schema only; the service layer builds the JSON) ---------------


class ProgressPublic(BaseModel):
    total: int
    done: int
    fillPct: float
    label: str
    eta: str | None = Field(default=None, examples=["2024-06-15T11:20:00.000Z"])


class FeedbackSessionPublic(BaseModel):
    """A session as the list, the start and the actions answer it: without its progress, which
    only GET of one session computes."""

    id: str
    status: FeedbackStatus
    feedbackUrl: str
    deploymentUrl: str | None = None
    errorMessage: str | None = None
    createdAt: str = Field(examples=["2024-06-15T10:30:00.000Z"])
    updatedAt: str = Field(examples=["2024-06-15T11:05:00.000Z"])


class FeedbackSessionDetailPublic(FeedbackSessionPublic):
    """GET of one session: the list's item and the actions' answer, with its review progress."""

    progress: ProgressPublic


class FeedbackCommentPublic(BaseModel):
    id: str
    content: str
    pagePath: str
    status: CommentStatus
    taskInstruction: str | None = None
    createdAt: str = Field(examples=["2024-06-15T10:45:00.000Z"])
