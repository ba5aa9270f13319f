"""Push of ``annotation.*`` outbox entries, one handler per op (``sync.ops`` says which runs when).

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
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, TypeVar

from storage import annotations as annotations_repo
from storage import sync_merge_state as merge_state
from storage import sync_mirror as mirror
from storage import sync_state as state
from sync import wire
from sync.annotation_ops import PatchPayload, ReplyPayload, ResolutionPayload, RunPersonasPayload
from sync.crash import crash_point
from sync.errors import Refused, Unavailable
from sync.part import EnginePart
from workbench.domain.merge import ANNOTATION_FIELDS
from workbench.domain.records import Reply, Resolution

if TYPE_CHECKING:
    from sync.client import Response


R = TypeVar("R", Reply, Resolution)
RECONCILE_SKEW_MS = 5 * 60_000
MAX_CAS_ROUNDS = 5


class AnnotationPush(EnginePart):
    """The handlers of ``annotation.*`` entries, and the annotation re-read they share with the pull."""

    def _detail(self, annotation_id: str) -> Response:
        resp = self.client.get(f"/api/v1/annotations/{annotation_id}", ok=(404,))
        if resp.status == 404:
            raise Refused("Annotation not found on the server", 404)
        self._set_capability("etag", bool(resp.headers.get("etag")))
        return resp

    def apply_detail(self, resp: Response, exclude_seq: int | None = None, *, by_push: bool = False) -> int:
        """Apply an annotation's detail (the annotation, its replies and resolutions): how many of
        the changes in it are others': its thread's rows they added or changed, and, read ``by_push``
        (before a PATCH, or after a 412), the annotation when their version changed a field here or
        met one of the user's (a conflict, whose "theirs" came down). The pull after may see that
        annotation as the echo of the user's own change (another of its fields went up since), so
        it is counted here and noted in ``SyncContext.received_here``, never counted twice. Read by
        the pull, the annotation is not counted: the annotations page that moved it was."""
        ws = self.ws
        ann, thread_replies, thread_resolutions = resp.one(lambda d: wire.detail(d, ws))
        etag = resp.headers.get("etag")
        echoes, replies, resolutions = self.ctx.split_echoes(thread_replies, thread_resolutions)
        with self.store.write() as db:
            applied = mirror.apply_annotations(
                db, [ann], at=self.clock(), etags={ann.id: etag} if etag else None, exclude_seq=exclude_seq,
                audit_actor=f"sync:{self.name}",
            )
            news = mirror.apply_replies(db, replies) + mirror.apply_resolutions(db, resolutions)
            mirror.apply_replies(db, [r for r in echoes if isinstance(r, Reply)])
            mirror.apply_resolutions(db, [r for r in echoes if isinstance(r, Resolution)])
            if etag:
                mirror.set_annotation_etag(db, ann.id, etag, ann.version)
        self.report.conflicts += applied.conflicts
        if by_push and applied.updated and (applied.conflicts or ann.id not in applied.unchanged_fields):
            self.ctx.received_here.add(ann.id)
            news += 1
        return news

    # patch ---------------------------------------------------------------------------------
    def push_patch(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        fields = [f for f in PatchPayload.of(e.payload).fields if f in ANNOTATION_FIELDS]
        refreshed = False
        for _ in range(MAX_CAS_ROUNDS):
            db = self.store.db
            local = annotations_repo.get_annotation(db, self.ws, ann_id)
            base = merge_state.get_base(db, "annotation", ann_id)
            if local is None or base is None:
                self._drop(e)
                return False
            blocked = set(merge_state.open_conflicts(db, "annotation", ann_id))
            send = {f: getattr(local, f) for f in fields if getattr(local, f) != base.fields.get(f) and f not in blocked}
            if not send:
                self._drop(e, cleanup=ann_id)
                return False
            if not refreshed and (base.etag is None or self._capability("etag") is False):
                # Learn the server's current version (and ETag) and merge it in before sending.
                # Others' thread rows are news now: the pull after finds them already here.
                self.report.received += self.apply_detail(self._detail(ann_id), exclude_seq=e.seq, by_push=True)
                refreshed = True
                continue
            headers = {"Idempotency-Key": e.idempotency_key}
            if base.etag and self._capability("etag") is not False:
                headers["If-Match"] = base.etag
            crash_point("push:before_send")
            resp = self.client.request("PATCH", f"/api/v1/annotations/{ann_id}", json=send, headers=headers, ok=(412,))
            crash_point("push:after_send")
            if resp.status == 412:
                self.report.received += self.apply_detail(self._detail(ann_id), exclude_seq=e.seq, by_push=True)
                refreshed = True
                continue
            # Read before the entry goes: an answer of another shape stops the run with the entry
            # kept, and the next run's PATCH (the same values, the same key) finds them applied.
            server = resp.one(lambda d: wire.annotation(d, self.ws))
            etag = resp.headers.get("etag")
            with self.store.write() as db:
                state.delete_entry(db, e.seq)
                applied = mirror.apply_annotations(
                    db, [server], at=self.clock(), sent={ann_id: send}, etags={ann_id: etag} if etag else None, exclude_seq=e.seq,
                    audit_actor=f"sync:{self.name}",
                )
            self.report.conflicts += applied.conflicts
            return True
        raise Unavailable(f"annotation {ann_id} kept changing on the server; try again")

    def _drop(self, e: state.Entry, cleanup: str | None = None) -> None:
        """Nothing left to send for this entry (values already equal the server's)."""
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            if cleanup is not None:
                state.drop_base_if_settled(db, self.ws, cleanup)

    # replies -------------------------------------------------------------------------------
    def _known_thread(self, annotation_id: str) -> dict[str, list[str]]:
        db = self.store.db
        return {"known": sorted(mirror.reply_ids(db, annotation_id) | mirror.resolution_ids(db, annotation_id))}

    def _thread(self, annotation_id: str) -> tuple[list[Reply], list[Resolution]]:
        """The server's thread of an annotation, read from its detail (refused as not the API's when
        of another shape: an unreadable thread must not read as one without the entry's effect)."""
        ws = self.ws
        _, replies, resolutions = self._detail(annotation_id).one(lambda d: wire.detail(d, ws, whole_thread=True))
        return replies, resolutions

    def _candidates(self, e: state.Entry, rows: list[R]) -> list[R]:
        """Server rows that may be the effect of this entry's earlier, unanswered send."""
        known = set(e.payload.get("known", []))
        since = int(e.payload.get("first_sent_at", 0)) - RECONCILE_SKEW_MS
        db = self.store.db
        return [r for r in rows if r.id not in known and not merge_state.is_mapped_remote(db, r.id) and r.created_at >= since]

    def push_reply(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        p = ReplyPayload.of(e.payload)
        body = {"body": p.body, "author_name": p.author_name or None}
        body = {k: v for k, v in body.items() if v is not None}
        if e.ambiguous:
            for server in self._candidates(e, self._thread(ann_id)[0]):
                if server.body == body["body"] and body.get("author_name") in (None, server.author_name):
                    self._finish_reply(e, server)
                    return True
        self._mark_sending(e, **({} if "known" in e.payload else self._known_thread(ann_id)))
        resp = self.client.request(
            "POST", f"/api/v1/annotations/{ann_id}/replies", json=body, headers={"Idempotency-Key": e.idempotency_key},
            safe_to_resend=False,
        )
        crash_point("push:after_send")
        # An answer of another shape stops the run here, the entry still flagged as sent: the
        # next run finds the reply in the thread rather than posting it again.
        self._finish_reply(e, resp.one(lambda d: wire.reply(d, self.ws, ann_id)))
        return True

    def _finish_reply(self, e: state.Entry, server: Reply) -> None:
        with self.store.write() as db:
            if e.local_id:
                mirror.replace_local_reply(db, e.local_id, server, self.clock())
            else:
                mirror.apply_replies(db, [server])
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
            ).one(wire.presign)
            put = self.client.request(
                pre.method or "PUT", pre.url, credential=None, content=data,
                headers=pre.headers or {"Content-Type": upload["content_type"]}, ok=(403,),
            )
            if put.status != 403:
                return pre.key
            # An expired (replayed) presign: ask for a fresh one under a new key.
            self._save_payload(e, presign={**e.payload.get("presign", {}), kind: n + 1})
        raise Refused(f"the server refused the {kind} evidence upload", 403)

    def push_resolution(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        p = ResolutionPayload.of(e.payload)
        server_keys: dict[str, str] = dict(e.payload.get("server_keys", {}))
        for kind, local_key in (("before", p.before_key), ("after", p.after_key)):
            if local_key and kind not in server_keys:
                server_keys[kind] = self._upload(e, kind, local_key)
                self._save_payload(e, server_keys=server_keys)
        body = {
            "before_key": server_keys.get("before"),
            "after_key": server_keys.get("after"),
            "diff_url": p.diff_url,
            "explanation": p.explanation,
        }
        body = {k: v for k, v in body.items() if v is not None}
        if e.ambiguous:
            for r in self._candidates(e, self._thread(ann_id)[1]):
                if all(getattr(r, k) == body.get(k) for k in ("before_key", "after_key", "diff_url", "explanation")):
                    self._finish_resolution(e, r, server_keys)
                    return True
        self._mark_sending(e, **({} if "known" in e.payload else self._known_thread(ann_id)))
        resp = self.client.request(
            "POST", f"/api/v1/annotations/{ann_id}/resolutions", json=body, headers={"Idempotency-Key": e.idempotency_key},
            safe_to_resend=False,
        )
        crash_point("push:after_send")
        self._finish_resolution(e, resp.one(lambda d: wire.resolution(d, self.ws, ann_id)), server_keys)
        return True

    def _finish_resolution(self, e: state.Entry, server: Resolution, server_keys: dict[str, str]) -> None:
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
                mirror.rekey_upload(db, old, new)
            self.ctx.pushed_rows.add(server.id)
            if e.local_id:
                mirror.replace_local_resolution(db, e.local_id, server, self.clock())
            else:
                mirror.apply_resolutions(db, [server])
            state.delete_entry(db, e.seq)
        for old, _ in moves:
            with contextlib.suppress(OSError):
                self.store.upload_path(old).unlink()

    # run-personas --------------------------------------------------------------------------
    def push_run_personas(self, e: state.Entry) -> bool:
        ann_id = e.entity_id
        persona_ids: list[str] = list(RunPersonasPayload.of(e.payload).persona_ids)
        if e.ambiguous and persona_ids:
            found: dict[str, Reply] = {}
            for r in self._candidates(e, self._thread(ann_id)[0]):
                pid = r.persona_id
                if pid is not None and pid in persona_ids and pid not in found:
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
        # Without its replies the answer is not the API's: read as none, the replica's own replies
        # went with no server rows to map them to. Stopped here, the entry waits as sent, checked next run.
        self._finish_run(e, resp.each(lambda d: wire.reply(d, self.ws, ann_id), "replies"))
        return True

    def _finish_run(self, e: state.Entry, server: list[Reply]) -> None:
        local_ids: list[str] = list(RunPersonasPayload.of(e.payload).reply_ids)
        with self.store.write() as db:
            state.delete_replies(db, local_ids)
            mirror.apply_replies(db, server)
            for local_id, s in zip(local_ids, server, strict=False):
                merge_state.map_id(db, local_id, s.id, "reply", self.clock())
            state.delete_entry(db, e.seq)
