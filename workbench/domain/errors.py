"""Domain errors: each names the kind of refusal so every front end can map it to its own channel.

The server maps ``kind`` to an HTTP status; the TUI and CLI show ``message``. The domain never
speaks HTTP itself, so the same refusal reads the same offline and served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


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


def validation_text(exc: HasErrors) -> str:
    """A pydantic ``ValidationError`` as one line a user can act on ("summary: at most 2000 characters").

    Duck-typed on ``errors()`` so this module stays free of pydantic (the TUI's first paint
    imports it).
    """
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "Invalid input"
