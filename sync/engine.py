"""A sync run of one replica against one remote, through the documented API only.

A sync run is: push the outbox in order, then pull. Pulling after pushing means the server
has already judged every local change (accepted, merged or refused) when its state comes
down, and a run that stopped on an ambiguous write (no answer from the server) never pulls:
the entry is reconciled first on the next run, so the replica cannot show a change twice.

The run is put together here (``Engine``, ``Report``, progress, the order of push and pull);
each outbox entry goes to its op in the registry (``sync.ops``), which names its handler. The
parts share the run's ``sync.part.SyncContext``: ``sync.push`` (the ``annotation.*`` entries),
``sync.pull`` (sites, personas, annotations, threads), ``sync.pictures`` (their screenshots and
evidence), ``sync.sessions`` (feedback and test sessions, both ways) and ``sync.crash`` (the test hook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage import sync_state as state
from storage.db import Store
from sync import ops
from sync.client import Ambiguous, AuthFailed, NotTheApi, OtherWorkspace, Refused, RemoteClient, SyncError, Unavailable, WorkspaceDeleted
from sync.crash import CRASH_ENV, crash_point
from sync.part import SyncContext
from sync.pictures import PicturePull
from sync.pull import MARGIN_MS, PAGE_SIZE, THREAD_PAGE_SIZE, AnnotationPull
from sync.push import MAX_CAS_ROUNDS, RECONCILE_SKEW_MS
from sync.sessions import SessionSync
from workbench.domain.clock import now_ms

__all__ = [
    "CRASH_ENV", "MARGIN_MS", "MAX_CAS_ROUNDS", "PAGE_SIZE", "RECONCILE_SKEW_MS", "THREAD_PAGE_SIZE",
    "Engine", "Progress", "Report", "crash_point",
]

Progress = Callable[[str, int, "int | None"], None]


@dataclass
class Report:
    sent: int = 0
    received: int = 0  # what others changed; never this run's own pushed changes coming back (SyncContext.pushed)
    conflicts: int = 0
    refused: int = 0
    pending: int = 0
    requests: int = 0
    pictures: int = 0  # screenshots and evidence pictures fetched into this replica
    stopped: str | None = None  # why the run ended early (None: it completed)
    auth_failed: str | None = None  # which credential a 401 rejected
    # Why it stopped, for a script (the CLI's --json error code): the ``code`` of the SyncError it
    # stopped on (sync/errors.py); None while ``stopped`` is.
    stop_code: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stopped is None


class Engine:
    """One run: its context (``SyncContext``) and, over it, the parts that pull and the ops that push."""

    def __init__(
        self,
        store: Store,
        remote_name: str,
        client: RemoteClient,
        *,
        owner_user_id: str,
        clock: Callable[[], int] = now_ms,
        progress: Progress | None = None,
    ) -> None:
        remote = state.get_remote(store.db, remote_name)
        if remote is None:
            raise SyncError(f"no remote named {remote_name!r}")
        shown: Progress = progress or (lambda phase, done, total: None)
        if client.on_wait is None:
            client.on_wait = shown  # a rate-limit wait shows on the progress line as a phase of its own
        self.ctx = SyncContext(
            store=store, name=remote_name, client=client, owner_user_id=owner_user_id, clock=clock, progress=shown,
            report=Report(), remote=remote,
        )
        # Shorthands for the run's own code below; the parts read the same objects from ``ctx``.
        self.store = store
        self.name = remote_name
        self.client = client
        self.clock = clock
        self.progress = shown
        self.report = self.ctx.report
        self.remote = remote

    # -- the run ---------------------------------------------------------------------------
    def run(self, *, push: bool = True, pull: bool = True) -> Report:
        error: str | None = None
        interrupted = False
        try:
            if push and self.remote.workspace_id is not None:
                if self.client.has("token") and self._annotation_changes_pending():
                    AnnotationPull(self.ctx).confirm_workspace()
                self.push()
            if pull:
                self.pull()
        except AuthFailed as exc:
            error = self._stopped(exc, f"credentials rejected ({exc.credential.replace('_', ' ')}): {exc.reason}")
            self.report.auth_failed = exc.credential
        except Ambiguous as exc:
            error = self._stopped(exc, f"no answer from the server for a write; it will be checked on the next sync ({exc.reason})")
        except (Unavailable, NotTheApi, OtherWorkspace, WorkspaceDeleted) as exc:
            error = self._stopped(exc, exc.reason)
        except Refused as exc:
            error = self._stopped(exc, f"the server refused a read ({exc.status}): {exc.reason}")
        except SyncError as exc:
            # Any other failure the run names (a replica's workspace another remote's): said as one
            # line with its code, as the others are, not as a traceback with the run left unrecorded.
            error = self._stopped(exc, exc.reason)
        except BaseException:
            # A quit's Stopped (or a bug): the run neither ended nor failed, so it must not
            # be recorded as the remote's last sync, nor clear the last one's error.
            interrupted = True
            raise
        finally:
            self.report.requests = self.client.requests
            if self.client.throttled_waits:
                self.report.notes.append(
                    f"the server rate-limited this run: waited {self.client.throttled_seconds:.0f} s in "
                    f"{self.client.throttled_waits} pause(s)"
                )
            with self.store.write() as db:
                values: dict[str, Any] = {"last_error": error}
                if error is None:
                    values["last_sync_at"] = self.clock()
                if not interrupted:
                    state.update_remote(db, self.name, **values)
                if self.remote.workspace_id:
                    self.report.pending = state.count_entries(db, self.remote.workspace_id).get("pending", 0)
        return self.report

    def _stopped(self, exc: SyncError, why: str) -> str:
        """Record that the run stopped on ``exc``, as ``why`` says; returns ``why``."""
        self.report.stopped, self.report.stop_code = why, exc.code
        return why

    def _annotation_changes_pending(self) -> bool:
        """Whether the push will write to the token's workspace (the sessions' ops have their own credentials)."""
        row = self.store.db.execute(
            "SELECT 1 FROM sync_outbox WHERE workspace_id = ? AND state = 'pending' AND entity_type = 'annotation' LIMIT 1", [self.ws]
        ).fetchone()
        return row is not None

    @property
    def ws(self) -> str:
        return self.ctx.ws

    # -- push ------------------------------------------------------------------------------
    def push(self) -> None:
        seen: set[int] = set()
        while True:
            batch = [e for e in state.entries(self.store.db, self.ws) if e.seq not in seen]
            if not batch:
                return
            for i, e in enumerate(batch):
                seen.add(e.seq)
                self.progress("push", i, len(batch))
                current = state.get_entry(self.store.db, e.seq)
                if current is None or current.state != "pending":
                    continue
                self.ctx.sending = None
                try:
                    if self._push_one(current):
                        self.report.sent += 1
                        self.ctx.pushed.add(current.entity_id)
                except Unavailable:
                    if self.ctx.sending == current.seq:
                        # This attempt never reached the server, or the server refused it unhandled
                        # (a 503): the client raises Unavailable only then. So the entry is as unsent
                        # as before: it must not be matched against other replicas' identical rows
                        # on the next run.
                        with self.store.write() as db:
                            state.update_entry(db, current.seq, ambiguous=False, updated_at=self.clock())
                    raise
                except Refused as exc:
                    with self.store.write() as db:
                        state.update_entry(
                            db, current.seq, state="refused", ambiguous=False, last_status=exc.status, last_error=exc.reason,
                            updated_at=self.clock(),
                        )
                    self.report.refused += 1
            self.progress("push", len(batch), len(batch))

    def _push_one(self, e: state.Entry) -> bool:
        op = ops.op_for(e.op)
        if not self.client.has(op.credential):
            note = f"changes needing the {op.credential.replace('_', ' ')} wait until it is set"
            if note not in self.report.notes:
                self.report.notes.append(note)
            return False
        return op.push(self.ctx, e)

    # -- pull ------------------------------------------------------------------------------
    def pull(self) -> None:
        annotations = AnnotationPull(self.ctx)
        if self.client.has("token"):
            annotations._pull_annotation_side()
            PicturePull(self.ctx).pull_pictures()
        else:
            annotations._ensure_replica([])
        sessions = SessionSync(self.ctx)
        if self.client.has("store_key"):
            sessions.pull_feedback()
        if self.client.has("jwt"):
            sessions.pull_tests()
