"""Stored records of stores, feedback sessions and test sessions, and their documented wire shapes.

Slotted dataclasses built from trusted rows (as in ``records.py``); the request models and the
rules live in ``feedback_sessions.py`` and ``test_sessions.py``. Feedback-session documents
write timestamps with milliseconds ("2024-06-15T10:30:00.000Z"), test-session documents to
the second ("2026-03-16T10:00:00Z"); each ``to_public`` uses its own document's format.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from workbench.domain.clock import iso_ms


def iso_s(ms: int | None) -> str | None:
    """Epoch ms → "YYYY-MM-DDTHH:MM:SSZ" (None stays None), the test-sessions format."""
    # Not test_sessions.iso_seconds: that module loads pydantic, and sync's status reads these rows.
    return None if ms is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


# --- stores and their API keys ----------------------------------------------------------------


@dataclass(slots=True)
class Storefront:
    """A store of the workspace; only AI-built stores can run feedback sessions."""

    id: str
    workspace_id: str
    name: str
    ai_built: bool
    created_at: int

    def to_public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "aiBuilt": self.ai_built, "createdAt": iso_ms(self.created_at)}


@dataclass(slots=True)
class StoreApiKey:
    """One live (or revoked) API key of a store; only its SHA-256 and last four characters are kept."""

    id: str
    store_id: str
    key_hash: str
    last4: str
    created_at: int
    revoked_at: int | None = None


# --- feedback sessions ------------------------------------------------------------------------
#
# A URL on this server (the review page, the default preview) is stored as its path and given a
# base per response (``on_base``): the base is where *that* caller reaches the server, so a Host
# one request sends is never shown to another, and a server moved to another port or host keeps
# working links. An absolute URL is another server's (a deploy command's or URL template's
# preview, or a replica's copy of its remote's session) and is shown as it is.


def review_path(session_id: str, review_token: str) -> str:
    """The review page of a session, on this server; its token authorises the widget's comment posts."""
    return f"/review/{session_id}?token={review_token}"


def preview_path(session_id: str) -> str:
    """The default (offline) preview of a session, which ``workbench serve`` answers itself."""
    return f"/preview/{session_id}"


def on_base(url: str | None, base: str) -> str | None:
    """``url`` as a caller reaching the server at ``base`` sees it: a path gets the base, an absolute URL stays."""
    if url is None or not url.startswith("/"):
        return url
    return base.rstrip("/") + url


@dataclass(slots=True)
class FeedbackSession:
    id: str
    store_id: str
    status: str
    feedback_url: str  # review_path(...) for a session this store started; the remote's URL on a replica
    review_token: str
    deployment_url: str | None  # preview_path(...) for the default preview, else the deployment's own URL
    error_message: str | None
    created_at: int
    updated_at: int
    version: int = 1

    def __post_init__(self) -> None:
        # Rows stored before URLs were kept as paths carry the base of the request that created
        # them (demo data: http://localhost:11001): read them as the paths they stand for. Only
        # this store's own sessions match (a replica's copy holds a placeholder token).
        path = review_path(self.id, self.review_token)
        if self.feedback_url != path and self.feedback_url.endswith(path):
            old_base = self.feedback_url[: -len(path)]
            self.feedback_url = path
            if self.deployment_url == old_base + preview_path(self.id):
                self.deployment_url = preview_path(self.id)

    def to_public(self, base: str) -> dict[str, Any]:
        """The document's session object (the review token travels only inside feedbackUrl), its
        URLs on this server given ``base``: where the caller reaches it (see ``on_base``)."""
        return {
            "id": self.id,
            "status": self.status,
            "feedbackUrl": on_base(self.feedback_url, base),
            "deploymentUrl": on_base(self.deployment_url, base),
            "errorMessage": self.error_message,
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at),
        }


@dataclass(slots=True)
class FeedbackComment:
    id: str
    session_id: str
    content: str
    page_path: str
    selector: str | None
    offset_x: float | None
    offset_y: float | None
    pin_x: float | None
    pin_y: float | None
    reviewer_name: str | None
    status: str
    task_instruction: str | None
    created_at: int
    resolved_at: int | None
    updated_at: int

    def to_public(self) -> dict[str, Any]:
        """The documented list item: positioning fields are the widget's business, not the API's."""
        return {
            "id": self.id,
            "content": self.content,
            "pagePath": self.page_path,
            "status": self.status,
            "taskInstruction": self.task_instruction,
            "createdAt": iso_ms(self.created_at),
        }

    def to_widget(self) -> dict[str, Any]:
        """Extension: what the reviewers' widget needs to redraw the pins."""
        return {
            **self.to_public(),
            "selector": self.selector,
            "offsetX": self.offset_x,
            "offsetY": self.offset_y,
            "pinX": self.pin_x,
            "pinY": self.pin_y,
            "reviewerName": self.reviewer_name,
            "resolvedAt": iso_ms(self.resolved_at),
        }


# --- studies and test sessions ----------------------------------------------------------------


@dataclass(slots=True)
class Study:
    """A usability study (the document's ``jobId``), owned by one workspace."""

    id: str
    workspace_id: str
    name: str
    created_at: int

    def to_public(self) -> dict[str, Any]:
        return {"jobId": self.id, "name": self.name, "createdAt": iso_s(self.created_at)}


@dataclass(slots=True)
class TestSession:
    __test__ = False  # not a pytest class

    id: str
    job_id: str
    tester_id: str
    variant: str
    status: str
    created_at: int
    started_at: int
    completed_at: int | None
    duration_seconds: int | None
    analysis: dict[str, Any] | None
    analysis_started_at: int | None
    analysis_error: str | None
    rating: int | None
    confirm_comment: str | None
    confirmed_at: int | None
    payout_queued: bool
    updated_at: int
    version: int = 1

    def to_created(self) -> dict[str, Any]:
        """POST /api/sessions data."""
        return {
            "sessionId": self.id,
            "jobId": self.job_id,
            "testerId": self.tester_id,
            "variant": self.variant,
            "status": self.status,
            "createdAt": iso_s(self.created_at),
        }

    def to_public(self) -> dict[str, Any]:
        """GET /api/sessions/:id data: the documented fields plus the analysis and payout state."""
        return {
            **self.to_created(),
            "startedAt": iso_s(self.started_at),
            "completedAt": iso_s(self.completed_at),
            "durationSeconds": self.duration_seconds,
            "analysis": self.analysis,
            "analysisError": self.analysis_error,
            "rating": self.rating,
            "confirmedAt": iso_s(self.confirmed_at),
            "payoutQueued": self.payout_queued,
        }


@dataclass(slots=True)
class TestNote:
    __test__ = False

    id: str
    session_id: str
    content: str
    author_id: str
    timestamp: int
    updated_at: int

    def to_public(self) -> dict[str, Any]:
        return {"noteId": self.id, "content": self.content, "timestamp": iso_s(self.timestamp), "authorId": self.author_id}


@dataclass(slots=True)
class TesterFeedback:
    id: str
    session_id: str
    clarity: int
    difficulty: int
    technical_issues: bool
    comment: str | None
    submitted_at: int
