"""What a sync line shows: each remote's last sync, pending changes, conflicts and refusals.

Apart from ``workbench.services.sync`` because the TUI reads it on its own thread right after
the first paint and at every store change: this module loads the store's sync tables only
(~6 ms of imports), where the sync use cases load the outbox ops' registry and the domain
models behind it (~115 ms).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from storage import sync_state
from workbench.domain.clock import iso_ms
from workbench.services.context import Workbench


@dataclass(slots=True)
class SyncStatus:
    remote: str | None  # None: this store has no remote
    url: str | None
    last_sync_at: int | None
    pending: int
    conflicts: int
    refused: int
    last_error: str | None = None
    workspace_id: str | None = None

    def to_public(self) -> dict[str, Any]:
        # Every field under its own name; the time as every other JSON time is (ISO-8601, ms, UTC),
        # where epoch ms beside the annotations' ISO strings made a script parse two kinds.
        return {**asdict(self), "last_sync_at": iso_ms(self.last_sync_at)}


def status(wb: Workbench, remote: str | None = None) -> SyncStatus:
    """What the status bar shows; a store with no remote reports ``remote=None``."""
    db = wb.store.db
    remotes_ = sync_state.list_remotes(db)
    if remote is not None:
        remotes_ = [r for r in remotes_ if r.name == remote]
    if not remotes_:
        return SyncStatus(None, None, None, 0, 0, 0)
    r = remotes_[0]
    counts = sync_state.count_entries(db, r.workspace_id) if r.workspace_id else {}
    n_conflicts = sync_state.count_conflicts(db, r.workspace_id) if r.workspace_id else 0
    return SyncStatus(
        r.name, r.url, r.last_sync_at, counts.get("pending", 0), n_conflicts, counts.get("refused", 0), r.last_error, r.workspace_id
    )


def statuses(wb: Workbench) -> list[SyncStatus]:
    """Each remote's ``status``, in the order the remotes are listed."""
    return [status(wb, r.name) for r in sync_state.list_remotes(wb.store.db)]
