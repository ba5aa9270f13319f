"""The documented wire shapes → the replica's records.

The documented annotation shape hides two things the store keeps: the submitter's email
(only ``has_email``) and the stakeholder token (only ``type``). The replica keeps what the
shape says with placeholders, so ``to_public()`` of a replica row reads exactly like the
server's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workbench.domain.records import Annotation, Persona, Reply, Resolution, Site
from workbench.domain.session_records import FeedbackComment, FeedbackSession, Study, TestNote, TestSession

HIDDEN_EMAIL = "hidden@remote.invalid"
REMOTE_STAKEHOLDER = "remote-stakeholder"
AUTHOR_KINDS = frozenset({"user", "agent", "persona", "system"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DAYS: dict[str, int] = {}


def iso_to_ms(value: str | None) -> int | None:
    """"2024-06-15T10:30:00.000Z" → epoch ms (exact), any other ISO-8601 form too."""
    if value is None:
        return None
    if len(value) == 24 and value[23] == "Z" and value[10] == "T":
        day = _DAYS.get(value[:10])
        if day is None:
            day = (datetime.fromisoformat(value[:10]).replace(tzinfo=UTC) - _EPOCH) // _MS
            _DAYS[value[:10]] = day
        return day + int(value[11:13]) * 3_600_000 + int(value[14:16]) * 60_000 + int(value[17:19]) * 1000 + int(value[20:23])
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MS


def annotation(d: dict[str, Any], workspace_id: str) -> Annotation:
    sub = d.get("submitter") or {}
    return Annotation(
        id=d["id"],
        workspace_id=workspace_id,
        site_id=d["site_id"],
        page_url=d.get("page_url") or "",
        selector=d.get("selector"),
        kind=d.get("kind") or "bug",
        body=d.get("body") or "",
        status=d["status"],
        summary=d.get("summary"),
        assignee_id=d.get("assignee_id"),
        auto_fix=bool(d.get("auto_fix")),
        submitter_name=sub.get("name"),
        submitter_email=HIDDEN_EMAIL if sub.get("has_email") else None,
        stakeholder_token=REMOTE_STAKEHOLDER if sub.get("type") == "stakeholder" else None,
        screenshot_key=d.get("screenshot_key"),
        computed_styles=d.get("computed_styles"),
        capture=d.get("capture"),
        created_at=iso_to_ms(d["created_at"]) or 0,
        updated_at=iso_to_ms(d.get("updated_at") or d["created_at"]) or 0,
        version=int(d.get("version") or 0),
    )


def reply_author(d: dict[str, Any]) -> tuple[str, str | None, str]:
    """A wire reply's author as (kind, id, name), from every shape the document allows.

    The bundled server nests ``author: {type, id, name}``; the document itself names only a
    flat ``author_name`` (and says the author "is agent" for token callers), so a server may
    send ``author_name`` with ``author_type``/``author_kind``/``author_id`` beside it, or
    ``author`` as a plain string: one of the kinds, or else the name.
    """
    author = d.get("author")
    nested = author if isinstance(author, dict) else {}
    word = author.strip() if isinstance(author, str) else ""
    is_kind = word.lower() in AUTHOR_KINDS
    kind = str(nested.get("type") or nested.get("kind") or d.get("author_type") or d.get("author_kind") or (word if is_kind else "")).lower()
    if kind not in AUTHOR_KINDS:
        kind = "persona" if d.get("persona_id") else "user"
    name = nested.get("name") or d.get("author_name") or ("" if is_kind else word)
    author_id = nested.get("id") or d.get("author_id")
    return kind, None if author_id is None else str(author_id), str(name)


def reply(d: dict[str, Any], workspace_id: str, annotation_id: str | None = None) -> Reply:
    kind, author_id, name = reply_author(d)
    return Reply(
        id=d["id"],
        annotation_id=d.get("annotation_id") or annotation_id or "",
        workspace_id=workspace_id,
        author_kind=kind,
        author_id=author_id,
        author_name=name,
        body=d.get("body") or "",
        persona_id=d.get("persona_id"),
        created_at=iso_to_ms(d["created_at"]) or 0,
    )


def resolution(d: dict[str, Any], workspace_id: str, annotation_id: str | None = None) -> Resolution:
    return Resolution(
        id=d["id"],
        annotation_id=d.get("annotation_id") or annotation_id or "",
        workspace_id=workspace_id,
        before_key=d.get("before_key"),
        after_key=d.get("after_key"),
        diff_url=d.get("diff_url"),
        explanation=d.get("explanation"),
        created_by=d.get("created_by") or "",
        created_at=iso_to_ms(d["created_at"]) or 0,
        notification_status=d.get("notification_status") or "pending",
        notified_at=iso_to_ms(d.get("notified_at")),
    )


def site(d: dict[str, Any], workspace_id: str, placeholder: str) -> Site:
    """A mirrored site; its widget and MCP secrets stay on the server (unguessable placeholders)."""
    created = iso_to_ms(d.get("created_at")) or 0
    return Site(
        id=d["id"],
        workspace_id=workspace_id,
        name=d.get("name") or d["id"],
        url=d.get("url") or "",
        widget_token=f"replica-{placeholder}",
        mcp_token="",
        mcp_token_hash=f"replica-{placeholder}",
        loader_secret_id="",
        created_at=created,
        updated_at=iso_to_ms(d.get("updated_at")) or created,
    )


def persona(d: dict[str, Any], workspace_id: str) -> Persona:
    return Persona(
        id=d["id"],
        workspace_id=workspace_id,
        slug=d.get("slug") or d["id"],
        name=d.get("name") or "",
        category=d.get("category") or "",
        description=d.get("description") or "",
        focus=list(d.get("focus") or []),
        voice=d.get("voice") or "",
        is_default=bool(d.get("is_default")),
        created_at=iso_to_ms(d.get("created_at")) or 0,
        updated_at=iso_to_ms(d.get("updated_at")) or 0,
    )


# -- sessions ------------------------------------------------------------------------------


def feedback_session(d: dict[str, Any], store_id: str) -> FeedbackSession:
    created = iso_to_ms(d.get("createdAt")) or 0
    return FeedbackSession(
        id=d["id"],
        store_id=store_id,
        status=d["status"],
        feedback_url=d.get("feedbackUrl") or "",
        review_token=f"replica-{d['id']}",  # the server's secret; it travels only inside feedbackUrl
        deployment_url=d.get("deploymentUrl"),
        error_message=d.get("errorMessage"),
        created_at=created,
        updated_at=iso_to_ms(d.get("updatedAt")) or created,
    )


def feedback_comment(d: dict[str, Any], session_id: str) -> FeedbackComment:
    created = iso_to_ms(d.get("createdAt")) or 0
    return FeedbackComment(
        id=d["id"], session_id=session_id, content=d.get("content") or "", page_path=d.get("pagePath") or "/", selector=None,
        offset_x=None, offset_y=None, pin_x=None, pin_y=None, reviewer_name=None, status=d.get("status") or "open",
        task_instruction=d.get("taskInstruction"), created_at=created, resolved_at=None, updated_at=created,
    )


def study(d: dict[str, Any], workspace_id: str) -> Study:
    return Study(id=d["jobId"], workspace_id=workspace_id, name=d.get("name") or d["jobId"], created_at=iso_to_ms(d.get("createdAt")) or 0)


def test_session(d: dict[str, Any]) -> TestSession:
    created = iso_to_ms(d.get("createdAt")) or iso_to_ms(d.get("startedAt")) or 0
    return TestSession(
        id=d["sessionId"], job_id=d["jobId"], tester_id=d.get("testerId") or "", variant=d.get("variant") or "A",
        status=d["status"], created_at=created, started_at=iso_to_ms(d.get("startedAt")) or created,
        completed_at=iso_to_ms(d.get("completedAt")), duration_seconds=d.get("durationSeconds"), analysis=d.get("analysis"),
        analysis_started_at=None, analysis_error=d.get("analysisError"), rating=d.get("rating"), confirm_comment=None,
        confirmed_at=iso_to_ms(d.get("confirmedAt")), payout_queued=bool(d.get("payoutQueued")), updated_at=0,
    )


def test_note(d: dict[str, Any], session_id: str) -> TestNote:
    at = iso_to_ms(d.get("timestamp")) or 0
    return TestNote(id=d["noteId"], session_id=session_id, content=d.get("content") or "", author_id=d.get("authorId") or "", timestamp=at, updated_at=at)
