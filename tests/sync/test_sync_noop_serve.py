"""A sync with nothing new, against a real `workbench serve` over TCP: one request per resource kind.

The request count must not grow with the number of sites, studies, test sessions or feedback
rounds: the bundled server's lists carry ETags covering everything under them (the sites list
covers every annotation, reply and resolution), so a no-op is one conditional GET per kind. The
requests are counted on the client's real HTTP transport.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx

from storage import feedback_sessions as fs_repo
from tests.conftest import ServerProcess
from tests.found import found
from tests.sync.test_sync_conditional import kind
from workbench.domain import feedback_sessions as fs
from workbench.domain.annotations import ReplyCreate, WidgetAnnotationCreate
from workbench.domain.feedback_sessions import CommentCreate
from workbench.domain.test_sessions import NotesPatch, TestSessionCreate
from workbench.services import annotations as ann_svc
from workbench.services import feedback_sessions as fs_svc
from workbench.services import remotes, sites
from workbench.services import sync as sync_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.bootstrap import bootstrap, owner_principal
from workbench.services.context import Workbench
from workbench.services.demo import load_demo


class Counting(httpx.BaseTransport):
    """The real HTTP transport, noting each request's kind and status."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.log: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        self.log.append((kind(request.url.path), resp.status_code))
        return resp


def grow(wb: Workbench, creds: dict, n: int) -> None:
    """``n`` more sites (each with an annotation and a reply), studies (each with a session and notes) and feedback rounds."""
    owner = owner_principal(creds["workspace_id"], creds["owner_user_id"])
    store = found(fs_repo.get_store(wb.store.db, creds["store_id"]))
    for i in range(n):
        site = sites.create_site(wb, owner, f"extra {i}", f"https://extra{i}.example")
        ann = ann_svc.submit_from_widget(
            wb, site.id, site.widget_token, None, WidgetAnnotationCreate(page_url=f"https://extra{i}.example/", body="the logo is blurry")
        )
        ann_svc.reply(wb, owner, ann.id, ReplyCreate(body=f"seen {i}"))
        study = ts_svc.create_study(wb, owner, f"study {i}")
        s = ts_svc.create(wb, owner, TestSessionCreate(jobId=study.id, testerId=f"tester-{i}"))
        ts_svc.patch_notes(wb, owner, s.id, NotesPatch.model_validate({"notes": [{"content": f"note {i}"}]}))
        for active in fs_repo.list_sessions(wb.store.db, store.id, status=None, limit=100, offset=0):
            if active.status in {st.value for st in fs.ACTIVE_STATUSES}:
                fs_svc.finalize(wb, store, active.id)  # one round at a time per store
        r = fs_svc.start(wb, store)
        fs_svc.deploy(wb, r.id, env={})
        token = found(fs_repo.get_session_any(wb.store.db, r.id)).review_token
        fs_svc.add_comment(wb, r.id, token, CommentCreate(content=f"comment {i}", pagePath="/", reviewerName="Rita"))


def test_a_no_op_sync_costs_one_request_per_kind_however_many_sites_studies_and_sessions(tmp_path: Path):
    data = tmp_path / "served"
    served = Workbench.open(str(data), mailer=None)
    creds = bootstrap(served)
    load_demo(served)
    server = ServerProcess(data)
    replica = Workbench.open(str(tmp_path / "replica"), mailer=None)
    transport = Counting()
    try:
        remotes.add(replica, "origin", server.url)
        secrets = {"token": creds["member_token"], "store_key": creds["store_api_key"], "jwt": creds["jwt"]}

        def noop() -> Counter:
            assert sync_svc.run_sync(replica, "origin", credentials=secrets, transport=transport).ok
            assert sync_svc.run_sync(replica, "origin", credentials=secrets, transport=transport).ok  # settles probes
            transport.log.clear()
            rep = sync_svc.run_sync(replica, "origin", credentials=secrets, transport=transport)
            assert rep.ok and rep.received == 0 and rep.requests == len(transport.log), rep
            return Counter(transport.log)

        one_each = Counter({
            ("api/v1/sites", 304): 1, ("api/personas/mine", 200): 1, ("api/v1/feedback-sessions", 304): 1, ("api/studies", 304): 1,
        })
        assert noop() == one_each
        grow(served, creds, 3)  # written by another process while the server runs, as the TUI would
        assert noop() == one_each
        assert replica.store.db.execute("SELECT count(*) FROM sites").fetchone()[0] == \
            served.store.db.execute("SELECT count(*) FROM sites").fetchone()[0]
    finally:
        # Its kept-alive connections: each sync closes the transport it was given, but Counting's close
        # is BaseTransport's, which closes nothing, and the one real transport serves every run.
        transport.inner.close()
        server.stop()
        replica.store.close()
        served.store.close()
