"""Property: replicas editing, going offline, pushing and pulling in any order, losing responses.

After everyone is back online and has synced (settling conflicts either way), every replica
equals the server, every acknowledged change is there exactly once, and outboxes are empty.
Runs against an in-process server for speed; bounded examples keep it a few seconds long. Each
example's four stores start as copies of one empty store at the current schema, made once.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from storage.db import DB_FILENAME, Store
from tests.sync.conftest import Hub
from tests.sync.helpers import integrity_ok, outbox_size, snapshot
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, RunPersonasRequest, WidgetAnnotationCreate
from workbench.services import annotations as ann_svc
from workbench.services import sync as sync_svc
from workbench.services.local import local_user

N_REPLICAS = 3
N_ANNOTATIONS = 3
STATUSES = ["new", "ack", "in_progress", "resolved"]
SUMMARIES = [None, "one", "two"]

replica_ix = st.integers(0, N_REPLICAS - 1)
ann_ix = st.integers(0, N_ANNOTATIONS - 1)
patches = st.one_of(
    st.builds(lambda s: {"status": s}, st.sampled_from(STATUSES)),
    st.builds(lambda s: {"summary": s}, st.sampled_from(SUMMARIES)),
    st.builds(lambda s, m: {"status": s, "summary": m}, st.sampled_from(STATUSES), st.sampled_from(SUMMARIES)),
    st.builds(lambda who: {"assignee_id": who}, st.sampled_from([None, "owner"])),
)


@functools.cache
def _empty_store() -> Path:
    """A store with every migration applied and nothing in it. Migrating was most of an example's
    setup (four stores, each running the whole schema script); the migrations make no rows and no
    ids, so each example's copies are as fresh as stores opened empty."""
    tmp = Path(tempfile.mkdtemp(prefix="wb-sync-sm-empty-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    Store(tmp).close()
    return tmp / DB_FILENAME


def _fresh(data_dir: Path) -> None:
    data_dir.mkdir()
    shutil.copyfile(_empty_store(), data_dir / DB_FILENAME)


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="wb-sync-sm-"))
        _fresh(self.tmp / "server")  # where Hub opens its store
        for i in range(N_REPLICAS):
            _fresh(self.tmp / f"replica{i}")
        self.hub = Hub(self.tmp)
        self.owner = local_user(self.hub.wb)
        self.ids = [
            ann_svc.submit_from_widget(
                self.hub.wb, self.hub.creds["site_id"], self.hub.creds["widget_token"], None,
                WidgetAnnotationCreate(page_url="https://shop.acme.example/", body=f"annotation {i}"),
            ).id
            for i in range(N_ANNOTATIONS)
        ]
        self.replicas = [self.hub.replica(f"replica{i}") for i in range(N_REPLICAS)]
        for r in self.replicas:
            assert r.sync().ok
        self.bodies: list[str] = []  # every reply acknowledged by a local store or the server
        self.persona_replies = 0
        self.n = 0

    def teardown(self) -> None:
        if not hasattr(self, "hub"):
            return
        try:
            self._settle_and_check()
        finally:
            self.hub.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _value(self, patch: dict) -> dict:
        return {k: (self.owner.user_id if v == "owner" else v) for k, v in patch.items()}

    # -- edits -----------------------------------------------------------------------------
    @rule(i=replica_ix, a=ann_ix, patch=patches)
    def local_patch(self, i: int, a: int, patch: dict) -> None:
        r = self.replicas[i]
        ann_svc.patch(r.wb, r.me, self.ids[a], AnnotationPatch(**self._value(patch)))

    @rule(i=replica_ix, a=ann_ix)
    def local_reply(self, i: int, a: int) -> None:
        r = self.replicas[i]
        self.n += 1
        body = f"reply {self.n} from replica {i}"
        ann_svc.reply(r.wb, r.me, self.ids[a], ReplyCreate(body=body))
        self.bodies.append(body)

    @rule(i=replica_ix, a=ann_ix)
    def local_personas(self, i: int, a: int) -> None:
        r = self.replicas[i]
        self.persona_replies += len(ann_svc.run_personas(r.wb, r.me, self.ids[a], RunPersonasRequest()))

    @rule(a=ann_ix, patch=patches)
    def server_patch(self, a: int, patch: dict) -> None:
        ann_svc.patch(self.hub.wb, self.owner, self.ids[a], AnnotationPatch(**self._value(patch)))

    @rule(a=ann_ix)
    def server_reply(self, a: int) -> None:
        self.n += 1
        body = f"reply {self.n} on the server"
        ann_svc.reply(self.hub.wb, self.owner, self.ids[a], ReplyCreate(body=body))
        self.bodies.append(body)

    # -- network ---------------------------------------------------------------------------
    @rule(i=replica_ix)
    def toggle_offline(self, i: int) -> None:
        self.replicas[i].bridge.offline = not self.replicas[i].bridge.offline

    @rule(i=replica_ix, lose=st.booleans())
    def sync(self, i: int, lose: bool) -> None:
        r = self.replicas[i]
        lost: list[int] = []

        def drop(request: httpx.Request) -> bool:
            if lose and not lost and request.method in ("POST", "PATCH"):
                lost.append(1)
                return True
            return False

        r.bridge.drop = drop
        try:
            r.sync()
        finally:
            r.bridge.drop = None

    @rule()
    def server_forgets_idempotency(self) -> None:
        """A server crash can lose its idempotency records; exactly-once must not depend on them."""
        self.hub.wb.store.db.execute("DELETE FROM idempotency")

    @rule(i=replica_ix, keep=st.booleans())
    def settle_conflicts(self, i: int, keep: bool) -> None:
        r = self.replicas[i]
        for c in sync_svc.conflicts(r.wb):
            (sync_svc.keep_mine if keep else sync_svc.take_theirs)(r.wb, c.id)

    # -- the end ---------------------------------------------------------------------------
    def _settle_and_check(self) -> None:
        for r in self.replicas:
            r.bridge.offline = False
            r.bridge.drop = None
        for round_ in range(4):
            for r in self.replicas:
                for c in sync_svc.conflicts(r.wb):
                    (sync_svc.keep_mine if round_ % 2 else sync_svc.take_theirs)(r.wb, c.id)
                assert r.sync().ok
        for r in self.replicas:  # a last pull for everyone after the last push
            assert r.sync().ok
        ws = self.hub.creds["workspace_id"]
        want = snapshot(self.hub.wb, ws)
        sdb = self.hub.wb.store.db
        for body in self.bodies:
            assert sdb.execute("SELECT count(*) FROM replies WHERE body = ?", [body]).fetchone()[0] == 1, body
        assert sdb.execute("SELECT count(*) FROM replies WHERE author_kind = 'persona'").fetchone()[0] == self.persona_replies
        for r in self.replicas:
            assert outbox_size(r.wb) == 0
            assert sync_svc.conflicts(r.wb) == [] and sync_svc.refusals(r.wb) == []
            assert snapshot(r.wb, ws) == want
            assert integrity_ok(r.wb)


TestSync = SyncMachine.TestCase
TestSync.settings = settings(
    # WORKBENCH_SYNC_SM_EXAMPLES raises the budget for a longer hunt (CI keeps it small and fast).
    max_examples=int(os.environ.get("WORKBENCH_SYNC_SM_EXAMPLES", "25")), stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
