"""What the parts of a sync run share: ``SyncContext`` (the run's state) and ``EnginePart``.

A run is made of parts: ``sync.pull.AnnotationPull``, ``sync.push.AnnotationPush`` and
``sync.sessions.SessionSync``. Each is built over the one ``SyncContext`` of the run and reaches
another part only by building it over the same context (``AnnotationPush(self.ctx)``), so what a
part may use is written here, not implied by the classes it happens to be mixed with.
``EnginePart`` also holds the bookkeeping every push handler does around a send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage import sync_cursors as cursors
from storage import sync_state as state
from sync.crash import crash_point

# The bundled server's header naming the children a list's ETag covers (workbench.server.conditional).
COVERS_HEADER = "Workbench-ETag-Covers"

if TYPE_CHECKING:
    from storage.db import Store
    from storage.sync_state import Remote
    from sync.client import RemoteClient, Response
    from sync.engine import Progress, Report
    from workbench.domain.records import Reply, Resolution


@dataclass(eq=False)
class SyncContext:
    """The state of one sync run, shared by its parts."""

    store: Store
    name: str  # the remote's name
    client: RemoteClient
    owner_user_id: str
    clock: Callable[[], int]
    progress: Progress
    report: Report
    remote: Remote
    sending: int | None = None  # the outbox entry whose request is about to leave
    # What this run's push wrote on the server: the entities (an annotation, a session) its entries
    # named, and the thread rows it created. The pull brings them back with the server's own values
    # (versions, times, a notification); it applies those, but does not report them as received:
    # "received" says what others changed, and a user reading "received 3" after sending 3 would
    # look for news that is not there.
    pushed: set[str] = field(default_factory=set)
    pushed_rows: set[str] = field(default_factory=set)
    # Annotations whose colleague's change this run's push met and counted as received (its read
    # before a PATCH, or after a 412): the pull brings them again, now unchanged here.
    received_here: set[str] = field(default_factory=set)

    @property
    def ws(self) -> str:
        assert self.remote.workspace_id is not None
        return self.remote.workspace_id

    def capability(self, name: str) -> Any:
        return self.remote.capabilities.get(name)

    def split_echoes(self, replies: list[Reply], resolutions: list[Resolution]) -> tuple[list[Reply | Resolution], list[Reply], list[Resolution]]:
        """A pulled thread's rows as (the server's own answers to this run's push: the notice of a
        resolution sent from here, that resolution's notification status; others' replies; others'
        resolutions). Every one is applied; only others' count as received."""
        echoes: list[Reply | Resolution] = [r for r in replies if r.author_kind == "system" and r.annotation_id in self.pushed]
        echoes += [r for r in resolutions if r.id in self.pushed_rows]
        return echoes, [r for r in replies if r not in echoes], [r for r in resolutions if r not in echoes]

    def set_capability(self, name: str, value: Any) -> None:
        if self.remote.capabilities.get(name) == value:
            return
        self.remote.capabilities[name] = value
        with self.store.write() as db:
            state.update_remote(db, self.name, capabilities=self.remote.capabilities)


class EnginePart:
    """A part of a sync run: the context's fields under short names, and the push bookkeeping."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def name(self) -> str:
        return self.ctx.name

    @property
    def client(self) -> RemoteClient:
        return self.ctx.client

    @property
    def owner_user_id(self) -> str:
        return self.ctx.owner_user_id

    @property
    def remote(self) -> Remote:
        return self.ctx.remote

    @property
    def report(self) -> Report:
        return self.ctx.report

    @property
    def ws(self) -> str:
        return self.ctx.ws

    def clock(self) -> int:
        return self.ctx.clock()

    def progress(self, phase: str, done: int, total: int | None) -> None:
        self.ctx.progress(phase, done, total)

    def _capability(self, name: str) -> Any:
        return self.ctx.capability(name)

    def _set_capability(self, name: str, value: Any) -> None:
        self.ctx.set_capability(name, value)

    # -- conditional lists -------------------------------------------------------------------
    def _get_tree(self, key: str, path: str, covers: set[str], **kwargs: Any) -> tuple[Response, str | None]:
        """GET a list whose children the caller walks next, conditionally when the server offers it.

        Returns the response (a 304 means the list and ``covers`` are unchanged since the tree
        was last pulled whole) and the ETag to save with ``_tree_pulled`` once every child is
        applied, or None when the server's ETag does not cover ``covers`` (plain documented API).
        The saved ETag is forgotten before a changed tree is applied: a run stopped halfway must
        not be answered 304 later.
        """
        known = cursors.get_digest(self.store.db, self.name, key) or None
        resp = self.client.get(path, headers={"If-None-Match": known} if known else None, **kwargs)
        if resp.status == 304:
            return resp, known
        if known:
            with self.store.write() as db:
                cursors.set_digest(db, self.name, key, "")
        etag = resp.headers.get("etag")
        declared = set(resp.headers.get(COVERS_HEADER, "").split())
        return resp, etag if resp.status == 200 and etag and covers <= declared else None

    def _tree_pulled(self, key: str, etag: str | None) -> None:
        if etag:
            with self.store.write() as db:
                cursors.set_digest(db, self.name, key, etag)

    # -- around a send -----------------------------------------------------------------------
    def _mark_sending(self, e: state.Entry, **payload: Any) -> None:
        """Before a send: count it and flag the entry (a crash after this is checked next run)."""
        merged = {**e.payload, **payload}
        merged.setdefault("first_sent_at", self.clock())
        with self.store.write() as db:
            state.update_entry(db, e.seq, attempts=e.attempts + 1, ambiguous=True, payload=merged, updated_at=self.clock())
        e.payload = merged
        e.attempts += 1
        e.ambiguous = True
        self.ctx.sending = e.seq
        crash_point("push:before_send")

    def _save_payload(self, e: state.Entry, **payload: Any) -> None:
        e.payload = {**e.payload, **payload}
        with self.store.write() as db:
            state.update_entry(db, e.seq, payload=e.payload, updated_at=self.clock())
