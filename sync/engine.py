"""Push and pull of one replica against one remote, through the documented API only.

A sync run is: push the outbox in order, then pull. Pulling after pushing means the server
has already judged every local change (accepted, merged or refused) when its state comes
down, and a run that stopped on an ambiguous write (no answer from the server) never pulls:
the entry is reconciled first on the next run, so the replica cannot show a change twice.

Push, per entry (every entry carries the ``Idempotency-Key`` chosen when it was enqueued):

- ``annotation.patch``: the fields the entry names are sent with the values the replica
  holds *now*, but only where they differ from the base (the last server version) and have
  no open conflict. When the server offers ETags the PATCH is a compare-and-set
  (``If-Match``); a 412 re-reads the annotation, merges, and tries again. Without ETags the
  annotation is re-read just before the PATCH (merge first, then send), which narrows the
  window as far as the documented API allows.
- ``annotation.reply`` / ``annotation.resolution`` / ``annotation.run_personas``: POSTs.
  An entry is flagged as sent (in its own commit) before each send. If a previous send got
  no definite answer (connection broke, 5xx, or the process died), the thread is read first
  and a matching server row not known before the first send is taken as the effect of that
  send; only when none is found is the request sent again (with the same key). This keeps
  exactly-once even against a server that lost its idempotency record in a crash.
  Resolution evidence goes through the documented presigned flow (upload-url, PUT, then the
  resolution with the returned keys); each step's result is saved so a retry resumes.

Sessions (with the store key / JWT, when the remote has them) are mirrored from their lists:
feedback rounds and, for rounds not finished, their comments; studies (the bundled server's
``GET /api/studies`` extension, else the study ids configured on the remote), their test
sessions (the ``GET /api/sessions?jobId=`` extension, else each known session's documented
detail) and notes. Their outbox entries carry the transition the user made; a refused one
(say, finalize on a round someone else already finished) stays visible with the reason.

Pull: sites, personas, then per site the annotations (``since`` + cursor, one transaction
per page, the cursor saved with each page so an interrupted pull resumes), then the threads:
from the bundled server's extension ``GET /api/v1/sites/{id}/thread-changes`` when offered,
else from each moved annotation's documented detail. The next ``since`` is the server's clock
(its ``Date`` header) when the run started, minus a margin that covers writes which took
their timestamp before the run began but committed after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from storage import accounts as accounts_repo
from storage import annotations as annotations_repo
from storage import sync_sessions as sessions_state
from storage import sync_state as state
from storage.db import Store
from sync import wire
from sync.client import Ambiguous, AuthFailed, Refused, RemoteClient, Response, SyncError, Unavailable
from workbench.domain.clock import new_id, now_ms
from workbench.domain.merge import ANNOTATION_FIELDS
from workbench.domain.records import Workspace
from workbench.domain.session_records import Storefront, Study, iso_s

PAGE_SIZE = 200
THREAD_PAGE_SIZE = 500
MARGIN_MS = 10_000
RECONCILE_SKEW_MS = 5 * 60_000
MAX_CAS_ROUNDS = 5
CRASH_ENV = "WORKBENCH_SYNC_CRASH_AT"

Progress = Callable[[str, int, "int | None"], None]


_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process at a named point.

    ``WORKBENCH_SYNC_CRASH_AT=push:after_send`` kills at the first pass, ``…=pull:after_page:3``
    at the third. Points: ``push:before_send`` (the entry is flagged, nothing sent),
    ``push:after_send`` (the server applied it, the replica has not recorded that),
    ``pull:after_page`` (a page committed, the pull unfinished).
    """
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or not wanted.startswith(name):
        return
    point, _, nth = wanted.partition(name)[2].partition(":")
    if point:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Report:
    sent: int = 0
    received: int = 0
    conflicts: int = 0
    refused: int = 0
    pending: int = 0
    requests: int = 0
    stopped: str | None = None  # why the run ended early (None: it completed)
    auth_failed: str | None = None  # which credential a 401 rejected
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stopped is None


class _RestartRun(Exception):
    pass


