"""A team server whose PostgreSQL stops while it serves: a 503 with Retry-After, one log line, then recovery with no restart.

Once it is back no request fails for the connections the restart cut; the startup sweep and the
job claimer and version watch wait it out, each saying so once. Each test has its own cluster
(not the session's ``pg_cluster``, which every other test shares): it stops PostgreSQL under a
`workbench serve --workers 2`, or under an app in this process, and starts it again. The database URL
carries a password (the cluster trusts loopback, so it is never checked) that must appear in
no answer and no log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from storage import pg_versions
from storage.pg_conn import sql_text
from tests.multi.conftest import ROOT, Serve, bearer, wait_for
from tests.pg_cluster import Cluster
from tests.session_helpers import new_store
from workbench.server import jobs
from workbench.server.app import create_app
from workbench.server.settings import ServerSettings
from workbench.services import feedback_sessions as fsvc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

PASSWORD = "never-in-a-log-9f3k"


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[tuple[Cluster, Serve, dict[str, Any]]]:
    cluster = Cluster()
    try:
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            conn.execute(sql_text("CREATE DATABASE restarted"))
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/restarted"
        data = tmp_path / "data"
        runs = tmp_path / "deploy-runs.txt"
        out = subprocess.run(
            [sys.executable, "-m", "workbench", "admin", "bootstrap", "--database", url, "--data-dir", str(data), "--json"],
            capture_output=True, text=True, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        serve = Serve(url, data, runs)
        try:
            yield cluster, serve.wait_ready(), json.loads(out.stdout)
        finally:
            serve.stop()
    finally:
        cluster.stop()


def _requests(creds: dict[str, Any], annotation_id: str) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, httpx keywords, status when the database is up): a route's read, the hot
    list, a route's write, a keyed write, a hot write and the enveloped test-sessions API."""
    member = bearer(creds["member_token"])
    return [
        ("GET", "/api/v1/sites", {"headers": member}, 200),
        ("GET", f"/api/v1/sites/{creds['site_id']}/annotations", {"headers": member}, 200),
        ("POST", f"/api/v1/annotations/{annotation_id}/replies", {"headers": member, "json": {"body": "while down"}}, 201),
        ("POST", f"/api/v1/annotations/{annotation_id}/replies",
         {"headers": {**member, "Idempotency-Key": "k-down"}, "json": {"body": "keyed"}}, 201),
        ("PATCH", f"/api/v1/annotations/{annotation_id}", {"headers": member, "json": {"status": "ack"}}, 200),
        ("GET", f"/api/sessions/{creds['job_id']}", {"headers": bearer(creds["jwt"])}, 404),
    ]


def test_a_database_stopped_while_serving_is_a_503_then_serving_resumes_without_a_restart(restartable):
    cluster, serve, creds = restartable
    with httpx.Client(base_url=serve.url, timeout=30) as client:
        r = client.post(f"/api/widget/sites/{creds['site_id']}/annotations",
                        json={"page_url": "https://shop.example/cart", "body": "Checkout overlaps"},
                        headers={"X-GF-Widget-Token": creds["widget_token"]})
        assert r.status_code == 201, r.text
        requests = _requests(creds, r.json()["id"])
        for method, path, kw, _ in requests:  # every worker's connections open before the stop
            for _ in range(4):
                client.request(method, path, **kw)

    cluster.halt()
    for method, path, kw, _ in requests:
        for _ in range(3):  # new connections: each may reach either worker
            r = httpx.request(method, serve.url + path, timeout=30, **kw)
            assert r.status_code == 503, (method, path, r.status_code, r.text)
            assert 1 <= int(r.headers["retry-after"]) <= 60
            if path.startswith("/api/sessions"):
                assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE", r.text
            else:
                assert "database" in r.json()["detail"], r.text
            assert PASSWORD not in r.text and str(cluster.port) not in r.text

    cluster.resume()
    for method, path, kw, up in requests:
        wait_for(lambda method=method, path=path, kw=kw, up=up: all(
            httpx.request(method, serve.url + path, timeout=30, **kw).status_code == up for _ in range(6)
        ), f"{method} {path} answered {up} again")

    serve.stop()
    log = Path(serve.log.name).read_text()
    assert PASSWORD not in log
    assert "Traceback" not in log, log[-4000:]
    assert "cannot reach the database" in log


