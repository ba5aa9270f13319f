"""Sync against a server that offers only what greatfeedback-api.txt says (tests/sync/docs_server.py).

Real processes over TCP: the documents-only server, and `workbench` CLI replicas. What the
bundled server adds (nested reply authors, ETags, thread-changes, ``Retry-After``) is absent.
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.client import MAX_THROTTLED_WINDOWS, RemoteClient, Unavailable
from tests.conftest import free_port
from tests.sync import docs_server
from tests.sync.test_sync_e2e import ROOT, Cli, _add_remote

pytestmark = pytest.mark.e2e
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class DocsServer:
    """``python -m tests.sync.docs_server`` on a free loopback port, with its state and request log."""

    def __init__(self, tmp: Path, *, annotations: int, dashboard_replies: int = 1, per_ip: int = 1000, window: float = 60.0,
                 feedback_rounds: int = 0) -> None:
        self.token = "gfat_" + secrets.token_urlsafe(32)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_path, self.log_path = tmp / "docs-state.json", tmp / "docs-requests.jsonl"
        seed = tmp / "docs-seed.json"
        seed.write_text(json.dumps(docs_server.make_seed(self.token, annotations, dashboard_replies=dashboard_replies, feedback_rounds=feedback_rounds)))
        self.out = open(tmp / "docs-server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.docs_server", "--seed", str(seed), "--state", str(self.state_path), "--log",
             str(self.log_path), "--port", str(self.port), "--per-ip", str(per_ip), "--window", str(window)],
            stdout=self.out, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docs server exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + "/", timeout=1.0)  # outside /api/: not rate limited
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.out.close()


def _replica_threads(cli: Cli) -> list[tuple]:
    with cli.db() as d:
        return d.execute("SELECT id, annotation_id, author_name, body FROM replies ORDER BY id").fetchall()


def _server_threads(state: dict[str, Any]) -> list[tuple]:
    return sorted((r["id"], r["annotation_id"], r["author_name"], r["body"]) for r in state["replies"])


def test_flat_reply_authors_are_pulled_and_a_crashed_push_is_matched_not_resent(tmp_path):
    srv = DocsServer(tmp_path, annotations=6)
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, srv.token)
        assert a.run("sync").returncode == 0
        with a.db() as d:
            assert d.execute("SELECT author_kind, author_name FROM replies WHERE id = 'rep-seed-0000'").fetchone() == (
                "user", docs_server.DASHBOARD_AUTHOR)
        a.run("annotation", "reply", "ann-0003", "sent once, then the client died")
        with a.db() as d:
            [(author,)] = d.execute("SELECT author_name FROM replies WHERE body = 'sent once, then the client died'").fetchall()
        assert author
        # The server stores the reply, the client dies before recording the answer.
        killed = a.run("sync", check=False, env={"WORKBENCH_SYNC_CRASH_AT": "push:after_send"})
        assert killed.returncode == -signal.SIGKILL
        assert a.run("sync").returncode == 0
        posts = [r for r in srv.requests() if r["method"] == "POST"]
        assert len(posts) == 1, posts  # the re-run found its reply on the thread instead of sending it again
        state = srv.state()
        [mine] = [r for r in state["replies"] if r["body"] == "sent once, then the client died"]
        assert mine["author_name"] == author
        assert _replica_threads(a) == _server_threads(state)
        with a.db() as d:
            assert d.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == 0
    finally:
        srv.stop()


def test_sync_waits_for_the_documented_window_says_why_and_converges(tmp_path):
    # 70 annotations, each with a reply: ~75 requests against 30 per 2-second window per IP.
    srv = DocsServer(tmp_path, annotations=70, dashboard_replies=70, per_ip=30, window=2)
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, srv.token)
        # A terminal (forced) so the progress line is drawn, as a user sees it.
        r = a.run("sync", env={"WORKBENCH_SYNC_RATE_WINDOW": "2", "TTY_COMPATIBLE": "1", "COLUMNS": "300"})
        shown = ANSI.sub("", r.stderr)
        reason = "Rate limit exceeded: 30 requests per 2 s per IP"
        assert f"rate limited ({reason}): waiting 2 s for the server's 2-second window to roll over" in shown, shown
        assert re.search(r"the server rate-limited this run: waited \d+ s in \d+ pause\(s\)", shown), shown
        log = srv.requests()
        throttled = Counter(x["window"] for x in log if x["status"] == 429)
        assert throttled, "the server never rate-limited the sync: the test proves nothing"
        # After a 429 the client sends nothing more until the window has rolled over.
        assert max(throttled.values()) == 1, throttled
        state = srv.state()
        assert _replica_threads(a) == _server_threads(state)
        with a.db() as d:
            assert sorted(x for (x,) in d.execute("SELECT id FROM annotations")) == sorted(state["annotations"])
    finally:
        srv.stop()


def test_a_bucket_that_stays_full_stops_the_request_after_bounded_windows(tmp_path):
    srv = DocsServer(tmp_path, annotations=1, per_ip=0)  # every /api request is refused
    waits: list[tuple[str, int, int | None]] = []
    client = RemoteClient(srv.url, token=srv.token, rate_window=0.2, on_wait=lambda *w: waits.append(w))
    try:
        with pytest.raises(Unavailable) as exc:
            client.get("/api/v1/sites")
        assert exc.value.status == 429 and "Rate limit exceeded" in exc.value.reason
        refused = [x for x in srv.requests() if x["status"] == 429]
        assert len(refused) == client.throttled_waits + 1  # one request per window, then it gave up
        assert client.throttled_waits == MAX_THROTTLED_WINDOWS
        assert all("window to roll over" in label for label, _, _ in waits)
    finally:
        client.close()
        srv.stop()


def test_without_etags_a_no_op_sync_reads_the_open_rounds_comments_and_converges(tmp_path):
    """The documents give the feedback-sessions list no ETag: the replica never gets a 304, so it
    reads the comments of each round still open on every sync, and stays equal to the server."""
    srv = DocsServer(tmp_path, annotations=2, feedback_rounds=3)
    a = Cli(tmp_path, "alice")
    try:
        r = a.run("remote", "add", "origin", srv.url, "--no-prompt", env={"WORKBENCH_TOKEN": srv.token, "WORKBENCH_STORE_KEY": srv.token})
        assert "Saved to the system keyring" in r.stderr
        seed = json.loads((tmp_path / "docs-seed.json").read_text())

        def mirrored() -> tuple[list[tuple], list[tuple]]:
            with a.db() as d:
                return (d.execute("SELECT id, status FROM feedback_sessions ORDER BY id").fetchall(),
                        d.execute("SELECT id, session_id, content FROM feedback_comments ORDER BY id").fetchall())

        expected = (
            sorted((f["id"], f["status"]) for f in seed["feedback_sessions"]),
            sorted((c["id"], sid, c["content"]) for sid, cs in seed["feedback_comments"].items() for c in cs),
        )
        for _ in range(3):
            assert a.run("sync").returncode == 0
            assert mirrored() == expected
        lists = [x for x in srv.requests() if x["path"] == "/api/v1/feedback-sessions"]
        reads = Counter(x["path"] for x in srv.requests() if x["path"].endswith("/comments"))
        assert len(lists) == 3 and all(x["status"] == 200 for x in lists)
        # The open round is read each time; the finished ones once, then skipped as before.
        assert reads == {"/api/v1/feedback-sessions/fs-002/comments": 3, "/api/v1/feedback-sessions/fs-000/comments": 1,
                         "/api/v1/feedback-sessions/fs-001/comments": 1}, reads
    finally:
        srv.stop()
