"""Use cases of sync for every front end: run a sync, its status, conflicts and refusals.

The engine (``sync.engine``) moves data; this module decides who the local user is, keeps
two syncs of one store from running at once (an advisory file lock, released by the OS even
when a process is killed), and settles what the user chooses for conflicts and refusals,
each in one transaction with its audit entry.

For the TUI: ``status(wb)`` (from ``workbench.services.sync_status``, which the sync line reads
without loading this module), ``run_sync(wb, remote, progress_cb)``, ``conflicts(wb)`` with
``keep_mine(wb, id)`` / ``take_theirs(wb, id)``, and ``refusals(wb)`` with
``retry(wb, seq)`` / ``discard(wb, seq)`` (several at once: ``act_on_refusals``). ``run_sync`` blocks (network): call it from a
thread worker; ``progress_cb(phase, done, total)`` is called from that thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from storage import accounts as accounts_repo
from storage import annotations as annotations_repo
from storage import sites as sites_repo
from storage import sync_state
from storage import test_sessions as test_sessions_repo
from sync import ops
from workbench.domain.clock import iso_ms
from workbench.domain.errors import Conflict, DomainError, Invalid, NotFound, Unauthenticated
from workbench.services.context import Workbench
from workbench.services.local import find_local_user, local_user_id
from workbench.services.sync_status import SyncStatus, status, statuses

if TYPE_CHECKING:
    import httpx

    from sync.engine import Report

# The engine, its HTTP client and the keyring load in ``run_sync`` only: the CLI's and the sync
# screen's other uses of this module (conflicts, refusals) need none of them, and they would add
# ~15 MB and ~100 ms to each.

SyncProgressCallback = Callable[[str, int, "int | None"], None]
SYNC_ACTOR = "sync"

__all__ = [
    "ConflictView", "RefusalOutcome", "RefusalView", "SyncRunning", "SyncStatus", "act_on_refusals", "conflicts", "discard",
    "keep_mine", "listed_remotes", "refusals", "retry", "run_sync", "status", "statuses", "take_theirs",
]


class SyncRunning(Conflict):
    """Another sync with the same remote holds this store's lock: nothing was done. A kind of its
    own: ``conflict`` names a field changed on both sides, which a script settles, while this one
    only waits for that run to end."""

    kind = "sync_running"


@dataclass(slots=True)
class ConflictView:
    id: int
    entity_type: str
    entity_id: str
    field: str
    base: Any
    mine: Any  # the replica's current value
    theirs: Any  # the server's latest value
    title: str  # a line to recognise the annotation by
    remote: str  # whose replica holds it: listed without --remote, rows of several remotes mix

    def to_public(self) -> dict[str, Any]:
        return asdict(self)  # every field, under its own name


@dataclass(slots=True)
class RefusalView:
    seq: int
    op: str
    entity_id: str
    http_status: int | None  # the server's answer; a ``status`` is an annotation's everywhere else
    reason: str | None
    summary: str  # what the change was, for a person
    at: int
    remote: str  # whose server refused it: listed without --remote, rows of several remotes mix

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.seq, "op": self.op, "entity_id": self.entity_id, "http_status": self.http_status, "reason": self.reason,
            "summary": self.summary, "at": iso_ms(self.at), "remote": self.remote,
        }


@dataclass(frozen=True, slots=True)
class RefusalOutcome:
    """What ``act_on_refusals`` did with one id: done (``ok``) or why not, in words."""

    seq: int
    ok: bool
    message: str  # what was done, or the refusal's reason ("No refused change 9")
    summary: str | None  # the change, as ``refusals`` lists it; None when there is no such refused change

    def to_public(self) -> dict[str, Any]:
        return {"id": self.seq, "ok": self.ok, "change": self.summary, "message": self.message}


# What ``act_on_refusals`` says it did with each change.
RETRIED = "will be sent again on the next sync"
DISCARDED = "discarded, and undone here"
DISCARDED_UNTIL_PULL = "discarded; the next sync brings the server's version here"


def discard_undoes_now(op: str) -> bool:
    """Whether discarding a refused ``op`` puts the replica back at once; a session's change stays
    shown until the next sync pulls the server's version over it."""
    return not ops.op_for(op).restored_by_next_pull