class Engine:
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
        self.store = store
        self.name = remote_name
        self.client = client
        self.owner_user_id = owner_user_id
        self.clock = clock
        self.progress = progress or (lambda phase, done, total: None)
        self.report = Report()
        self._sending: int | None = None  # the outbox entry whose request is about to leave
        remote = state.get_remote(store.db, remote_name)
        if remote is None:
            raise SyncError(f"no remote named {remote_name!r}")
        self.remote = remote

    # -- the run ---------------------------------------------------------------------------
    def run(self, *, push: bool = True, pull: bool = True) -> Report:
        error: str | None = None
        try:
            if push and self.remote.workspace_id is not None:
                self.push()
            if pull:
                self.pull()
        except AuthFailed as exc:
            self.report.stopped = error = f"credentials rejected ({exc.credential.replace('_', ' ')}): {exc.reason}"
            self.report.auth_failed = exc.credential
        except Ambiguous as exc:
            self.report.stopped = error = f"no answer from the server for a write; it will be checked on the next sync ({exc.reason})"
        except Unavailable as exc:
            self.report.stopped = error = exc.reason
        except Refused as exc:
            self.report.stopped = error = f"the server refused a read ({exc.status}): {exc.reason}"
        finally:
            self.report.requests = self.client.requests
            with self.store.write() as db:
                values: dict[str, Any] = {"last_error": error}
                if error is None:
                    values["last_sync_at"] = self.clock()
                state.update_remote(db, self.name, **values)
                if self.remote.workspace_id:
                    self.report.pending = state.count_entries(db, self.remote.workspace_id).get("pending", 0)
        return self.report

    def _capability(self, name: str) -> Any:
        return self.remote.capabilities.get(name)

    def _set_capability(self, name: str, value: Any) -> None:
        if self.remote.capabilities.get(name) == value:
            return
        self.remote.capabilities[name] = value
        with self.store.write() as db:
            state.update_remote(db, self.name, capabilities=self.remote.capabilities)

    @property
    def ws(self) -> str:
        assert self.remote.workspace_id is not None
        return self.remote.workspace_id

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
                self._sending = None
                try:
                    if self._push_one(current):
                        self.report.sent += 1
                except Unavailable:
                    if self._sending == current.seq:
                        # This attempt never reached the server (the client raises Unavailable
                        # only then), so the entry is as unsent as before: it must not be
                        # matched against other replicas' identical rows on the next run.
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
        credential = {"annotation": "token", "feedback": "store_key", "test": "jwt"}.get(e.op.split(".")[0], "token")
        if not self.client.has(credential):
            note = f"changes needing the {credential.replace('_', ' ')} wait until it is set"
            if note not in self.report.notes:
                self.report.notes.append(note)
            return False
        handler = {
            "annotation.patch": self._push_patch,
            "annotation.reply": self._push_reply,
            "annotation.resolution": self._push_resolution,
            "annotation.run_personas": self._push_run_personas,
            "feedback.action": self._push_feedback_action,
            "feedback.comment": self._push_feedback_comment,
            "test.notes": self._push_test_notes,
            "test.feedback": self._push_test_feedback,
        }.get(e.op)
        if handler is None and e.op.startswith("test."):
            handler = self._push_test_action
        if handler is None:
            raise Refused(f"this version cannot send {e.op}", None)
        return handler(e)

    def _mark_sending(self, e: state.Entry, **payload: Any) -> None:
        """Before a send: count it and flag the entry (a crash after this is checked next run)."""
        merged = {**e.payload, **payload}
        merged.setdefault("first_sent_at", self.clock())
        with self.store.write() as db:
            state.update_entry(db, e.seq, attempts=e.attempts + 1, ambiguous=True, payload=merged, updated_at=self.clock())
        e.payload = merged
        e.attempts += 1
        e.ambiguous = True
        self._sending = e.seq
        crash_point("push:before_send")

    def _save_payload(self, e: state.Entry, **payload: Any) -> None:
        e.payload = {**e.payload, **payload}
        with self.store.write() as db:
            state.update_entry(db, e.seq, payload=e.payload, updated_at=self.clock())

    def _detail(self, annotation_id: str) -> Response:
        resp = self.client.get(f"/api/v1/annotations/{annotation_id}", ok=(404,))
        if resp.status == 404:
            raise Refused("Annotation not found on the server", 404)
        self._set_capability("etag", bool(resp.headers.get("etag")))
        return resp

    def apply_detail(self, resp: Response, exclude_seq: int | None = None) -> None:
        d = resp.data
        ann = wire.annotation(d, self.ws)
        etag = resp.headers.get("etag")
        replies = [wire.reply(r, self.ws, ann.id) for r in d.get("replies") or []]
        resolutions = [wire.resolution(r, self.ws, ann.id) for r in d.get("resolutions") or []]
        with self.store.write() as db:
            applied = state.apply_annotations(db, [ann], at=self.clock(), etags={ann.id: etag} if etag else None, exclude_seq=exclude_seq)
            state.apply_replies(db, replies)
            state.apply_resolutions(db, resolutions)
            if etag:
                state.set_annotation_etag(db, ann.id, etag, ann.version)
        self.report.conflicts += applied.conflicts

    # patch ---------------------------------------------------------------------------------
    def _push_patch(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        fields = [f for f in e.payload.get("fields", []) if f in ANNOTATION_FIELDS]
        refreshed = False
        for _ in range(MAX_CAS_ROUNDS):
            db = self.store.db
            local = annotations_repo.get_annotation(db, self.ws, ann_id)
            base = state.get_base(db, "annotation", ann_id)
            if local is None or base is None:
                self._drop(e)
                return False
            blocked = set(state.open_conflicts(db, "annotation", ann_id))
            send = {f: getattr(local, f) for f in fields if getattr(local, f) != base.fields.get(f) and f not in blocked}
            if not send:
                self._drop(e, cleanup=ann_id)
                return False
            if not refreshed and (base.etag is None or self._capability("etag") is False):
                # Learn the server's current version (and ETag) and merge it in before sending.
                self.apply_detail(self._detail(ann_id), exclude_seq=e.seq)
                refreshed = True
                continue
            headers = {"Idempotency-Key": e.idempotency_key}
            if base.etag and self._capability("etag") is not False:
                headers["If-Match"] = base.etag
            crash_point("push:before_send")
            resp = self.client.request("PATCH", f"/api/v1/annotations/{ann_id}", json=send, headers=headers, ok=(412,))
            crash_point("push:after_send")
            if resp.status == 412:
                self.apply_detail(self._detail(ann_id), exclude_seq=e.seq)
                refreshed = True
                continue
            server = wire.annotation(resp.data, self.ws)
            etag = resp.headers.get("etag")
            with self.store.write() as db:
                state.delete_entry(db, e.seq)
                applied = state.apply_annotations(
                    db, [server], at=self.clock(), sent={ann_id: send}, etags={ann_id: etag} if etag else None, exclude_seq=e.seq
                )
            self.report.conflicts += applied.conflicts
            return True
        raise Unavailable(f"annotation {ann_id} kept changing on the server; try again")

    def _drop(self, e: state.Entry, cleanup: str | None = None) -> None:
        """Nothing left to send for this entry (values already equal the server's)."""
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            if cleanup is not None and not state.patch_fields_pending(db, cleanup) and not state.open_conflicts(db, "annotation", cleanup):
                local = annotations_repo.get_annotation(db, self.ws, cleanup)
                base = state.get_base(db, "annotation", cleanup)
                if local is not None and base is not None and all(getattr(local, f) == base.fields.get(f) for f in ANNOTATION_FIELDS):
                    state.delete_base(db, "annotation", cleanup)

    # replies -------------------------------------------------------------------------------
    def _known_thread(self, annotation_id: str) -> dict[str, list[str]]:
        db = self.store.db
        return {"known": sorted(state.reply_ids(db, annotation_id) | state.resolution_ids(db, annotation_id))}

    def _candidates(self, e: state.Entry, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Server rows that may be the effect of this entry's earlier, unanswered send."""
        known = set(e.payload.get("known", []))
        since = int(e.payload.get("first_sent_at", 0)) - RECONCILE_SKEW_MS
        db = self.store.db
        return [
            r for r in rows
            if r["id"] not in known and not state.is_mapped_remote(db, r["id"]) and (wire.iso_to_ms(r.get("created_at")) or 0) >= since
        ]

    def _push_reply(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        body = {"body": e.payload["body"], "author_name": e.payload.get("author_name") or None}
        body = {k: v for k, v in body.items() if v is not None}
        if e.ambiguous:
            detail = self._detail(ann_id).data
            for r in self._candidates(e, detail.get("replies") or []):
                if r.get("body") == body["body"] and (r.get("author") or {}).get("name") == body.get("author_name", (r.get("author") or {}).get("name")):
                    self._finish_reply(e, wire.reply(r, self.ws, ann_id))
                    return True
        self._mark_sending(e, **({} if "known" in e.payload else self._known_thread(ann_id)))
        resp = self.client.request(
            "POST", f"/api/v1/annotations/{ann_id}/replies", json=body, headers={"Idempotency-Key": e.idempotency_key},
            safe_to_resend=False,
        )
        crash_point("push:after_send")
        self._finish_reply(e, wire.reply(resp.data, self.ws, ann_id))
        return True

    def _finish_reply(self, e: state.Entry, server: Any) -> None:
        with self.store.write() as db:
            if e.local_id:
                state.replace_local_reply(db, e.local_id, server, self.clock())
            else:
                state.apply_replies(db, [server])
            state.delete_entry(db, e.seq)

    # resolutions ---------------------------------------------------------------------------
    def _upload(self, e: state.Entry, kind: str, local_key: str) -> str:
        db = self.store.db
        upload = annotations_repo.get_upload(db, local_key)
        path = self.store.upload_path(local_key)
        if upload is None or not path.is_file():
            raise Refused(f"the {kind} evidence file ({local_key}) is missing from this store", None)
        data = path.read_bytes()
        for _ in range(3):
            n = int(e.payload.get("presign", {}).get(kind, 0))
            pre = self.client.request(
                "POST", f"/api/v1/annotations/{e.entity_id}/resolutions/upload-url",
                json={"kind": kind, "content_type": upload["content_type"]},
                headers={"Idempotency-Key": f"{e.idempotency_key}:{kind}:{n}"}, safe_to_resend=True,
            ).data
            put = self.client.request(
                pre.get("method") or "PUT", pre["url"], credential=None, content=data,
                headers=pre.get("headers") or {"Content-Type": upload["content_type"]}, ok=(403,),
            )
            if put.status != 403:
                return str(pre["key"])
            # An expired (replayed) presign: ask for a fresh one under a new key.
            self._save_payload(e, presign={**e.payload.get("presign", {}), kind: n + 1})
        raise Refused(f"the server refused the {kind} evidence upload", 403)

    def _push_resolution(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        server_keys: dict[str, str] = dict(e.payload.get("server_keys", {}))
        for kind in ("before", "after"):
            local_key = e.payload.get(f"{kind}_key")
            if local_key and kind not in server_keys:
                server_keys[kind] = self._upload(e, kind, local_key)
                self._save_payload(e, server_keys=server_keys)
        body = {
            "before_key": server_keys.get("before"),
            "after_key": server_keys.get("after"),
            "diff_url": e.payload.get("diff_url"),
            "explanation": e.payload.get("explanation"),
        }
        body = {k: v for k, v in body.items() if v is not None}
        if e.ambiguous:
            detail = self._detail(ann_id).data
            for r in self._candidates(e, detail.get("resolutions") or []):
                if all(r.get(k) == body.get(k) for k in ("before_key", "after_key", "diff_url", "explanation")):
                    self._finish_resolution(e, wire.resolution(r, self.ws, ann_id), server_keys)
                    return True
        self._mark_sending(e, **({} if "known" in e.payload else self._known_thread(ann_id)))
        resp = self.client.request(
            "POST", f"/api/v1/annotations/{ann_id}/resolutions", json=body, headers={"Idempotency-Key": e.idempotency_key},
            safe_to_resend=False,
        )
        crash_point("push:after_send")
        self._finish_resolution(e, wire.resolution(resp.data, self.ws, ann_id), server_keys)
        return True

    def _finish_resolution(self, e: state.Entry, server: Any, server_keys: dict[str, str]) -> None:
        moves = []
        for kind, key in server_keys.items():
            local_key = e.payload.get(f"{kind}_key")
            if local_key and local_key != key:
                src, dst = self.store.upload_path(local_key), self.store.upload_path(key)
                if src.is_file() and not dst.exists():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    with contextlib.suppress(OSError):
                        os.link(src, dst)
                    if not dst.exists():
                        dst.write_bytes(src.read_bytes())
                moves.append((local_key, key))
        with self.store.write() as db:
            for old, new in moves:
                state.rekey_upload(db, old, new)
            if e.local_id:
                state.replace_local_resolution(db, e.local_id, server, self.clock())
            else:
                state.apply_resolutions(db, [server])
            state.delete_entry(db, e.seq)
        for old, _ in moves:
            with contextlib.suppress(OSError):
                self.store.upload_path(old).unlink()

    # run-personas --------------------------------------------------------------------------
    def _push_run_personas(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        persona_ids: list[str] = list(e.payload.get("persona_ids", []))
        if e.ambiguous and persona_ids:
            detail = self._detail(ann_id).data
            found: dict[str, dict[str, Any]] = {}
            for r in self._candidates(e, detail.get("replies") or []):
                pid = r.get("persona_id")
                if pid in persona_ids and pid not in found:
                    found[pid] = r
            if len(found) == len(set(persona_ids)):
                self._finish_run(e, [found[p] for p in dict.fromkeys(persona_ids)])
                return True
        self._mark_sending(e, **({} if "known" in e.payload else self._known_thread(ann_id)))
        resp = self.client.request(
            "POST", f"/api/v1/annotations/{ann_id}/run-personas", json={"persona_ids": persona_ids},
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=False,
        )
        crash_point("push:after_send")
        self._finish_run(e, list(resp.data.get("replies") or []))
        return True

    def _finish_run(self, e: state.Entry, replies: list[dict[str, Any]]) -> None:
        server = [wire.reply(r, self.ws, e.entity_id) for r in replies]
        local_ids: list[str] = list(e.payload.get("reply_ids", []))
        with self.store.write() as db:
            state.delete_replies(db, local_ids)
            state.apply_replies(db, server)
            for local_id, s in zip(local_ids, server, strict=False):
                state.map_id(db, local_id, s.id, "reply", self.clock())
            state.delete_entry(db, e.seq)

    # -- pull ------------------------------------------------------------------------------
    def pull(self) -> None:
        if self.client.has("token"):
            self._pull_annotation_side()
        else:
            self._ensure_replica([])
        if self.client.has("store_key"):
            self._pull_feedback()
        if self.client.has("jwt"):
            self._pull_tests()

    def _pull_annotation_side(self) -> None:
        self.progress("sites", 0, None)
        resp = self.client.get("/api/v1/sites")
        sites = list(resp.data.get("items") or [])
        self._ensure_replica(sites)
        digest = hashlib.sha256(resp.content).hexdigest()
        if digest != state.get_digest(self.store.db, self.name, "sites"):
            with self.store.write() as db:
                for s in sites:
                    state.upsert_site(db, wire.site(s, self.ws, secrets.token_hex(16)))
                state.set_digest(db, self.name, "sites", digest)
        self._pull_personas()
        if self._capability("thread_feed") is None and sites:
            probe = self.client.get(f"/api/v1/sites/{sites[0]['id']}/thread-changes", params={"limit": 1}, ok=(404, 405))
            self._set_capability("thread_feed", probe.status == 200)
        for s in sites:
            label = s.get("name") or s["id"]
            run_next = self._pull_annotations(s["id"], label)
            if self._capability("thread_feed"):
                self._pull_thread_feed(s["id"], label, run_next)
        if not self._capability("thread_feed"):
            self._pull_thread_details()

    def _ensure_replica(self, sites: list[dict[str, Any]]) -> None:
        if self.remote.workspace_id is not None:
            return
        ws_id = next((s["workspace_id"] for s in sites if s.get("workspace_id")), None) or new_id(self.clock())
        now = self.clock()
        with self.store.write() as db:
            existing = accounts_repo.get_workspace(db, ws_id)
            if existing is not None and state.remote_of_workspace(db, ws_id) not in (None, self.name):
                raise SyncError(f"workspace {ws_id} is already the replica of another remote")
            if existing is None:
                accounts_repo.add_workspace(db, Workspace(id=ws_id, name=f"{self.name} ({self.remote.url})", created_at=now))
            accounts_repo.set_membership(db, ws_id, self.owner_user_id, "OWNER", now)
            state.update_remote(db, self.name, workspace_id=ws_id)
        self.remote.workspace_id = ws_id

    def _pull_personas(self) -> None:
        resp = self.client.get("/api/personas/mine", ok=(403, 404))
        if resp.status != 200:
            return
        digest = hashlib.sha256(resp.content).hexdigest()
        if digest == state.get_digest(self.store.db, self.name, "personas"):
            return  # unchanged since the last sync: nothing to write
        personas = [wire.persona(p, self.ws) for p in resp.data.get("items") or []]
        with self.store.write() as db:
            state.mirror_personas(db, self.ws, personas)
            state.set_digest(db, self.name, "personas", digest)

    def _pages(self, path: str, params: dict[str, Any], cursor: str | None, parse: Callable[[list[dict[str, Any]]], Any]) -> Iterator[tuple[Response, Any]]:
        """Pages of a cursor listing; after the first, a helper thread fetches one page ahead
        while the caller applies the previous one (a one-page listing starts no thread)."""

        def fetch(cur: str | None) -> tuple[Response, Any]:
            p = dict(params)
            if cur:
                p["cursor"] = cur
            resp = self.client.get(path, params=p, ok=(400,))
            return resp, (cur, parse(resp.data.get("items") or []) if resp.status == 200 else None)

        first = fetch(cursor)
        yield first
        nxt = first[0].data.get("next_cursor") if first[0].status == 200 else None
        if not nxt:
            return
        q: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce() -> None:
            cur = nxt
            try:
                while not stop.is_set():
                    resp, extra = fetch(cur)
                    q.put(("page", resp, extra))
                    if resp.status != 200:
                        return
                    cur = resp.data.get("next_cursor")
                    if not cur:
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                q.put(("error", exc, None))
            finally:
                q.put(("end", None, None))

        worker = threading.Thread(target=produce, name="sync-pages", daemon=True)
        worker.start()
        try:
            while True:
                kind, resp, extra = q.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise resp
                yield resp, extra
        finally:
            stop.set()
            while worker.is_alive():
                with contextlib.suppress(queue.Empty):
                    q.get(timeout=0.05)

    def _pull_annotations(self, site_id: str, label: str) -> int:
        resource = f"annotations:{site_id}"
        try:
            return self._pull_annotation_run(site_id, label, resource, restart=False)
        except _RestartRun:
            return self._pull_annotation_run(site_id, label, resource, restart=True)

    def _pull_annotation_run(self, site_id: str, label: str, resource: str, *, restart: bool) -> int:
        st = state.get_pull(self.store.db, self.name, resource)
        if st.in_run:
            since, run_next, cursor = st.run_since, st.run_next, None if restart else st.run_cursor
        else:
            since, run_next, cursor = st.watermark, None, None
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if since is not None:
            params["since"] = since
        ws = self.ws
        fallback = not self._capability("thread_feed")
        received = 0
        self.progress(f"annotations · {label}", 0, None)

        def parse(items: list[dict[str, Any]]) -> list[Any]:
            return [wire.annotation(d, ws) for d in items]

        for resp, (used_cursor, anns) in self._pages(f"/api/v1/sites/{site_id}/annotations", params, cursor, parse):
            if resp.status == 400:
                if used_cursor and not restart:
                    raise _RestartRun  # the server no longer accepts the saved cursor: redo this run
                raise Refused(str(resp.data.get("detail") if isinstance(resp.data, dict) else resp.content[:200]), 400)
            if run_next is None:
                run_next = (resp.server_time_ms() or self.clock() - 60_000) - MARGIN_MS
            nxt = resp.data.get("next_cursor")
            with self.store.write() as db:
                applied = state.apply_annotations(db, anns, at=self.clock())
                if fallback and applied.thread_moved:
                    state.add_todo(db, self.name, "thread", applied.thread_moved)
                if nxt:
                    state.save_pull(db, self.name, resource, state.PullState(st.watermark, since, run_next, nxt, True))
                else:
                    state.save_pull(db, self.name, resource, state.PullState(run_next, None, None, None, False))
            received += len(anns)
            self.report.received += applied.inserted + applied.updated
            self.report.conflicts += applied.conflicts
            self.progress(f"annotations · {label}", received, None)
            crash_point("pull:after_page")
        assert run_next is not None
        return run_next

    def _pull_thread_feed(self, site_id: str, label: str, annotations_next: int) -> None:
        resource = f"threads:{site_id}"
        st = state.get_pull(self.store.db, self.name, resource)
        if st.in_run:
            since, run_next, cursor = st.run_since, st.run_next, st.run_cursor
        else:
            since, run_next, cursor = st.watermark, None, None
        params: dict[str, Any] = {"limit": THREAD_PAGE_SIZE}
        if since is not None:
            params["since"] = since
        ws = self.ws
        count = 0

        def parse(items: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
            replies = [wire.reply(i["data"], ws) for i in items if i.get("kind") == "reply"]
            resolutions = [wire.resolution(i["data"], ws) for i in items if i.get("kind") == "resolution"]
            return replies, resolutions

        for resp, (_, parsed) in self._pages(f"/api/v1/sites/{site_id}/thread-changes", params, cursor, parse):
            if resp.status == 400:
                # A stale cursor: forget the run, the next sync starts it again from `since`.
                with self.store.write() as db:
                    state.save_pull(db, self.name, resource, state.PullState(st.watermark, None, None, None, False))
                return
            if run_next is None:
                # Replies of annotations this sync has not seen yet are skipped, so never move
                # past the annotations' own next `since`.
                run_next = min((resp.server_time_ms() or self.clock() - 60_000) - MARGIN_MS, annotations_next)
            replies, resolutions = parsed
            nxt = resp.data.get("next_cursor")
            with self.store.write() as db:
                n = state.apply_replies(db, replies) + state.apply_resolutions(db, resolutions)
                if nxt:
                    state.save_pull(db, self.name, resource, state.PullState(st.watermark, since, run_next, nxt, True))
                else:
                    state.save_pull(db, self.name, resource, state.PullState(run_next, None, None, None, False))
            count += len(replies) + len(resolutions)
            self.report.received += n
            self.progress(f"threads · {label}", count, None)

    def _pull_thread_details(self) -> None:
        ids = state.todo(self.store.db, self.name, "thread")
        for i, ann_id in enumerate(ids):
            self.progress("threads", i, len(ids))
            resp = self.client.get(f"/api/v1/annotations/{ann_id}", ok=(404,))
            if resp.status == 200:
                self.apply_detail(resp)
            with self.store.write() as db:
                state.done_todo(db, self.name, "thread", ann_id)
        if ids:
            self.progress("threads", len(ids), len(ids))

    # -- feedback sessions -----------------------------------------------------------------
    def _store_id(self) -> str:
        if self.remote.store_id:
            return self.remote.store_id
        store = Storefront(id=new_id(self.clock()), workspace_id=self.ws, name=f"{self.name} store", ai_built=True, created_at=self.clock())
        with self.store.write() as db:
            sessions_state.ensure_store(db, store)
            state.update_remote(db, self.name, store_id=store.id)
        self.remote.store_id = store.id
        return store.id

    def _pull_feedback(self) -> None:
        store_id = self._store_id()
        self.progress("feedback sessions", 0, None)
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.client.get("/api/v1/feedback-sessions", credential="store_key", params={"limit": 100, "offset": offset}).data
            batch = list(page.get("data") or [])
            items += batch
            if len(batch) < 100:
                break
            offset += len(batch)
        records = [wire.feedback_session(d, store_id) for d in items]
        with self.store.write() as db:
            changed = set(sessions_state.apply_feedback_sessions(db, records))
        self.report.received += len(changed)
        for i, r in enumerate(records):
            self.progress("feedback sessions", i, len(records))
            key = f"comments:{r.id}"
            known = state.get_digest(self.store.db, self.name, key)
            if r.status in sessions_state.FINAL_FEEDBACK and r.id not in changed and known is not None:
                continue  # a finished round's comments no longer change
            resp = self.client.get(f"/api/v1/feedback-sessions/{r.id}/comments", credential="store_key", ok=(404,))
            if resp.status != 200:
                continue
            digest = hashlib.sha256(resp.content).hexdigest()
            if digest == known:
                continue
            comments = [wire.feedback_comment(c, r.id) for c in resp.data.get("data") or []]
            with self.store.write() as db:
                if sessions_state.feedback_session_row(db, r.id) is None:
                    continue  # its round could not be mirrored yet (see apply_feedback_sessions)
                self.report.received += sessions_state.apply_feedback_comments(db, r.id, comments, self.clock())
                state.set_digest(db, self.name, key, digest)
        self.progress("feedback sessions", len(records), len(records))

    def _push_feedback_action(self, e: state.Entry) -> bool:
        sid, p = e.entity_id, e.payload
        store_id = self._store_id()
        if e.ambiguous:
            cur = self.client.get(f"/api/v1/feedback-sessions/{sid}", credential="store_key", ok=(404,))
            if cur.status == 200 and cur.data.get("status") == p.get("to"):
                self._finish_feedback(e, cur.data, store_id)
                return True
        self._mark_sending(e)
        action = str(p["action"])
        body = {"errorMessage": p["error_message"]} if action == "builder_failed" and p.get("error_message") else None
        resp = self.client.request(
            "POST", f"/api/v1/feedback-sessions/{sid}/{action.replace('_', '-')}", credential="store_key", json=body,
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=False,
        )
        crash_point("push:after_send")
        self._finish_feedback(e, resp.data, store_id)
        return True

    def _finish_feedback(self, e: state.Entry, data: dict[str, Any], store_id: str) -> None:
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            sessions_state.apply_feedback_sessions(db, [wire.feedback_session(data, store_id)])

    def _push_feedback_comment(self, e: state.Entry) -> bool:
        p = e.payload
        verb = "resolve" if p.get("resolved") else "reopen"
        resp = self.client.request(  # resolve/reopen are idempotent on the server: safe to resend
            "POST", f"/api/v1/feedback-sessions/{p['session_id']}/comments/{e.entity_id}/{verb}", credential="store_key",
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=True,
        )
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            sessions_state.apply_feedback_comments(db, p["session_id"], [wire.feedback_comment(resp.data, p["session_id"])], self.clock())
        return True

    # -- test sessions ---------------------------------------------------------------------
    def _pull_tests(self) -> None:
        self.progress("studies", 0, None)
        resp = self.client.get("/api/studies", credential="jwt", ok=(404, 405))
        if resp.status == 200:
            studies = [wire.study(d, self.ws) for d in (resp.data.get("data") or {}).get("studies") or []]
        else:
            studies = [Study(id=j, workspace_id=self.ws, name=j, created_at=0) for j in self.remote.study_ids]
            if not studies:
                self.report.notes.append("no studies to sync: name them with `workbench remote add … --study JOB_ID`")
        with self.store.write() as db:
            for st in studies:
                sessions_state.upsert_study(db, st)
        for st in studies:
            self._pull_study(st.id)

    def _pull_study(self, job_id: str) -> None:
        label = f"test sessions · {job_id}"
        self.progress(label, 0, None)
        items: list[dict[str, Any]] = []
        offset = 0
        listed = True
        while True:
            resp = self.client.get("/api/sessions", credential="jwt", params={"jobId": job_id, "limit": 100, "offset": offset}, ok=(404, 405))
            if resp.status != 200:
                listed = False
                break
            batch = list((resp.data.get("data") or {}).get("sessions") or [])
            items += batch
            if len(batch) < 100:
                break
            offset += len(batch)
        if not listed:
            # Documented API only: refresh the sessions this replica already knows, one by one.
            for sid in sessions_state.test_session_ids(self.store.db, job_id):
                one = self.client.get(f"/api/sessions/{sid}", credential="jwt", ok=(404,))
                if one.status == 200:
                    items.append(one.data.get("data") or {})
        records = [wire.test_session(d) for d in items if d.get("sessionId")]
        with self.store.write() as db:
            self.report.received += len(sessions_state.apply_test_sessions(db, records, self.clock()))
        for i, r in enumerate(records):
            self.progress(label, i, len(records))
            self._pull_notes(r.id)
        self.progress(label, len(records), len(records))

    def _pull_notes(self, session_id: str) -> None:
        resp = self.client.get(f"/api/sessions/{session_id}/notes", credential="jwt", ok=(404,))
        if resp.status != 200:
            return
        key = f"notes:{session_id}"
        digest = hashlib.sha256(resp.content).hexdigest()
        if digest == state.get_digest(self.store.db, self.name, key):
            return
        notes = [wire.test_note(n, session_id) for n in (resp.data.get("data") or {}).get("notes") or []]
        with self.store.write() as db:
            self.report.received += sessions_state.apply_test_notes(db, session_id, notes, self.clock())
            state.set_digest(db, self.name, key, digest)

    _STAGE = {"active": 0, "paused": 0, "completed": 1, "analyzing": 2, "analyzed": 3, "confirmed": 4}

    def _push_test_action(self, e: state.Entry) -> bool:
        sid, p = e.entity_id, e.payload
        action = e.op.split(".", 1)[1]
        values = p.get("values") or {}
        if e.ambiguous:
            cur = self.client.get(f"/api/sessions/{sid}", credential="jwt", ok=(404,))
            status = (cur.data.get("data") or {}).get("status") if cur.status == 200 else None
            to = p.get("to")
            if status is not None and (status == to or (action not in ("pause", "resume") and self._STAGE.get(status, -1) >= self._STAGE.get(str(to), 99))):
                self._drop(e)
                return True
        body: dict[str, Any] | None = None
        if action == "complete" and values.get("completed_at") is not None:
            body = {"completedAt": iso_s(int(values["completed_at"]))}
        elif action == "confirm":
            body = {"rating": values.get("rating"), **({"comment": values["confirm_comment"]} if values.get("confirm_comment") else {})}
        self._mark_sending(e)
        self.client.request(
            "POST", f"/api/sessions/{sid}/{action}", credential="jwt", json=body, headers={"Idempotency-Key": e.idempotency_key},
            safe_to_resend=False,
        )
        crash_point("push:after_send")
        self._drop(e)  # the pull that follows brings the server's copy of the session
        return True

    def _server_notes(self, session_id: str) -> list[dict[str, Any]]:
        resp = self.client.get(f"/api/sessions/{session_id}/notes", credential="jwt")
        return list((resp.data.get("data") or {}).get("notes") or [])

    def _push_test_notes(self, e: state.Entry) -> bool:
        sid, p = e.entity_id, e.payload
        db = self.store.db
        updated = [[state.remote_id_of(db, i) or i, c] for i, c in p.get("updated", [])]
        created = [tuple(x) for x in p.get("created", [])]
        if e.ambiguous and created:
            server = self._server_notes(sid)
            matched = self._match_notes(e, created, server)
            if len(matched) == len(created):
                self._finish_notes(e, sid, matched, server)
                return True
        known = {"known": sorted(r[0] for r in db.execute("SELECT id FROM test_notes WHERE session_id = ?", [sid]))}
        self._mark_sending(e, **({} if "known" in e.payload else known))
        notes = [{"noteId": i, "content": c} for i, c in updated] + [{"content": c} for _, c in created]
        self.client.request(
            "PATCH", f"/api/sessions/{sid}/notes", credential="jwt", json={"notes": notes}, headers={"Idempotency-Key": e.idempotency_key},
            safe_to_resend=False,  # creating notes is not idempotent
        )
        crash_point("push:after_send")
        server = self._server_notes(sid)
        self._finish_notes(e, sid, self._match_notes(e, created, server), server)
        return True

    def _match_notes(self, e: state.Entry, created: list[tuple[str, str]], server: list[dict[str, Any]]) -> dict[str, str]:
        """Local id -> server id of the notes this entry created (by content, among notes new to us)."""
        known = set(e.payload.get("known", []))
        db = self.store.db
        free = [n for n in server if n["noteId"] not in known and not state.is_mapped_remote(db, n["noteId"])]
        out: dict[str, str] = {}
        for local_id, content in created:
            for n in free:
                if n.get("content") == content and n["noteId"] not in out.values():
                    out[local_id] = n["noteId"]
                    break
        return out

    def _finish_notes(self, e: state.Entry, sid: str, matched: dict[str, str], server: list[dict[str, Any]]) -> None:
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            sessions_state.delete_notes(db, [local for local, _ in e.payload.get("created", [])])
            for local, remote in matched.items():
                state.map_id(db, local, remote, "test_note", self.clock())
            sessions_state.apply_test_notes(db, sid, [wire.test_note(n, sid) for n in server], self.clock())

    def _push_test_feedback(self, e: state.Entry) -> bool:
        sid = e.entity_id
        self._mark_sending(e)
        resp = self.client.request(
            "POST", f"/api/sessions/{sid}/feedback", credential="jwt", json=e.payload.get("body"),
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=False, ok=(409,),
        )
        if resp.status == 409:
            if e.attempts <= 1:
                raise Refused(str(((resp.data or {}).get("error") or {}).get("message") or "Feedback was already submitted"), 409)
            # An earlier send (whose answer was lost) already delivered it.
        crash_point("push:after_send")
        fid = ((resp.data or {}).get("data") or {}).get("feedbackId") if resp.status == 201 else None
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            if fid and e.local_id and fid != e.local_id:
                db.execute("UPDATE tester_feedback SET id = ? WHERE id = ?", [fid, e.local_id])
                state.map_id(db, e.local_id, fid, "tester_feedback", self.clock())
        return True
