"""Domain errors: each names the kind of refusal so every front end can map it to its own channel.

The server maps ``kind`` to an HTTP status; the TUI and CLI show ``message``. The domain never
speaks HTTP itself, so the same refusal reads the same offline and served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

# A soft-deleted workspace's refusal, in the same words whoever asks (a token's or a store key's 401, a
# session's 403): three wordings had grown, and sync tells this refusal from a revoked credential by its
# words (sync/client.py), as the status cannot.
WORKSPACE_DELETED = "Workspace deleted; its OWNER can restore it"

# The ``code`` of ``GET /uploads/{key}``'s own 404 (no picture under this key for this caller). A sync tells
# it from a server without the route, whose 404 means "no pictures at all", by this value, not by the words.
UPLOAD_NOT_FOUND = "upload_not_found"


class DomainError(Exception):
    """A rule of the documents refused an action. ``message`` is safe to show a user."""

    kind: str = "invalid"

    def __init__(self, message: str, *, detail: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class Invalid(DomainError):
    """The input breaks a documented rule (HTTP 400)."""

    kind = "invalid"


class NotForThisCaller(DomainError):
    """The body carries a field this caller may not send (HTTP 422, like a field outside its schema)."""

    kind = "not_for_this_caller"


class Unauthenticated(DomainError):
    """No usable credential (HTTP 401): missing, malformed, unknown, revoked or expired."""

    kind = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but its role does not allow this (HTTP 403)."""

    kind = "forbidden"


class NotFound(DomainError):
    """Absent, or in a workspace or store the caller cannot see (HTTP 404)."""

    kind = "not_found"


class Conflict(DomainError):
    """The current state forbids the action (HTTP 409), e.g. a transition the table refuses."""

    kind = "conflict"


class PreconditionFailed(DomainError):
    """A compare-and-set precondition (If-Match) no longer holds (HTTP 412)."""

    kind = "precondition_failed"


class TooLarge(DomainError):
    """The input is over a documented size cap (HTTP 413)."""

    kind = "too_large"


class HasErrors(Protocol):
    """What ``validation_text`` reads of a pydantic ``ValidationError``."""

    def errors(self) -> Sequence[Mapping[str, Any]]: ...


def validation_text(exc: HasErrors, names: Mapping[str, str] | None = None) -> str:
    """A pydantic ``ValidationError`` as one line a user can act on ("summary: at most 2,000 characters").

    Pydantic's own sentences ("String should have at most 2000 characters", "Input should be
    'new', 'ack' or …") name types and stored spellings; the common ones are said again in
    words (``human_error``). Duck-typed on ``errors()`` so this module stays free of pydantic
    (the TUI's first paint imports it). ``names`` calls a field what the user filled it as
    (the CLI's reply MESSAGE fills a reply's ``body``).
    """
    names = names or {}
    parts = []
    for err in exc.errors():
        loc = ", ".join(names.get(str(p)) or field_words(str(p))
                        for p in err.get("loc", ()) if p != "__root__" and not isinstance(p, int))
        msg = human_error(err)
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "Invalid input"


# Field names as a form labels them.
_FIELD_WORDS = {
    "assignee_id": "assignee", "diff_url": "diff URL", "before_key": "before image", "after_key": "after image",
    "auto_fix": "auto-fix", "persona_ids": "personas", "page_url": "page",
}


def field_words(name: str) -> str:
    return _FIELD_WORDS.get(name, name.replace("_", " "))


def human_error(err: Mapping[str, Any]) -> str:
    """One pydantic error in words; an error type not listed keeps pydantic's message."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "cannot be empty" if n == 1 else f"at least {n:,} characters"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length', 0):,} characters"
    if kind in ("too_long", "too_short"):
        bound = ctx.get("max_length") if kind == "too_long" else ctx.get("min_length")
        return f"{'at most' if kind == 'too_long' else 'at least'} {bound:,} items"
    if kind == "missing":
        return "required"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        from workbench.domain.statuses import status_label

        words = [status_label(w.strip(" '")) for w in expected.replace(" or ", ", ").split(",") if w.strip(" '")]
        return "one of: " + ", ".join(words) if words else "not one of the allowed values"
    if kind == "string_pattern_mismatch":
        # An empty value misses the pattern too, and has no character to blame.
        return "cannot be empty" if err.get("input") == "" else "has characters that are not allowed here"
    if kind in ("url_parsing", "url_scheme", "url_type"):
        return "not a valid URL"
    if kind in ("int_parsing", "int_type", "float_parsing"):
        return "must be a number"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), "")
        word = {"greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "more than",
                "less_than": "less than"}[kind]
        return f"{word} {bound}"
    if kind == "extra_forbidden":
        return "not a field of this form"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")
