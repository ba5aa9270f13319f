"""Messages of the TUI, named in the past tense: each says what happened, never what to do.

Thread workers only ever post these (``post_message`` is thread-safe); the widgets that
receive them decide what to change on screen.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StoreChanged(Message):
    """Another process (or this one) changed the store: open screens refresh."""


class CountsFetched(Message):
    """Status-bar counts arrived from a worker."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts


class RowsCounted(Message):
    """The exact row count of a list's filter arrived from a worker."""

    def __init__(self, filter: Any, total: int) -> None:
        super().__init__()
        self.filter = filter
        self.total = total


class ActionSucceeded(Message):
    """A use case ran; ``text`` is shown to the user."""

    def __init__(self, text: str, *, payload: Any = None) -> None:
        super().__init__()
        self.text = text
        self.payload = payload


class ActionRefused(Message):
    """A rule refused a use case; ``reason`` is the domain's message."""

    def __init__(self, reason: str, *, title: str = "Refused") -> None:
        super().__init__()
        self.reason = reason
        self.title = title


class PersonasReviewed(Message):
    """A persona run finished on an annotation."""

    def __init__(self, annotation_id: str, count: int) -> None:
        super().__init__()
        self.annotation_id = annotation_id
        self.count = count


class BulkProgressed(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class BulkApplied(Message):
    """A bulk action finished; ``items`` are per-row outcomes."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__()
        self.items = items


class SyncProgressed(Message):
    """The sync worker reached ``phase`` (``done`` of ``total`` items; total None: unknown)."""

    def __init__(self, phase: str, done: int, total: int | None) -> None:
        super().__init__()
        self.phase = phase
        self.done = done
        self.total = total


class SyncFinished(Message):
    """A sync ended: ``report`` (a ``sync.Report``) when it ran, ``error`` when it could not."""

    def __init__(
        self, remote: str | None, report: Any = None, error: str | None = None, first_sync: str | None = None,
        missing: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.remote = remote
        self.report = report
        self.error = error
        self.first_sync = first_sync  # the first sync's choice, kept for a retry after new credentials
        self.missing = missing or []  # what was not pulled for want of a credential ("test sessions")
