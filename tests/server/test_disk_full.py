"""`workbench serve` on a full disk: 503 + Retry-After in each API family's shape, nothing half-written, and it recovers.

A real server process over TCP, on each engine, with a real refusal of its writes:

- SQLite: the kernel's file-size limit on the server process, set while it runs and lifted
  again (tests/disk_limit.py ``fill``/``lift``): SQLite's WAL, an upload's file and the widget's
  screenshot file all meet it where a full disk would stop them. The requests carry more than
  the limit lets the WAL hold, so each is refused wherever it is written.
- PostgreSQL: the database itself reports SQLSTATE 53100 ``disk_full`` through the real driver,
  from a trigger on every table a request writes (``RAISE … USING ERRCODE = 'disk_full'``):
  what the team server's code meets when the database server's disk is full. Filling a real
  tablespace would need a small mounted file system, which only root can make.

Each request is answered 503 with ``Retry-After`` in its family's shape (``{detail}``; the
test-sessions envelope), never naming the data directory or the database; the operator's log
has one line for it and no traceback; the store holds what it held; and once there is room
the same request, with the same Idempotency-Key, is applied exactly once.

What the server writes by itself is tested in process, on SQLite's page cap
(tests/disk_limit.py ``pages_capped``): a background job the disk refused is one log line, and
the search upkeep tells a full disk once, not every half second.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import random
import string
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.failures import StoreWriteFailed
from tests.conftest import ServerProcess
from tests.disk_limit import fill, lift, pages_capped, pg_disk_freed, pg_disk_full, unlimited
from tests.images import image_bytes
from tests.server.conftest import serve, served_world
from tests.server.world import World
from tests.session_helpers import wait_until, wait_until_async
from workbench.domain.annotations import ReplyCreate, WidgetAnnotationCreate
from workbench.server import search_upkeep
from workbench.server.jobs import Jobs, PgJobs
from workbench.server.settings import ServerSettings
from workbench.services import annotations as asvc
from workbench.services.bootstrap import owner_principal
from workbench.services.context import Workbench

BIG = "🙂" * 20_000  # the longest reply, 80 KB in UTF-8: more than the limit lets SQLite's WAL hold
BIG_NOTE = "🙂" * 9_990  # about the longest note, 40 KB (each gets a number after it)
# A real picture, with bytes after its end (which decoders ignore) so a full disk refuses it.
PNG = image_bytes() + bytes(100_000)
WRITTEN = ("annotations", "replies", "uploads", "audit", "test_notes")  # what the requests here would add to
SAID = "The server cannot store this now: its storage"


class Disk:
    """The server's disk: ``full()`` refuses its writes until ``freed()``."""

    def __init__(self, engine: str, server: ServerProcess) -> None:
        self.engine = engine
        self.server = server

    def full(self, *, room_for_a_claim: bool = False) -> None:
        """``room_for_a_claim`` (PostgreSQL): an Idempotency-Key's claim still fits, its release no longer does."""
        if self.engine == "sqlite":
            fill(self.server.proc.pid)
            return
        pg_disk_full(os.environ["WORKBENCH_DATABASE_URL"], room_for_a_claim=room_for_a_claim)

    def freed(self) -> None:
        if self.engine == "sqlite":
            lift(self.server.proc.pid)
            return
        pg_disk_freed(os.environ["WORKBENCH_DATABASE_URL"])


@pytest.fixture
def served(tmp_path: Path, engine: str) -> Iterator[tuple[ServerProcess, World, Path, Disk]]:
    data, world = served_world(tmp_path)
    # A wide log, so each record is one line however long (the server logs through rich).
    srv = serve(data, env={"COLUMNS": "1000"}, wrap=lambda argv: unlimited(argv))
    try:
        yield srv, world, data, Disk(engine, srv)
    finally:
        srv.stop()


def counts(data: Path) -> dict[str, int]:
    wb = Workbench.open(str(data), mailer=None)
    try:
        with wb.store.read() as db:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in WRITTEN}
    finally:
        wb.store.close()


def keyed_record(data: Path, key: str) -> list[tuple[str]]:
    wb = Workbench.open(str(data), mailer=None)
    try:
        with wb.store.read() as db:
            return db.execute("SELECT state FROM idempotency WHERE key = ?", [key]).fetchall()
    finally:
        wb.store.close()