# -- running a sync ------------------------------------------------------------------------


@contextlib.contextmanager
def _sync_lock(wb: Workbench, name: str) -> Iterator[None]:
    path = wb.store.data_dir / f".sync-{name}.lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncRunning(f"Another sync with {name!r} is running for this store") from None
        yield
    finally:
        os.close(fd)


# Each credential, what a sync pulls with it and its name, in the order the credentials form asks.
CREDENTIAL_SOURCES = (("token", "annotations", "API token"), ("store_key", "feedback sessions", "store API key"),
                      ("jwt", "test sessions", "JWT"))


def missing_credentials(credentials: Mapping[str, str | None]) -> list[str]:
    """What a sync with these credentials leaves unsynced, for want of one: ["feedback sessions", …]."""
    return [what for kind, what, _ in CREDENTIAL_SOURCES if not credentials.get(kind)]


def run_sync(
    wb: Workbench,
    remote: str | None = None,
    progress_cb: SyncProgressCallback | None = None,
    *,
    credentials: dict[str, str | None] | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    push: bool = True,
    pull: bool = True,
    first_sync: str | None = None,
    credential_notes: bool = True,
) -> Report:
    """Push the outbox, then pull; returns the report (``report.stopped`` says why it stopped early).

    A source pulled with no credential for it is said in ``report.notes`` with the CLI's remedy
    (``remotes.credential_advice``); ``credential_notes=False`` leaves that to the caller (the TUI,
    whose remedy is its credentials form: ``missing_credentials``).

    ``credentials`` overrides the keyring/environment (tests, or a front end that just asked
    the user); ``transport`` and ``sleep`` are for tests. A first sync over local work needs
    ``first_sync`` ("merge" or "separate", see ``first_sync.plan``), else it raises
    ``first_sync.ChoiceNeeded`` before anything happens.
    """
    from sync.client import RemoteClient
    from sync.engine import Engine
    from workbench.services import first_sync as first
    from workbench.services import remotes

    r = remotes.find(wb, remote)
    choice = first.parse(first_sync)
    plan = first.plan(wb, r.name)
    if plan is not None and choice is None:
        raise first.ChoiceNeeded(plan)
    secrets = credentials if credentials is not None else remotes.load_secrets(wb, r.name)[0]
    if not any(secrets.values()):
        # unauthenticated, as a rejected credential is: a script gives both the same remedy.
        raise Unauthenticated(f"No credentials for {r.name!r}: {remotes.credential_advice(r.name)}")
    owner = local_user_id(wb)
    with _sync_lock(wb, r.name):
        client = RemoteClient(
            r.url, token=secrets.get("token"), store_key=secrets.get("store_key"), jwt=secrets.get("jwt"), transport=transport,
            sleep=time.sleep if sleep is None else sleep,
        )
        try:
            report = Engine(wb.store, r.name, client, owner_user_id=owner, clock=wb.clock, progress=progress_cb).run(push=push, pull=pull)
            if plan is not None and choice is not None:
                first.settle(wb, plan, choice, client, report)
        finally:
            client.close()
    if pull and report.ok:
        # Said, not skipped in silence: with a token alone, a sync that received nothing read as
        # "nothing new" though the sessions had not been asked for at all. Only after a run that went
        # through: one that could not reach the server pulled nothing, and the note would send the
        # user to the wrong remedy.
        for kind, what, name in CREDENTIAL_SOURCES:
            if credential_notes and not secrets.get(kind):
                report.notes.append(f"{what} were not synced: no {name} is set; {remotes.credential_advice(r.name, kind)}")
    if plan is None and _adopt_as_default(wb, r.name):
        report.notes.append(f"this store now opens the replica of {r.name} by default")
    elif plan is None and r.workspace_id is None and (made := remotes.get(wb, r.name)) is not None and made.workspace_id:
        # A first sync beside an empty local workspace: say where the server's workspace went.
        from workbench.services import workspaces

        label = workspaces.get(wb, made.workspace_id, with_counts=False).label
        report.notes.append(f"the server's workspace is {label!r}, beside this store's own (W in the TUI switches)")
    return report


