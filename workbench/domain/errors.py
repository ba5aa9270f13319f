"""Domain errors: each names the kind of refusal so every front end can map it to its own channel.

The server maps ``kind`` to an HTTP status; the TUI and CLI show ``message``. The domain never
speaks HTTP itself, so the same refusal reads the same offline and served.
"""

from __future__ import annotations


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


class Gone(DomainError):
    """The thing existed but has been consumed or revoked (HTTP 410)."""

    kind = "gone"
