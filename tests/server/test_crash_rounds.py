"""Crash rounds: SIGKILL a real `workbench serve` under eight concurrent writers, restart, and count the rows.

Every write carries its own Idempotency-Key. A write that got a 2xx must be there after the
restart (none lost); a write that got no answer is retried after the restart with the same key
and must then be there exactly once (none applied twice). Plus issue 13's item 5 for a plain
HTTP client: the server dies after applying a write and before answering; the retry with the
same key must not apply it again.
"""

from __future__ import annotations

import signal
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import serve, served_world
from tests.server.world import World
from tests.stores import reading

pytestmark = pytest.mark.e2e

WRITERS = 8
ROUNDS = 3
KILL_AFTER = (12, 30, 20)  # answered writes in a round before the kill -9, varied so the kill lands in different work


@dataclass
class Write:
    method: str
    path: str
    body: dict
    headers: dict[str, str]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    answered: int | None = None  # the status of the answer, None while there was none

    def send(self, client: httpx.Client, base: str) -> int:
        r = client.request(self.method, base + self.path, json=self.body, headers={**self.headers, "Idempotency-Key": self.key}, timeout=15)
        self.answered = r.status_code
        if r.status_code == 409 and "applied" in r.json():
            # README, Idempotency-Key: a write applied before the server died, whose response was
            # lost, is answered 409 "already applied" naming what it wrote; it is not run again.
            self.answered = 200
        return self.answered


@dataclass
class Round:
    killed: threading.Event = field(default_factory=threading.Event)
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _credentials(w: World) -> list[dict[str, str]]:
    """Writers alternate between an API token and an OWNER session (different idempotency scopes)."""
    return [w.headers["memb"], w.headers["owner"]]


def _writer(n: int, w: World, base: str, annotation_ids: list[str], writes: list[Write], rnd: Round, kill_after: int, proc) -> None:
    creds = _credentials(w)[n % 2]
    ann = annotation_ids[n]
    with httpx.Client() as client:
        for i in range(200):
            if rnd.killed.is_set():
                return
            if i % 2:
                write = Write("PATCH", f"/api/v1/annotations/{ann}", {"summary": f"writer {n} summary {uuid.uuid4().hex}"}, creds)
            else:
                write = Write("POST", f"/api/v1/annotations/{ann}/replies", {"body": f"writer {n} reply {uuid.uuid4().hex}"}, creds)
            writes.append(write)
            try:
                code = write.send(client, base)
            except httpx.HTTPError:
                return  # no answer: retried after the restart
            if not 200 <= code < 300:
                rnd.errors.append(f"{write.method} {write.path} answered {code}")  # a thread's assert would go unseen
                return
            with rnd.lock:
                rnd.answered += 1
                if rnd.answered == kill_after and not rnd.killed.is_set():
                    proc.send_signal(signal.SIGKILL)
                    rnd.killed.set()


def _annotations(base: str, w: World) -> list[str]:
    r = httpx.get(f"{base}/api/v1/sites/{w.a['site_id']}/annotations?limit=50", headers=w.headers["memb"])
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["items"]]


def test_kill_minus_nine_under_eight_writers_loses_nothing_and_applies_nothing_twice(tmp_path: Path, engine: str):
    data, w = served_world(tmp_path)
    srv = serve(data)
    port = srv.port
    try:
        # One annotation per writer, so each writer's last PATCH decides its summary.
        for i in range(WRITERS):
            r = httpx.post(f"{srv.url}/api/widget/sites/{w.a['site_id']}/annotations", headers={"X-GF-Widget-Token": w.a["widget_token"]},
                           json={"page_url": f"https://shop.acme.example/p{i}", "body": f"page {i} is broken"})
            assert r.status_code == 201, r.text
        annotation_ids = _annotations(srv.url, w)[:WRITERS]
        per_writer: list[list[Write]] = [[] for _ in range(WRITERS)]
        unanswered_total = 0
        for rnd_no in range(ROUNDS):
            rnd = Round()
            threads = [threading.Thread(target=_writer, args=(n, w, srv.url, annotation_ids, per_writer[n], rnd, KILL_AFTER[rnd_no], srv.proc))
                       for n in range(WRITERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert not rnd.errors, rnd.errors
            assert rnd.killed.is_set(), "the round ended before its kill"
            assert srv.proc.wait(10) == -signal.SIGKILL
            srv.stop()
            srv = serve(data, port=port)
            # Every write without an answer is retried, as a client would, with its own key.
            with httpx.Client() as client:
                for writes in per_writer:
                    for write in writes:
                        if write.answered is None:
                            unanswered_total += 1
                            code = write.send(client, srv.url)
                            assert 200 <= code < 300, f"retry of {write.method} {write.path} answered {code}"
        srv.stop()
        assert unanswered_total >= ROUNDS, "no write was caught by a kill: the rounds proved nothing"
        with reading(data) as db:
            if engine == "sqlite":  # a killed writer can tear SQLite's file, not a PostgreSQL server's pages
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            for n, writes in enumerate(per_writer):
                for write in writes:
                    if write.method == "POST":
                        count = db.execute("SELECT count(*) FROM replies WHERE body = ?", [write.body["body"]]).fetchone()[0]
                        assert count == 1, f"reply {write.body['body']!r} ({'retried' if write.answered else 'answered'}) is there {count} times"
                patches = [x for x in writes if x.method == "PATCH"]
                summary = db.execute("SELECT summary FROM annotations WHERE id = ?", [annotation_ids[n]]).fetchone()[0]
                assert summary == patches[-1].body["summary"], f"writer {n}'s last PATCH was lost"
    finally:
        srv.stop()


@pytest.mark.parametrize(
    "fault,path,body",
    [
        ("POST /replies$", "replies", {"body": "the server died after saving me"}),
        ("POST /resolutions$", "resolutions", {"diff_url": "https://github.com/acme/shop/pull/9", "explanation": "saved, then the server died"}),
    ],
)
def test_a_plain_client_retrying_after_a_crash_after_apply_gets_exactly_one_write(tmp_path: Path, fault: str, path: str, body: dict):
    data, w = served_world(tmp_path)
    srv = serve(data, env={"WORKBENCH_TEST_CRASH_AFTER_APPLY": fault})
    port = srv.port
    url = f"/api/v1/annotations/{w.a['annotation_id']}/{path}"
    headers = {**w.headers["memb"], "Idempotency-Key": "retry-me-1"}
    try:
        with pytest.raises(httpx.HTTPError):
            httpx.post(srv.url + url, json=body, headers=headers, timeout=15)
        assert srv.proc.wait(10) == -signal.SIGKILL
        srv.stop()
        srv = serve(data, port=port)  # back up, without the fault
        # The write committed with its idempotency record but its response was lost: the retry is
        # told what was applied (README, Idempotency-Key) and nothing runs again, every time.
        retry = httpx.post(srv.url + url, json=body, headers=headers, timeout=15)
        assert retry.status_code == 409 and retry.json()["applied"]["entity_id"], retry.text
        again = httpx.post(srv.url + url, json=body, headers=headers, timeout=15)
        assert again.status_code == 409 and again.json()["applied"] == retry.json()["applied"], again.text
        srv.stop()
        table, column, value = ("replies", "body", body["body"]) if path == "replies" else ("resolutions", "explanation", body["explanation"])
        with reading(data) as db:
            count = db.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", [value]).fetchone()[0]  # fixed names
        assert count == 1, f"the retried write was applied {count} times"
    finally:
        srv.stop()
