"""Which workspace a front end shows: the local workspaces and each remote's replica, by name, with counts.

A store holds the local user's own workspaces (``bootstrap``'s, demo data) and one replica
per synced remote. The TUI opens the one last chosen in its switcher (kept in the store, so
a restart opens it again), else the store's default workspace (``local.local_user``).
Choosing never moves or deletes data: every workspace stays one choice away.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import accounts as accounts_repo
from storage import workspaces as repo
from workbench.domain.errors import NotFound
from workbench.domain.roles import Principal
from workbench.services.context import Workbench
from workbench.services.local import find_local_user, local_principal, local_user

OPEN_KEY = "tui_workspace"  # meta: the workspace the TUI's switcher chose last


@dataclass(slots=True)
class WorkspaceView:
    id: str
    name: str  # the workspace's own name (a replica: the server's name for it)
    remote: str | None  # the remote it replicates, None for a local workspace
    remote_url: str | None
    annotations: int
    replies: int
    feedback_sessions: int
    test_sessions: int
    custom_personas: int
    is_default: bool  # what the CLI acts on

    @property
    def label(self) -> str:
        """How a person tells it apart: "origin · Acme" for a replica, its name for a local one."""
        return f"{self.remote} · {self.name}" if self.remote else self.name

    @property
    def kind(self) -> str:
        return "replica" if self.remote else "local"

    @property
    def counts(self) -> list[str]:
        """["1,204 annotations", "3 replies", "8 feedback sessions"] (zero counts left out, but annotations)."""
        parts = [(self.annotations, "annotation", "annotations"), (self.replies, "reply", "replies"),
                 (self.feedback_sessions, "feedback session", "feedback sessions"), (self.test_sessions, "test session", "test sessions")]
        return [f"{n:,} {one if n == 1 else many}" for n, one, many in parts if n or one == "annotation"]

    @property
    def counts_text(self) -> str:
        """"1,204 annotations · 3 replies · 8 feedback sessions"."""
        return " · ".join(self.counts)

    def to_public(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "label": self.label, "kind": self.kind, "remote": self.remote,
            "remote_url": self.remote_url, "annotations": self.annotations, "replies": self.replies,
            "feedback_sessions": self.feedback_sessions, "test_sessions": self.test_sessions,
            "custom_personas": self.custom_personas, "default": self.is_default,
        }


def list_workspaces(wb: Workbench, *, with_counts: bool = True) -> list[WorkspaceView]:
    """Every workspace the local user belongs to: local ones first, then each remote's replica
    (``with_counts=False``: names only, for a title)."""
    db = wb.store.db
    owner = find_local_user(db)
    if owner is None:
        return []
    default = accounts_repo.meta_get(db, "bootstrap_workspace")
    return [
        WorkspaceView(r.id, r.name, r.remote, r.remote_url, r.annotations, r.replies, r.feedback_sessions, r.test_sessions,
                      r.custom_personas, r.id == default)
        for r in repo.list_for_user(db, owner.id, with_counts=with_counts)
    ]


def get(wb: Workbench, workspace_id: str, *, with_counts: bool = True) -> WorkspaceView:
    for view in list_workspaces(wb, with_counts=with_counts):
        if view.id == workspace_id:
            return view
    raise NotFound("Workspace not found")


def opened(wb: Workbench) -> Principal:
    """The local user in the workspace the TUI opens: the switcher's last choice, else the default."""
    chosen = accounts_repo.meta_get(wb.store.db, OPEN_KEY)
    if chosen is not None:
        try:
            return local_user(wb, chosen)
        except NotFound:
            pass  # the chosen workspace is gone (its remote was removed and the rows deleted)
    return local_user(wb)


def choose(wb: Workbench, workspace_id: str) -> Principal:
    """Open ``workspace_id`` from now on (this run and the next); returns the local user there."""
    view = get(wb, workspace_id)
    owner = find_local_user(wb.store.db)
    assert owner is not None  # list_workspaces found the workspace through the owner's membership
    principal = local_principal(wb, view.id, owner.id)
    with wb.store.write() as db:
        accounts_repo.meta_set(db, OPEN_KEY, view.id)
    return principal