def log_of(srv: ServerProcess) -> str:
    srv.log.flush()
    return Path(srv.log.name).read_text(errors="replace")


def refused(r: httpx.Response, data: Path, *, enveloped: bool = False) -> str:
    """The 503 of a full disk: its words, in the family's shape, with Retry-After, naming no place of the server's."""
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers["retry-after"] == "60"
    assert str(data) not in r.text and "postgresql://" not in r.text
    body = r.json()
    if enveloped:
        assert body["success"] is False and body["data"] is None
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
        message = body["error"]["message"]
    else:
        assert list(body) == ["detail"]
        message = body["detail"]
    assert message.startswith(SAID) and message.endswith("The write was rolled back; try again later."), message
    return message


def requests(srv: ServerProcess, w: World, data: Path) -> dict[str, Any]:
    """Each write under test, ready to send: set up while the disk has room."""
    a, url = w.a, srv.url
    member = {"Authorization": f"Bearer {a['member_token']}"}
    jwt = {"Authorization": f"Bearer {a['jwt']}"}
    session = httpx.post(f"{url}/api/sessions", json={"jobId": a["job_id"], "testerId": "tess"}, headers=jwt)
    assert session.status_code == 201, session.text
    upload = httpx.post(
        f"{url}/api/v1/annotations/{a['annotation_id']}/resolutions/upload-url", json={"kind": "after", "content_type": "image/png"},
        headers=member,
    ).json()
    shot = "data:image/png;base64," + base64.b64encode(PNG).decode()
    origin = "https://shop.acme.example"
    return {
        # Answered ahead of the router (hotwrites.py), then the same through the router (a query string goes there).
        "reply": ("POST", f"{url}/api/v1/annotations/{a['annotation_id']}/replies", {"json": {"body": BIG}, "headers": member}),
        "reply, routed": ("POST", f"{url}/api/v1/annotations/{a['annotation_id']}/replies?via=router", {"json": {"body": BIG}, "headers": member}),
        "upload": ("PUT", upload["url"], {"content": PNG, "headers": {"Content-Type": "image/png"}}),
        "widget": (
            "POST", f"{url}/api/widget/sites/{a['site_id']}/annotations",
            {"json": {"page_url": f"{origin}/cart", "kind": "bug", "body": "Broken", "screenshot": shot},
             "headers": {"X-GF-Widget-Token": a["widget_token"], "Origin": origin}},
        ),
        "notes": (
            "PATCH", f"{url}/api/sessions/{session.json()['data']['sessionId']}/notes",
            {"json": {"notes": [{"content": BIG_NOTE + str(i)} for i in range(4)]}, "headers": jwt},
        ),
    }


def send(request: tuple[str, str, dict[str, Any]], **headers: str) -> httpx.Response:
    method, url, kwargs = request
    kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}
    return httpx.request(method, url, timeout=60, **kwargs)


def test_a_full_disk_is_a_503_with_retry_after_that_changes_nothing_and_passes(served):
    srv, w, data, disk = served
    writes = requests(srv, w, data)
    before = counts(data)
    disk.full()
    for name, request in writes.items():
        r = send(request)
        refused(r, data, enveloped=name == "notes")
        if name == "widget":  # the visitor's browser may read it: the widget's CORS headers are on the 503
            assert r.headers["access-control-allow-origin"] == "https://shop.acme.example"
    assert counts(data) == before
    log = log_of(srv)
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "with 503" in line]
    assert len(lines) == len(writes), log
    assert all("cannot write to the store in" in line for line in lines), log
    disk.freed()
    for name, request in writes.items():
        r = send(request)
        assert r.status_code in (200, 201), (name, r.status_code, r.text)
    after = counts(data)
    assert after["replies"] == before["replies"] + 2 and after["test_notes"] == before["test_notes"] + 4
    # The upload, and the widget's annotation with its screenshot.
    assert after["uploads"] == before["uploads"] + 2 and after["annotations"] == before["annotations"] + 1