def _adopt_as_default(wb: Workbench, name: str) -> bool:
    """Make the replica the store's default workspace (what the CLI and the TUI open) when the
    store has no workspace of its own. A local workspace, the demo's included, is never put out
    of view by a sync: the first sync asked what to do with its work (``first_sync``)."""
    db = wb.store.db
    current = accounts_repo.meta_get(db, "bootstrap_workspace")
    if current is not None and sync_state.is_replica(db, current):
        return False
    with wb.store.write() as db:
        remote = sync_state.get_remote(db, name)
        if remote is None or remote.workspace_id is None or not sites_repo.list_sites(db, remote.workspace_id):
            return False
        current = accounts_repo.meta_get(db, "bootstrap_workspace")
        if current is not None and accounts_repo.get_workspace(db, current) is not None:
            return False
        accounts_repo.meta_set(db, "bootstrap_workspace", remote.workspace_id)
        return True


def _audit(wb: Workbench, db: Any, workspace_id: str, action: str, entity_type: str, entity_id: str, detail: dict[str, Any]) -> None:
    """Record a settlement, retry or discard: the local user's doing (the TUI's m/t/r/x, the CLI's
    flags), so the history names that user; a bare "sync" read as "someone on  (via sync)"."""
    from storage import audit as audit_repo

    user = find_local_user(db)
    audit_repo.record(
        db, workspace_id=workspace_id, at=wb.clock(), actor_id=user.id if user else SYNC_ACTOR, action=action,
        entity_type=entity_type, entity_id=entity_id, detail=detail,
    )


# -- conflicts -----------------------------------------------------------------------------


def listed_remotes(wb: Workbench, remote: str | None = None) -> list[str]:
    """The remotes whose rows ``conflicts`` and ``refusals`` list: ``remote``, or every remote that has synced."""
    return [name for name, _ in _replicas(wb, remote)]


def _replicas(wb: Workbench, remote: str | None) -> list[tuple[str, str]]:
    """(remote, the workspace it mirrors) of ``remote``, or of every remote that has synced."""
    rs = sync_state.list_remotes(wb.store.db)
    return [(r.name, r.workspace_id) for r in rs if r.workspace_id and (remote is None or r.name == remote)]


def conflicts(wb: Workbench, remote: str | None = None) -> list[ConflictView]:
    """Open conflicts, oldest first, with the replica's current value as "mine"."""
    db = wb.store.db
    out = []
    for name, ws in _replicas(wb, remote):
        for c in sync_state.list_conflicts(db, ws):
            if c.entity_type == "test_note":
                note = test_sessions_repo.get_note(db, c.entity_id)  # by the server's id, which the conflict names
                mine = note.content if note is not None else c.mine_value
                title = _note_title(db, ws, note.session_id if note is not None else None)
                out.append(ConflictView(c.id, c.entity_type, c.entity_id, c.field, c.base_value, mine, c.theirs_value, title, name))
                continue
            ann = annotations_repo.get_annotation(db, ws, c.entity_id)
            mine = getattr(ann, c.field) if ann is not None else c.mine_value
            title = " ".join((ann.body if ann else c.entity_id).split())[:80]
            out.append(ConflictView(c.id, c.entity_type, c.entity_id, c.field, c.base_value, mine, c.theirs_value, title, name))
    return out


def _note_title(db: Any, workspace_id: str, session_id: str | None) -> str:
    """A test note's conflict named as the Test sessions screen names its session (tester, study),
    not by the session's id, which no screen shows."""
    named = _session_name(db, workspace_id, session_id) if session_id else None
    return f"a note of {named}" if named else f"a note of test session {session_id or '?'}"


