"""Workspaces, users and API tokens as plain records, and their public (wire) shapes.

Apart from records.py because every front end reads these while starting (the local user, the
server's auth) and the TUI's first paint should not build the annotation records' classes too.
Slotted dataclasses, like records.py, for the same reason: trusted rows, validated at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.domain.clock import iso_ms


@dataclass(slots=True)
class Workspace:
    id: str
    name: str
    created_at: int
    deleted_at: int | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": iso_ms(self.created_at),
            "deleted_at": iso_ms(self.deleted_at),
        }


@dataclass(slots=True)
class User:
    id: str
    email: str
    name: str
    created_at: int


def unnamed_member(user_id: str) -> str:
    """How a member this store has no name for is named: a replica's server lists no members, so
    one assigned there but never seen replying is only an id here. The id's end tells two apart
    (and comes first, so the inbox's narrow assignee column keeps it); the words say why there is
    no name, where "user …e592eb" read as a name."""
    return f"…{user_id[-6:]} (name unknown here)"


@dataclass(slots=True)
class ApiToken:
    id: str
    workspace_id: str
    name: str
    role: str
    token_hash: str
    last4: str
    created_by: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None

    def to_public(self) -> dict[str, Any]:
        # Never the hash: the listing shows what identifies a token to a human.
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "last4": self.last4,
            "created_by": self.created_by,
            "created_at": iso_ms(self.created_at),
            "expires_at": iso_ms(self.expires_at),
            "revoked_at": iso_ms(self.revoked_at),
        }