@pytest.mark.parametrize("name", ["reply", "notes"])
def test_an_idempotency_key_retried_after_a_full_disk_is_applied_once(served, name):
    """The refused request's record does not claim it was applied, and its key is not stuck
    "still being processed": once there is room the retry runs, and a second retry replays it."""
    srv, w, data, disk = served
    request = requests(srv, w, data)[name]
    before = counts(data)
    disk.full()
    refused(send(request, **{"Idempotency-Key": "k-1"}), data, enveloped=name == "notes")
    assert all(state == "in_flight" for (state,) in keyed_record(data, "k-1")), keyed_record(data, "k-1")
    refused(send(request, **{"Idempotency-Key": "k-1"}), data, enveloped=name == "notes")  # still full: no 409
    disk.freed()
    first = send(request, **{"Idempotency-Key": "k-1"})
    assert first.status_code in (200, 201), first.text
    again = send(request, **{"Idempotency-Key": "k-1"})
    assert again.status_code == first.status_code and again.headers.get("idempotent-replayed") == "true", again.text
    after = counts(data)
    table, n = ("replies", 1) if name == "reply" else ("test_notes", 4)
    assert after[table] == before[table] + n
    assert keyed_record(data, "k-1") == [("done",)]


@pytest.mark.postgresql_only("SQLite's WAL takes a small claim or not depending on when it was last checkpointed; the trigger decides")
def test_a_key_whose_claim_fit_but_whose_release_did_not_is_not_stuck(served):
    """The disk had room for the claim (a small row) and none for the write, nor then for the
    claim's release: the record stays in flight, but its request is over, so the retry runs,
    full disk or not, instead of meeting 409 "still being processed" until the server restarts."""
    srv, w, data, disk = served
    request = requests(srv, w, data)["reply"]
    before = counts(data)
    disk.full(room_for_a_claim=True)
    refused(send(request, **{"Idempotency-Key": "k-2"}), data)
    assert keyed_record(data, "k-2") == [("in_flight",)]
    refused(send(request, **{"Idempotency-Key": "k-2"}), data)
    disk.freed()
    assert send(request, **{"Idempotency-Key": "k-2"}).status_code == 201
    assert send(request, **{"Idempotency-Key": "k-2"}).headers.get("idempotent-replayed") == "true"
    assert counts(data)["replies"] == before["replies"] + 1
    assert "Traceback" not in log_of(srv)


def test_mcp_over_http_answers_a_full_disk_with_a_tool_error_naming_no_path(served):
    srv, w, data, disk = served
    url = f"{srv.url}/mcp/{w.a['mcp_token']}"
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "reply", "arguments": {"id": w.a["annotation_id"], "message": BIG}}}
    accept = {"Accept": "application/json, text/event-stream"}
    before = counts(data)
    disk.full()
    r = httpx.post(url, json=call, headers=accept, timeout=60)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert text.startswith(f"Error executing tool reply: {SAID}"), text
    assert str(data) not in text and "postgresql://" not in text
    assert counts(data) == before
    assert "Traceback" not in log_of(srv)
    disk.freed()
    r = httpx.post(url, json=call, headers=accept, timeout=60)
    assert r.json()["result"].get("isError") is not True, r.text
    assert counts(data)["replies"] == before["replies"] + 1



@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The records of the server's own loggers, whether or not they propagate to the root."""
    # caplog's handler is on the root: added only to those that stop there, so no record comes twice.
    loggers = [logger for name in ("workbench.server", "workbench.search_upkeep", "workbench.jobs") if not (logger := logging.getLogger(name)).propagate]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    yield caplog
    for logger in loggers:
        logger.removeHandler(caplog.handler)


