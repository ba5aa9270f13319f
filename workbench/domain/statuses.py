"""The status vocabularies of the three sources, and the groupings the inbox filters on.

Only names and sets here: the transition tables and request models stay beside each source's
rules (annotations.py, feedback_sessions.py, test_sessions.py, which re-export these). Kept free
of pydantic so the read path (the TUI's first paint, the inbox) imports nothing heavy.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Status(StrEnum):
    """An annotation's status (the site-annotations taxonomy)."""

    NEW = "new"
    ACK = "ack"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    WONT_FIX = "won_t_fix"
    DUPLICATE = "duplicate"


# The taxonomy's closed states: a triager's inbox shows the others.
OPEN_STATUSES = (Status.NEW, Status.ACK, Status.TRIAGED, Status.IN_PROGRESS)
CLOSED_STATUSES = (Status.RESOLVED, Status.WONT_FIX, Status.DUPLICATE)


class Kind(StrEnum):
    """What the submitter says the annotation is about (the widget's picker)."""

    BUG = "bug"
    DESIGN = "design"
    COPY = "copy"
    ACCESSIBILITY = "accessibility"
    PERFORMANCE = "performance"
    QUESTION = "question"
    IDEA = "idea"
    PRAISE = "praise"


class FeedbackStatus(str, Enum):
    """A feedback session's (review round's) status."""

    CREATED = "created"
    IN_PROGRESS = "in_progress"
    TASK_REVIEW = "task_review"
    PROCESSING = "processing"
    IN_REVIEW = "in_review"
    DONE = "done"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"


FINISHED_STATUSES: frozenset[FeedbackStatus] = frozenset(
    {FeedbackStatus.DONE, FeedbackStatus.CANCELED, FeedbackStatus.INTERRUPTED}
)
ACTIVE_STATUSES: frozenset[FeedbackStatus] = frozenset(set(FeedbackStatus) - FINISHED_STATUSES)


class CommentStatus(str, Enum):
    """A reviewer's pinned comment."""

    OPEN = "open"
    RESOLVED = "resolved"


class TestSessionStatus(str, Enum):
    """A tester's run of a study."""

    __test__ = False  # pytest would otherwise try to collect "Test*" classes

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ANALYZING = "analyzing"
    ANALYZED = "analyzed"
    CONFIRMED = "confirmed"


class TestSessionAction(str, Enum):
    """What moves a test session between statuses (the transition table is in test_sessions.py)."""

    __test__ = False

    PAUSE = "pause"
    RESUME = "resume"
    COMPLETE = "complete"
    ANALYZE = "analyze"
    ANALYSIS_FINISHED = "analysis_finished"
    ANALYSIS_FAILED = "analysis_failed"
    CONFIRM = "confirm"


# The words people read for a status, whichever source it belongs to: the TUI, the CLI's
# human output and the copied markdown all say "won't fix", never the stored ``won_t_fix``.
STATUS_LABELS: dict[str, str] = {
    "won_t_fix": "won't fix",
    "in_progress": "in progress",
    "task_review": "task review",
    "in_review": "in review",
}


def status_label(status: str) -> str:
    """A stored status as words ("won_t_fix" → "won't fix"); unknown names lose their underscores."""
    value = getattr(status, "value", status)
    return STATUS_LABELS.get(value, str(value).replace("_", " "))