def _session_name(db: Any, workspace_id: str, session_id: str) -> str | None:
    """"user_demo205's test session (Search results study)"; None when the replica lacks it."""
    session = test_sessions_repo.get_session(db, workspace_id, session_id)
    if session is None:
        return None
    study = test_sessions_repo.get_study(db, workspace_id, session.job_id)
    return f"{session.tester_id}'s test session" + (f" ({study.name})" if study else "")


def _load_conflict(db: Any, conflict_id: int) -> sync_state.ConflictRow:
    c = sync_state.get_conflict(db, conflict_id)
    if c is None:
        raise NotFound(f"No open conflict {conflict_id}")
    return c


def keep_mine(wb: Workbench, conflict_id: int) -> None:
    """Keep the local value: it is sent on the next sync, over the server's latest version."""
    from workbench.domain.annotations import reopen_clears_summary

    now = wb.clock()
    with wb.store.write() as db:
        c = _load_conflict(db, conflict_id)
        sync_state.delete_conflict(db, c.id)
        if c.entity_type == "test_note":
            # Sent over the server's words: the next push finds them as this change's "before".
            note = test_sessions_repo.get_note(db, c.entity_id)
            if note is not None:
                ops.TEST_NOTES.enqueue(db, c.workspace_id, note.session_id, [(c.entity_id, note.content)], [], now, {c.entity_id: c.theirs_value})
            _audit(wb, db, c.workspace_id, "sync.conflict.keep_mine", c.entity_type, c.entity_id, {"field": c.field, "theirs": c.theirs_value})
            return
        fields = [c.field]
        ann = annotations_repo.get_annotation(db, c.workspace_id, c.entity_id)
        if c.field == "status" and ann is not None and ann.summary is not None and isinstance(c.theirs_value, str):
            # Keeping an open status over the server's close reopens the server's version: the
            # summary the server's close brought ("Fixed in v2") is no longer true (domain rule).
            if "summary" in reopen_clears_summary(c.theirs_value, {"status": ann.status}):
                annotations_repo.update_annotation(db, ann.id, {"summary": None, "updated_at": max(now, ann.updated_at + 1)})
                fields.append("summary")
        ops.ANNOTATION_PATCH.enqueue_fields(db, c.workspace_id, c.entity_id, fields, now)
        _audit(wb, db, c.workspace_id, "sync.conflict.keep_mine", c.entity_type, c.entity_id, {"field": c.field, "theirs": c.theirs_value})


def take_theirs(wb: Workbench, conflict_id: int) -> None:
    """Take the server's value for the field; the local change to it is dropped."""
    now = wb.clock()
    with wb.store.write() as db:
        c = _load_conflict(db, conflict_id)
        if c.entity_type == "test_note":
            sync_state.delete_conflict(db, c.id)
            note = test_sessions_repo.get_note(db, c.entity_id)
            if note is not None:
                test_sessions_repo.update_note(db, note.session_id, c.entity_id, c.theirs_value, now)
            _audit(wb, db, c.workspace_id, "sync.conflict.take_theirs", c.entity_type, c.entity_id,
                   {"field": c.field, "mine": note.content if note is not None else None})
            return
        base = sync_state.get_base(db, c.entity_type, c.entity_id)
        theirs = base.fields.get(c.field) if base is not None else c.theirs_value
        ann = annotations_repo.get_annotation(db, c.workspace_id, c.entity_id)
        sync_state.delete_conflict(db, c.id)
        if ann is not None:
            annotations_repo.update_annotation(db, ann.id, {c.field: theirs, "updated_at": max(now, ann.updated_at + 1)})
            sync_state.drop_base_if_settled(db, c.workspace_id, ann.id)
        _audit(wb, db, c.workspace_id, "sync.conflict.take_theirs", c.entity_type, c.entity_id, {"field": c.field, "mine": getattr(ann, c.field, None)})


