"""Sync of sessions: feedback rounds and test sessions, their pull and the push of their outbox entries.

Sessions (with the store key / JWT, when the remote has them) are mirrored from their lists:
feedback rounds and, for rounds not finished, their comments; studies (the bundled server's
``GET /api/studies`` extension, else the study ids configured on the remote), their test
sessions (the ``GET /api/sessions?jobId=`` extension, else each known session's documented
detail) and notes. Their outbox entries carry the transition the user made; a refused one
(say, finalize on a round someone else already finished) stays visible with the reason.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from storage import sync_cursors as cursors
from storage import sync_merge_state as merge_state
from storage import sync_sessions as sessions_state
from storage import sync_state as state
from sync import wire
from sync.crash import crash_point
from sync.errors import Refused
from sync.part import EnginePart
from sync.session_ops import (
    FeedbackActionPayload,
    FeedbackCommentPayload,
    TestActionPayload,
    TestFeedbackPayload,
    TestNotesPayload,
)
from workbench.domain.clock import new_id
from workbench.domain.session_records import FeedbackSession, Storefront, Study, TestNote, TestSession, iso_s

if TYPE_CHECKING:
    from sync.client import Response


class SessionSync(EnginePart):
    """Feedback sessions (store key) and test sessions (JWT): pull, and push of ``feedback.*``/``test.*`` entries."""

    # -- feedback sessions -----------------------------------------------------------------
    def _store_id(self) -> str:
        if self.remote.store_id:
            return self.remote.store_id
        # The store's own name (the bundled server's extension), else the remote's name.
        named = self.client.get("/api/v1/store", credential="store_key", ok=(401, 403, 404, 405))
        name = named.data.get("name") if named.status == 200 and isinstance(named.data, dict) else None
        store = Storefront(
            id=new_id(self.clock()), workspace_id=self.ws, name=str(name)[:200] if name else f"{self.name} store", ai_built=True,
            created_at=self.clock(),
        )
        with self.store.write() as db:
            sessions_state.ensure_store(db, store)
            state.update_remote(db, self.name, store_id=store.id)
        self.remote.store_id = store.id
        return store.id

    def pull_feedback(self) -> None:
        store_id = self._store_id()
        self.progress("feedback sessions", 0, None)
        records: list[FeedbackSession] = []
        offset = 0
        first, etag = self._get_tree(
            "etag:feedback-sessions", "/api/v1/feedback-sessions", {"comments"}, credential="store_key", params={"limit": 100, "offset": 0},
        )
        if first.status == 304:
            # No round and no comment moved since the last whole pull: the rounds mirrored here
            # are the server's list (a replica cannot start one), so their number is the total.
            known = self.store.db.execute("SELECT count(*) FROM feedback_sessions WHERE store_id = ?", [store_id]).fetchone()[0]
            self.progress("feedback sessions", known, known)
            return
        while True:
            page = first if offset == 0 else self.client.get(
                "/api/v1/feedback-sessions", credential="store_key", params={"limit": 100, "offset": offset},
            )
            batch = page.each(lambda d: wire.feedback_session(d, store_id), "data")
            records += batch
            if len(batch) < 100:
                break
            offset += len(batch)
        with self.store.write() as db:
            changed = set(sessions_state.apply_feedback_sessions(db, records))
            for sid in changed:
                # Read again whatever stops this run: a round that moved (finished, say) had its
                # comments skipped at every later sync when a run stopped before reading them.
                cursors.set_digest(db, self.name, f"comments:{sid}", "")
        self.report.received += len(changed)
        for i, r in enumerate(records):
            self.progress("feedback sessions", i, len(records))
            key = f"comments:{r.id}"
            known = cursors.get_digest(self.store.db, self.name, key)
            if r.status in sessions_state.FINAL_FEEDBACK and r.id not in changed and known:
                continue  # a finished round's comments no longer change
            resp = self.client.get(f"/api/v1/feedback-sessions/{r.id}/comments", credential="store_key", ok=(404,))
            if resp.status != 200:
                continue
            digest = hashlib.sha256(resp.content).hexdigest()
            if digest == known:
                continue
            comments = resp.each(lambda c, sid=r.id: wire.feedback_comment(c, sid), "data")
            with self.store.write() as db:
                if sessions_state.feedback_session_row(db, r.id) is None:
                    continue  # its round could not be mirrored yet (see apply_feedback_sessions)
                self.report.received += sessions_state.apply_feedback_comments(db, r.id, comments, self.clock())
                cursors.set_digest(db, self.name, key, digest)
        self._tree_pulled("etag:feedback-sessions", etag)
        self.progress("feedback sessions", len(records), len(records))

    def push_feedback_action(self, e: state.Entry) -> bool:
        sid, p = e.entity_id, FeedbackActionPayload.of(e.payload)
        store_id = self._store_id()
        if e.ambiguous:
            cur = self.client.get(f"/api/v1/feedback-sessions/{sid}", credential="store_key", ok=(404,))
            # An answer of another shape is not read as "not applied", which would send it again.
            there = cur.one(lambda d: wire.feedback_session(d, store_id)) if cur.status == 200 else None
            if there is not None and there.status == p.to_status:
                self._finish_feedback(e, there)
                return True
        self._mark_sending(e)
        action = p.action
        body = {"errorMessage": p.error_message} if action == "builder_failed" and p.error_message else None
        resp = self.client.request(
            "POST", f"/api/v1/feedback-sessions/{sid}/{action.replace('_', '-')}", credential="store_key", json=body,
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=False,
        )
        crash_point("push:after_send")
        # Read before the entry goes: an answer of another shape stops the run, the entry flagged
        # as sent, and the next run reads the session before sending again.
        self._finish_feedback(e, resp.one(lambda d: wire.feedback_session(d, store_id)))
        return True

    def _finish_feedback(self, e: state.Entry, session: FeedbackSession) -> None:
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            sessions_state.apply_feedback_sessions(db, [session])

    def push_feedback_comment(self, e: state.Entry) -> bool:
        p = FeedbackCommentPayload.of(e.payload)
        verb = "resolve" if p.resolved else "reopen"
        # Flagged as on its way: a flip made meanwhile (a sync in the TUI's worker) must not cancel
        # an entry the server may already be applying, but wait as an entry of its own.
        self._mark_sending(e)
        resp = self.client.request(  # resolve/reopen are idempotent on the server: safe to resend
            "POST", f"/api/v1/feedback-sessions/{p.session_id}/comments/{e.entity_id}/{verb}", credential="store_key",
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=True,
        )
        comment = resp.one(lambda d: wire.feedback_comment(d, p.session_id))  # resent as it is, if of another shape
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            sessions_state.apply_feedback_comments(db, p.session_id, [comment], self.clock())
        return True

    def _done(self, e: state.Entry) -> None:
        with self.store.write() as db:
            state.delete_entry(db, e.seq)

    # -- test sessions ---------------------------------------------------------------------
    def pull_tests(self) -> None:
        self.progress("studies", 0, None)
        resp, etag = self._get_tree("etag:studies", "/api/studies", {"sessions", "notes"}, credential="jwt", ok=(404, 405))
        if resp.status == 304:
            # No study, session, note or feedback moved since the last whole pull: the studies
            # mirrored here are the server's list, so their number is the total.
            known = self.store.db.execute("SELECT count(*) FROM studies WHERE workspace_id = ?", [self.ws]).fetchone()[0]
            self.progress("studies", known, known)
            return
        if resp.status == 200:
            ws = self.ws
            studies = resp.each(lambda d: wire.study(d, ws), "data", "studies")
        else:
            studies = [Study(id=j, workspace_id=self.ws, name=j, created_at=0) for j in self.remote.study_ids]
            if not studies:
                self.report.notes.append("no studies to sync: name them with `workbench remote add … --study JOB_ID`")
        with self.store.write() as db:
            for st in studies:
                sessions_state.upsert_study(db, st)
        for i, st in enumerate(studies):
            self.progress("studies", i, len(studies))
            self._pull_study(st.id)
        self.progress("studies", len(studies), len(studies))
        self._tree_pulled("etag:studies", etag)

    def _pull_study(self, job_id: str) -> None:
        label = f"test sessions · {job_id}"
        self.progress(label, 0, None)
        records: list[TestSession] = []
        offset = 0
        listed = True
        while True:
            resp = self.client.get("/api/sessions", credential="jwt", params={"jobId": job_id, "limit": 100, "offset": offset}, ok=(404, 405))
            if resp.status != 200:
                listed = False
                break
            batch = resp.each(wire.test_session, "data", "sessions")
            records += batch
            if len(batch) < 100:
                break
            offset += len(batch)
        if not listed:
            # Documented API only: refresh the sessions this replica already knows, one by one.
            for sid in sessions_state.test_session_ids(self.store.db, job_id):
                one = self.client.get(f"/api/sessions/{sid}", credential="jwt", ok=(404,))
                if one.status == 200:
                    records.append(one.one(wire.test_session, "data"))
        with self.store.write() as db:
            # A session this run moved (complete, pause…) comes back with the server's times for
            # that move: its own echo, unless the server's status is another than the one sent.
            sent = {r.id: row[0] for r in records if r.id in self.ctx.pushed and (row := db.execute(
                "SELECT status FROM test_sessions WHERE id = ?", [r.id]).fetchone()) is not None}
            changed = sessions_state.apply_test_sessions(db, records, self.clock())
            statuses = {r.id: r.status for r in records}
            self.report.received += sum(1 for sid in changed if sid not in sent or statuses[sid] != sent[sid])
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
        if digest == cursors.get_digest(self.store.db, self.name, key):
            return
        notes = resp.each(lambda n: wire.test_note(n, session_id), "data", "notes")
        with self.store.write() as db:
            self.report.received += sessions_state.apply_test_notes(db, session_id, notes, self.clock())
            cursors.set_digest(db, self.name, key, digest)

    _STAGE: ClassVar[dict[str, int]] = {"active": 0, "paused": 0, "completed": 1, "analyzing": 2, "analyzed": 3, "confirmed": 4}

    def push_test_action(self, e: state.Entry) -> bool:
        sid, p = e.entity_id, TestActionPayload.of(e.payload)
        action = e.op.split(".", 1)[1]
        values = p.values or {}
        if e.ambiguous:
            cur = self.client.get(f"/api/sessions/{sid}", credential="jwt", ok=(404,))
            # An answer of another shape is not read as "not applied", which would send it again.
            status = cur.one(wire.test_session, "data").status if cur.status == 200 else None
            to = p.to_status
            if status is not None and (status == to or (action not in ("pause", "resume") and self._STAGE.get(status, -1) >= self._STAGE.get(str(to), 99))):
                self._done(e)
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
        self._done(e)  # the pull that follows brings the server's copy of the session
        return True

    def _server_notes(self, session_id: str) -> list[TestNote]:
        """The server's notes of a session, before and after a notes PATCH. Notes of another shape
        stop the run: read as none, a note edited on the server since this replica read it was
        written over instead of becoming a conflict, and created notes matched nothing."""
        resp = self.client.get(f"/api/sessions/{session_id}/notes", credential="jwt")
        return resp.each(lambda n: wire.test_note(n, session_id), "data", "notes")

    def push_test_notes(self, e: state.Entry) -> bool:
        sid, p = e.entity_id, TestNotesPayload.of(e.payload)
        db = self.store.db
        updated = [[merge_state.remote_id_of(db, i) or i, c] for i, c in p.updated]
        created = [(i, c) for i, c in p.created]
        if e.ambiguous and created:
            server = self._server_notes(sid)
            matched = self._match_notes(e, created, server)
            if len(matched) == len(created):
                self._finish_notes(e, sid, matched, server)
                return True
        if updated and p.previous is not None:
            updated = self._without_concurrent_edits(e, sid, p, updated)
            if not updated and not created:
                self._finish_notes(e, sid, {}, self._server_notes(sid))
                return False  # nothing left to send: not counted as sent
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

    def _without_concurrent_edits(self, e: state.Entry, sid: str, p: TestNotesPayload, updated: list[list[str]]) -> list[list[str]]:
        """The edits to send: a note the server already holds as edited here is left out, and a note
        someone else edited since this replica read it becomes a conflict on its content instead of
        being written over (the notes PATCH has no version to compare and set against)."""
        previous = p.previous or {}
        local_of = {merge_state.remote_id_of(self.store.db, i) or i: i for i, _ in p.updated}
        server = {n.id: n.content for n in self._server_notes(sid)}
        send: list[list[str]] = []
        for note_id, mine in updated:
            theirs = server.get(note_id)
            base = previous.get(local_of.get(note_id, note_id))
            if theirs is None or theirs == base:
                send.append([note_id, mine])
            elif theirs != mine:
                with self.store.write() as db:
                    merge_state.record_conflict(
                        db, workspace_id=e.workspace_id, entity_type="test_note", entity_id=note_id, field="content", base=base,
                        mine=mine, theirs=theirs, theirs_version=None, at=self.clock(),
                    )
                self.report.conflicts += 1
                # The colleague's words came down (as the conflict's "theirs"): received, as an
                # annotation's conflicting field is. The pull leaves the note to the conflict and
                # counts it no more, so "received 0 · conflicts 1" no longer says nothing came.
                self.report.received += 1
        return send

    def _match_notes(self, e: state.Entry, created: list[tuple[str, str]], server: list[TestNote]) -> dict[str, str]:
        """Local id -> server id of the notes this entry created (by content, among notes new to us)."""
        known = set(e.payload.get("known", []))
        db = self.store.db
        free = [n for n in server if n.id not in known and not merge_state.is_mapped_remote(db, n.id)]
        out: dict[str, str] = {}
        for local_id, content in created:
            for n in free:
                if n.content == content and n.id not in out.values():
                    out[local_id] = n.id
                    break
        return out

    def _finish_notes(self, e: state.Entry, sid: str, matched: dict[str, str], server: list[TestNote]) -> None:
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            sessions_state.delete_notes(db, [local for local, _ in TestNotesPayload.of(e.payload).created])
            for local, remote in matched.items():
                merge_state.map_id(db, local, remote, "test_note", self.clock())
            sessions_state.apply_test_notes(db, sid, server, self.clock())

    def push_test_feedback(self, e: state.Entry) -> bool:
        sid = e.entity_id
        self._mark_sending(e)
        resp = self.client.request(
            "POST", f"/api/sessions/{sid}/feedback", credential="jwt", json=TestFeedbackPayload.of(e.payload).body,
            headers={"Idempotency-Key": e.idempotency_key}, safe_to_resend=False, ok=(409,),
        )
        if resp.status == 409:
            if e.attempts <= 1:
                raise Refused(_envelope_error(resp) or "Feedback was already submitted", 409)
            # An earlier send (whose answer was lost) already delivered it.
        crash_point("push:after_send")
        # An answer without the feedback's id stops the run with the entry flagged as sent: the
        # next run's send is answered 409, which says the earlier one was delivered.
        fid = resp.one(wire.submitted_feedback, "data").feedback_id if resp.status == 201 else None
        with self.store.write() as db:
            state.delete_entry(db, e.seq)
            if fid and e.local_id and fid != e.local_id:
                db.execute("UPDATE tester_feedback SET id = ? WHERE id = ?", [fid, e.local_id])
                merge_state.map_id(db, e.local_id, fid, "tester_feedback", self.clock())
        return True


def _envelope_error(resp: Response) -> str | None:
    """The test-sessions envelope's ``error.message``, if the answer is that envelope."""
    data = resp.data
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message) if message else None
