"""What every op shares: the ``Op`` base, the payload base, the inverse types, and the lazy handler loaders.

The op types themselves are in ``sync.annotation_ops`` and ``sync.session_ops``; the registry
that names them is ``sync.ops``. Nothing here imports httpx, and the handlers' modules
(``sync.push``, ``sync.sessions``) load only inside ``_annotations``/``_sessions``: the services
import the ops on every outbox write, and the HTTP client loads only when a sync runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from sqlite3 import Connection
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from storage import sync_state as state
from workbench.domain.outbox import OpName

if TYPE_CHECKING:
    from sync.part import SyncContext
    from sync.push import AnnotationPush
    from sync.sessions import SessionSync

__all__ = ["CannotUndo", "Inverse", "Op", "Payload", "Undo"]


# -- inverses --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undo:
    """The op that undoes an entry: its name, the entity, and what it changes (in that op's payload terms;
    an ``annotation.patch`` inverse carries the ``values`` to set back)."""

    op: OpName
    entity_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CannotUndo:
    """Why an entry cannot be undone, in words for the user."""

    reason: str


Inverse = Undo | CannotUndo


# -- payloads --------------------------------------------------------------------------------


@dataclass(slots=True)
class Payload:
    """Base of the payloads: to and from the stored JSON (``RENAMED`` maps a field to its stored key).

    The stored JSON also holds what the push handler records while sending (``first_sent_at``,
    ``known``, ``presign``, ``server_keys``); that bookkeeping belongs to the handlers, not the op.
    """

    RENAMED: ClassVar[dict[str, str]] = {}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Self:
        kwargs = {}
        for f in dataclasses.fields(cls):
            key = cls.RENAMED.get(f.name, f.name)
            if key in stored:
                kwargs[f.name] = stored[key]
        return cls(**kwargs)

    def stored(self) -> dict[str, Any]:
        return {self.RENAMED.get(f.name, f.name): getattr(self, f.name) for f in dataclasses.fields(self)}


P = TypeVar("P", bound=Payload)


# -- ops -------------------------------------------------------------------------------------


class Op(Generic[P]):
    """One kind of outbox entry. Subclasses declare ``names``, ``payload_type`` and ``credential``."""

    names: ClassVar[tuple[OpName, ...]]
    payload_type: ClassVar[type[Payload]]
    credential: ClassVar[str]  # the credential its push needs: token | store_key | jwt
    # Whether ``discard`` leaves the local change in place until the next pull rewrites the row
    # (the session ops: they keep no base to put back, and forget the rows' digests instead).
    restored_by_next_pull: ClassVar[bool] = False

    def payload(self, e: state.Entry) -> P:
        return self.payload_type.of(e.payload)  # pyright: ignore[reportReturnType]  # payload_type is P's class; ClassVars cannot name P

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        """Send the entry; True when it reached the server (False: dropped, nothing left to send)."""
        raise NotImplementedError

    def summary(self, e: state.Entry) -> str:
        raise NotImplementedError

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        """Drop the entry and roll its local change back. The default: the change has no local row to remove."""
        state.delete_entry(db, e.seq)

    def inverse(self, e: state.Entry) -> Inverse:
        raise NotImplementedError

    @staticmethod
    def unsent(e: state.Entry) -> bool:
        """Whether the entry has certainly not reached the server: no send of it is in doubt (an
        attempt that failed before reaching it clears ``ambiguous``) and none succeeded (that
        deletes the entry), or the server refused it."""
        return not e.ambiguous and e.state in ("pending", "refused")

    def _enqueue(self, db: Connection, workspace_id: str, entity_type: str, entity_id: str, payload: P, at: int,
                 local_id: str | None = None, name: OpName | None = None) -> None:
        state.enqueue(
            db, workspace_id=workspace_id, op=(name or self.names[0]).value, entity_type=entity_type, entity_id=entity_id,
            payload=payload.stored(), at=at, local_id=local_id,
        )


# The handlers' modules load with the first push, not with every service that enqueues.
def _annotations(ctx: SyncContext) -> AnnotationPush:
    from sync.push import AnnotationPush

    return AnnotationPush(ctx)


def _sessions(ctx: SyncContext) -> SessionSync:
    from sync.sessions import SessionSync

    return SessionSync(ctx)


def _one_line(text: Any, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]