def settle(wb: Workbench, *, keep_mine_ids: list[int], take_theirs_ids: list[int]) -> None:
    """Settle several conflicts in one transaction, all or nothing: an id in both lists or one
    that is not open refuses the whole request (naming every such id) before anything changes,
    so the outcome never depends on the order the ids were given in."""
    both = sorted(set(keep_mine_ids) & set(take_theirs_ids))
    if both:
        raise Invalid(f"Conflict {', '.join(map(str, both))}: keep mine or take theirs, not both")
    with wb.store.write() as db:
        missing = [cid for cid in dict.fromkeys([*keep_mine_ids, *take_theirs_ids]) if sync_state.get_conflict(db, cid) is None]
        if missing:
            raise NotFound(f"No open conflict {', '.join(map(str, missing))}: nothing was settled")
        for cid in dict.fromkeys(keep_mine_ids):
            keep_mine(wb, cid)
        for cid in dict.fromkeys(take_theirs_ids):
            take_theirs(wb, cid)


# -- refusals ------------------------------------------------------------------------------


def refusals(wb: Workbench, remote: str | None = None) -> list[RefusalView]:
    """Changes the server refused, with its reason, until retried or discarded."""
    db = wb.store.db
    return [
        RefusalView(e.seq, e.op, e.entity_id, e.last_status, e.last_error, _summary(db, e), e.updated_at, name)
        for name, ws in _replicas(wb, remote)
        for e in sync_state.entries(db, ws, "refused")
    ]


def _summary(db: Any, e: sync_state.Entry) -> str:
    """The op's one-line summary, a test session in it named by its tester and study (as the Test
    sessions screen shows it) instead of its id, which no screen shows. The ops of ``sync/`` name
    the session by id ("pause test session sess_…"): they hold no store to read names from."""
    text = ops.op_for(e.op).summary(e)
    if e.entity_type != "test_session":
        return text
    named = _session_name(db, e.workspace_id, e.entity_id)
    return text.replace(f"test session {e.entity_id}", named) if named else text


def _load_refused(db: Any, seq: int) -> sync_state.Entry:
    e = sync_state.get_entry(db, seq)
    if e is None or e.state != "refused":
        raise NotFound(f"No refused change {seq}")
    return e


def retry(wb: Workbench, seq: int) -> str:
    """Send a refused change again on the next sync (e.g. after fixing what the server objected to).
    Returns the change's summary."""
    with wb.store.write() as db:
        e = _load_refused(db, seq)
        sync_state.update_entry(db, seq, state="pending", last_error=None, last_status=None, ambiguous=False, updated_at=wb.clock())
        _audit(wb, db, e.workspace_id, "sync.refusal.retry", e.entity_type, e.entity_id, {"op": e.op})
        return _summary(db, e)


def discard(wb: Workbench, seq: int) -> str:
    """Give up a refused change and undo it in the replica, so it matches the server again.
    Returns the change's summary."""
    with wb.store.write() as db:
        e = _load_refused(db, seq)
        summary = _summary(db, e)
        ops.op_for(e.op).discard(db, e, wb.clock())
        _audit(wb, db, e.workspace_id, "sync.refusal.discard", e.entity_type, e.entity_id, {"op": e.op, "reason": e.last_error})
        return summary


def act_on_refusals(wb: Workbench, seqs: Iterable[int], *, discard_them: bool) -> list[RefusalOutcome]:
    """Retry (or discard) each refused change in ``seqs``, in the order given, each in its own
    transaction: an id that is not a refused change is reported as such and the others are still
    done (unlike ``settle``'s all or nothing: each retry or discard stands alone). An id given
    twice is acted on once."""
    act = discard if discard_them else retry
    done_text = DISCARDED if discard_them else RETRIED
    out: list[RefusalOutcome] = []
    for seq in dict.fromkeys(seqs):
        entry = sync_state.get_entry(wb.store.db, seq)
        try:
            summary = act(wb, seq)
        except DomainError as exc:
            out.append(RefusalOutcome(seq, False, exc.message, None))
        else:
            waits = discard_them and entry is not None and not discard_undoes_now(entry.op)
            out.append(RefusalOutcome(seq, True, DISCARDED_UNTIL_PULL if waits else done_text, summary))
    return out