def test_no_request_fails_once_a_restarted_database_is_back(restartable):
    """Every serving thread's connection died with the old server: each is replaced as it is
    checked out, so the first requests after the restart go through, none a 503."""
    cluster, serve, creds = restartable
    widget = (f"/api/widget/sites/{creds['site_id']}/annotations", {"X-GF-Widget-Token": creds["widget_token"]})
    with httpx.Client(base_url=serve.url, timeout=30) as client:
        r = client.post(widget[0], json={"page_url": "https://shop.example/cart", "body": "Checkout overlaps"}, headers=widget[1])
        assert r.status_code == 201, r.text
        annotation_id = r.json()["id"]
    requests = [*_requests(creds, annotation_id),
                ("POST", widget[0], {"headers": widget[1], "json": {"page_url": "https://shop.example/", "body": "again"}}, 201)]

    def each_once() -> list[tuple[str, str, int, str]]:
        # Concurrent, so several threads of each worker open (and later hold stale) connections.
        with httpx.Client(base_url=serve.url, timeout=30) as client, ThreadPoolExecutor(8) as pool:
            sent = [(m, p, {**kw, "headers": {**kw["headers"], "Idempotency-Key": uuid.uuid4().hex}}
                     if "Idempotency-Key" in kw["headers"] else kw, up) for m, p, kw, up in requests for _ in range(4)]
            answers = pool.map(lambda one: (one, client.request(one[0], one[1], **one[2])), sent)
            return [(m, p, r.status_code, r.text[:200]) for (m, p, _, up), r in answers if r.status_code != up]

    assert each_once() == []
    cluster.halt()
    cluster.resume()  # returns once PostgreSQL accepts connections
    assert each_once() == []

    serve.stop()
    log = Path(serve.log.name).read_text()
    assert "cannot reach the database" not in log, log[-4000:]


def test_the_startup_sweep_waits_out_a_database_that_is_down_and_queues_the_jobs_once_it_is_back(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """A worker (re)started as PostgreSQL went down: its sweep of the work a stopped server left
    (here a session left `created`, with no job) said so with a traceback and was never tried
    again. Now: one line, tries again, and the session is deployed once the database is back."""
    cluster = Cluster()
    try:
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            conn.execute(sql_text("CREATE DATABASE swept"))
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/swept"
        wb = Workbench.open(str(tmp_path / "data"), database=url, mailer=None)
        try:
            creds = bootstrap(wb)
            left = fsvc.start(wb, new_store(wb, creds, "Left mid-deployment")[0])  # `created`, no job
            app = create_app(wb)
            cluster.halt()
            with caplog.at_level(logging.INFO, logger="workbench.jobs"), TestClient(app):
                wait_for(lambda: any("cannot queue the jobs" in r.getMessage() for r in caplog.records), "the sweep's line")
                cluster.resume()
                app.state.sweep.result(timeout=30)
                status = "SELECT status FROM feedback_sessions WHERE id = ?"
                wait_for(lambda: wb.store.db.execute(status, [left.id]).fetchone()[0] == "in_review", "the left session deployed")
        finally:
            wb.store.close()
    finally:
        cluster.stop()
    sweep_lines = [r for r in caplog.records if "cannot queue the jobs" in r.getMessage()]
    assert len(sweep_lines) == 1 and PASSWORD not in sweep_lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


def test_an_outage_is_one_line_when_lost_and_one_when_back_from_the_claimer_and_the_version_watch(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """The job claimer logged a line every second of an outage, in every worker, and the version
    watch one per reconnect attempt; and the watch's back-off never reset, so after its first
    outage it waited 5 s before each later reconnect. Now: a line when lost, one when back."""
    cluster = Cluster()
    tries = {"claimer": 0, "watch": 0}
    try:
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            conn.execute(sql_text("CREATE DATABASE quiet"))
        url = f"postgresql://postgres@127.0.0.1:{cluster.port}/quiet"
        wb = Workbench.open(str(tmp_path / "data"), database=url, mailer=None)
        watch = pg_versions.VersionWatch(url)
        claimer_listen, watch_listen = jobs.PgJobs._listen, pg_versions.VersionWatch._listen

        def counted_claimer(self: jobs.PgJobs) -> Any:
            tries["claimer"] += 1
            return claimer_listen(self)

        async def counted_watch(self: pg_versions.VersionWatch) -> None:
            tries["watch"] += 1
            await watch_listen(self)

        loop = asyncio.new_event_loop()
        running = threading.Thread(target=loop.run_forever, daemon=True)
        with caplog.at_level(logging.INFO), pytest.MonkeyPatch.context() as patch:
            patch.setattr(jobs.PgJobs, "_listen", counted_claimer)
            patch.setattr(pg_versions.VersionWatch, "_listen", counted_watch)
            claimer = jobs.PgJobs(wb, ServerSettings())
            running.start()
            watching = asyncio.run_coroutine_threadsafe(watch.run(), loop)
            try:
                for outage in (1, 2):
                    wait_for(lambda outage=outage: watch.connects == outage and tries["claimer"] >= 1, "both listening")
                    before = dict(tries)
                    cluster.halt()
                    wait_for(lambda before=before: all(tries[k] >= before[k] + 3 for k in tries), "three tries each while down")
                    cluster.resume()
                    for back in ("listening again", "claimer reconnected"):
                        wait_for(lambda back=back, outage=outage: sum(back in r.getMessage() for r in caplog.records) == outage, back)
            finally:
                watching.cancel()
                claimer.shutdown()
                loop.call_soon_threadsafe(loop.stop)
                running.join(5)
                wb.store.close()
    finally:
        cluster.stop()
    said = [r.getMessage() for r in caplog.records]
    assert sum("job claimer lost its database connection" in m for m in said) == 2, said
    assert sum("store version watch lost its connection" in m for m in said) == 2, said
