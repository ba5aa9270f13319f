"""The documented wire shapes → the replica's records; an object of another shape is refused
with ``Malformed`` (never a KeyError or TypeError from the middle of a sync).

The documented annotation shape hides two things the store keeps: the submitter's email
(only ``has_email``) and the stakeholder token (only ``type``). The replica keeps what the
shape says with placeholders, so ``to_public()`` of a replica row reads exactly like the
server's.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from workbench.domain.records import Annotation, Persona, Reply, Resolution, Site
from workbench.domain.session_records import FeedbackComment, FeedbackSession, Study, TestNote, TestSession

HIDDEN_EMAIL = "hidden@remote.invalid"
REMOTE_STAKEHOLDER = "remote-stakeholder"
AUTHOR_KINDS = frozenset({"user", "agent", "persona", "system"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DAYS: dict[str, int] = {}
_P = ParamSpec("_P")
_R = TypeVar("_R")


class Malformed(ValueError):
    """A wire object that is not the documented shape: not an object, without a field its record
    needs, or with a field of another type than the record holds. Raised before anything is
    written; ``sync.client.Response`` names the answer that held it (as ``NotTheApi``)."""


def kind_of(value: Any) -> str:
    """What a JSON value is, in words for the user: a message naming Python's types read as a bug."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


@functools.cache
def _declared(cls: type) -> tuple[tuple[str, tuple[type, ...]], ...]:
    """Each field of a record class with the JSON types a wire value may have to be stored in it."""
    out: list[tuple[str, tuple[type, ...]]] = []
    for name, hint in typing.get_type_hints(cls).items():
        allowed: list[type] = []
        for one in typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,):
            one = typing.get_origin(one) or one
            if one is Any:
                allowed = []
                break
            # A number a server sends as 12.0 is still one: SQLite keeps it as the same value.
            allowed += [int, float] if one is int else [one]
        if allowed:
            out.append((name, tuple(allowed)))
    return tuple(out)