@pytest.mark.sqlite_only("SQLite's jobs run in the server's own pool; PostgreSQL's are rows of `jobs`, retried on the row")
def test_a_background_job_the_disk_refused_is_one_line_without_a_traceback(wb: Workbench, server_log: pytest.LogCaptureFixture):
    def refused() -> None:
        with wb.store.write() as db, pages_capped(wb.store):
            db.execute("INSERT INTO meta (key, value) VALUES ('filler', ?)", ["x" * 200_000])

    jobs = Jobs(wb, ServerSettings())
    try:
        job = jobs.submit(refused)
        assert job is not None
        with pytest.raises(StoreWriteFailed):
            job.result(timeout=30)
        crashed = jobs.submit(lambda: 1 / 0)  # any other failure keeps its traceback: it points at a bug
        assert crashed is not None
        with pytest.raises(ZeroDivisionError):
            crashed.result(timeout=30)
    finally:
        jobs.shutdown()
    failed = [r for r in server_log.records if r.getMessage().startswith("background job failed")]
    assert len(failed) == 2, failed
    # Told apart by what they say, not by their order: each job's line is logged by its done
    # callback, on the pool's thread, which may still be running when result() has returned.
    disk = [r for r in failed if "cannot write to the store in" in r.getMessage()]
    bug = [r for r in failed if r not in disk]
    assert len(disk) == 1 and len(bug) == 1, failed
    assert "runs again when the server next starts" in disk[0].getMessage()
    assert disk[0].exc_info is None and bug[0].exc_info is not None


@pytest.mark.postgresql_only("PostgreSQL's jobs are rows of `jobs`, claimed and retried there; SQLite's: the test above")
def test_a_claimed_job_the_database_disk_refused_is_logged_in_lines_without_a_traceback(
    wb: Workbench, server_log: pytest.LogCaptureFixture
):
    started, go = threading.Event(), threading.Event()

    def refused(wb: Workbench, payload: str) -> None:
        started.set()
        go.wait(30)
        with wb.store.write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('filler', 'x')")

    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only
    jobs = PgJobs(wb, ServerSettings())
    jobs.runners = {"probe": refused}
    try:
        with jobs.together(None) as later:
            later("probe", "one")
        assert started.wait(30), "the job was not claimed"
        pg_disk_full(url)  # now the job's write fails, and so does recording that it failed
        go.set()
        found = wait_until(lambda: [r for r in server_log.records if "could not be recorded" in r.getMessage()], bool,
                           what="the job's outcome refused")
    finally:
        go.set()
        pg_disk_freed(url)
        jobs.shutdown()
    failed = [r for r in server_log.records if r.getMessage().startswith("background job probe one failed")]
    assert len(failed) == 1 and "disk" in failed[0].getMessage(), failed
    assert "SQLSTATE 53100" in found[0].getMessage()
    assert all(r.exc_info is None for r in server_log.records if r.levelno >= logging.ERROR)


@pytest.mark.sqlite_only("the search indexes are SQLite's FTS5: PostgreSQL's are generated columns")
async def test_the_search_upkeep_tells_a_full_disk_once_and_indexes_when_there_is_room(
    wb: Workbench, creds: dict[str, Any], server_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    ann = asvc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://x/", body="Quokka"))
    owner = owner_principal(creds["workspace_id"], creds["owner_user_id"])
    words = random.Random(7)
    for _ in range(4):  # words enough that indexing them needs pages the full disk will not give
        body = " ".join("".join(words.choices(string.ascii_lowercase, k=6)) for _ in range(2_500))
        asvc.reply(wb, owner, ann.id, ReplyCreate(body=body))
    pending = "SELECT (SELECT count(*) FROM inbox_fts_pending) + (SELECT count(*) FROM replies_fts_pending)"
    assert wb.store.db.execute(pending).fetchone()[0] > 0
    rounds = 0
    index = search_upkeep.inbox.index_pending

    def counted(w: Workbench) -> bool:
        nonlocal rounds
        rounds += 1
        return index(w)

    monkeypatch.setattr(search_upkeep, "EVERY_S", 0.01)
    monkeypatch.setattr(search_upkeep.inbox, "index_pending", counted)
    with pages_capped(wb.store) as free:
        upkeep = asyncio.ensure_future(search_upkeep.keep_search_current(wb))
        try:
            await wait_until_async(lambda: rounds >= 10, "ten rounds of the upkeep on the full disk")
            told = [r for r in server_log.records if r.name == "workbench.search_upkeep"]
            assert len(told) == 1, [r.getMessage() for r in told]
            assert "cannot write to the store in" in told[0].getMessage() and told[0].exc_info is None
            free()
            await wait_until_async(lambda: wb.store.db.execute(pending).fetchone()[0] == 0, "the pending documents indexed")
        finally:
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
    told = [r.getMessage() for r in server_log.records if r.name == "workbench.search_upkeep"]
    assert len(told) == 2 and "takes writes again" in told[1], told