def _shaped(read: Callable[Concatenate[dict[str, Any], _P], _R]) -> Callable[Concatenate[Any, _P], _R]:
    """``read`` refusing what is not its documented object with ``Malformed``, never a KeyError or
    TypeError: a server of another shape printed a traceback from the middle of a sync. The record
    is checked against its class's field types too, since SQLite would store a number as an id, or
    refuse an object as a body halfway through a write."""

    @functools.wraps(read)
    def checked(d: Any, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not isinstance(d, dict):
            raise Malformed(f"{kind_of(d)}, not an object")
        try:
            record = read(d, *args, **kwargs)
        except Malformed:
            raise
        except KeyError as exc:
            raise Malformed(f"an object without its {str(exc.args[0])!r}") from None
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise Malformed(f"an object with a field of another type ({exc})") from None
        for name, allowed in _declared(type(record)):
            value = getattr(record, name)
            if not isinstance(value, allowed):
                raise Malformed(f"an object whose {name} is {kind_of(value)}")
        return record

    return checked


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


@_shaped
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


@_shaped
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


@_shaped
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


@_shaped
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


@_shaped
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


@_shaped
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


@_shaped
def feedback_comment(d: dict[str, Any], session_id: str) -> FeedbackComment:
    created = iso_to_ms(d.get("createdAt")) or 0
    return FeedbackComment(
        id=d["id"], session_id=session_id, content=d.get("content") or "", page_path=d.get("pagePath") or "/", selector=None,
        offset_x=None, offset_y=None, pin_x=None, pin_y=None, reviewer_name=None, status=d.get("status") or "open",
        task_instruction=d.get("taskInstruction"), created_at=created, resolved_at=None, updated_at=created,
    )


@_shaped
def study(d: dict[str, Any], workspace_id: str) -> Study:
    return Study(id=d["jobId"], workspace_id=workspace_id, name=d.get("name") or d["jobId"], created_at=iso_to_ms(d.get("createdAt")) or 0)


@_shaped
def test_session(d: dict[str, Any]) -> TestSession:
    created = iso_to_ms(d.get("createdAt")) or iso_to_ms(d.get("startedAt")) or 0
    return TestSession(
        id=d["sessionId"], job_id=d["jobId"], tester_id=d.get("testerId") or "", variant=d.get("variant") or "A",
        status=d["status"], created_at=created, started_at=iso_to_ms(d.get("startedAt")) or created,
        completed_at=iso_to_ms(d.get("completedAt")), duration_seconds=d.get("durationSeconds"), analysis=d.get("analysis"),
        analysis_started_at=None, analysis_error=d.get("analysisError"), rating=d.get("rating"), confirm_comment=None,
        confirmed_at=iso_to_ms(d.get("confirmedAt")), payout_queued=bool(d.get("payoutQueued")), updated_at=0,
    )


@_shaped
def test_note(d: dict[str, Any], session_id: str) -> TestNote:
    at = iso_to_ms(d.get("timestamp")) or 0
    return TestNote(id=d["noteId"], session_id=session_id, content=d.get("content") or "", author_id=d.get("authorId") or "", timestamp=at, updated_at=at)


# -- answers holding more than one record ----------------------------------------------------


def _rows(d: dict[str, Any], key: str, read: Callable[[Any], _R], *, needed: bool = False) -> list[_R]:
    """The records of the list an object holds under ``key`` (absent or null: none, unless ``needed``)."""
    rows = d.get(key)
    if rows is None and not needed:
        return []
    if not isinstance(rows, list):
        raise Malformed(f"an object whose {key} is {kind_of(rows)}, not a list")
    out: list[_R] = []
    for n, row in enumerate(rows, 1):
        try:
            out.append(read(row))
        except Malformed as exc:
            raise Malformed(f"an object whose {key} item {n} is {exc}") from None
    return out


def detail(d: Any, workspace_id: str, *, whole_thread: bool = False) -> tuple[Annotation, list[Reply], list[Resolution]]:
    """An annotation's documented detail: the annotation, its replies and its resolutions. With
    ``whole_thread`` both lists must be there: a detail without them cannot say that a write in
    doubt did not reach the server, and read as an empty thread it was sent again."""
    ann = annotation(d, workspace_id)
    return (ann, _rows(d, "replies", lambda r: reply(r, workspace_id, ann.id), needed=whole_thread),
            _rows(d, "resolutions", lambda r: resolution(r, workspace_id, ann.id), needed=whole_thread))


def listed_site(d: Any) -> dict[str, Any]:
    """A row of the sites list, checked for what the pull reads of it (the site's fields, and the
    workspace it names), and returned as it came: the replica is made from the workspace first."""
    site(d, "", "")
    if not isinstance(d.get("workspace_id"), str | None):
        raise Malformed(f"an object whose workspace_id is {kind_of(d.get('workspace_id'))}")
    return d


def thread_change(d: Any, workspace_id: str) -> Reply | Resolution | None:
    """A row of the bundled server's thread feed (``{"kind", "data"}``); None for a kind this
    version does not know (a later server's), which is skipped as the feed's other readers would."""
    if not isinstance(d, dict):
        raise Malformed(f"{kind_of(d)}, not an object")
    kind = d.get("kind")
    read = reply if kind == "reply" else resolution if kind == "resolution" else None
    if read is None:
        return None
    try:
        return read(d.get("data"), workspace_id)
    except Malformed as exc:
        raise Malformed(f"a {kind} whose data is {exc}") from None


@dataclass(frozen=True, slots=True)
class Presign:
    """The documented upload-url answer: where to send an evidence picture, and its key."""

    url: str
    key: str
    method: str | None
    headers: dict[str, Any] | None


@_shaped
def presign(d: dict[str, Any]) -> Presign:
    return Presign(url=d["url"], key=d["key"], method=d.get("method"), headers=d.get("headers"))


@dataclass(frozen=True, slots=True)
class SubmittedFeedback:
    """The documented answer to a tester's feedback: the id the server gave it."""

    feedback_id: str


@_shaped
def submitted_feedback(d: dict[str, Any]) -> SubmittedFeedback:
    return SubmittedFeedback(feedback_id=d["feedbackId"])
