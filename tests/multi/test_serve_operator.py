"""`workbench serve --workers 2` as its operator starts it and reads it: what it prints is true when printed.

Each test runs the real command in its own process group and reads its output as a person or a
supervisor script would: a line saying where it serves means a connection there is accepted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from storage.pg_conn import sql_text
from tests.conftest import free_port, stop_group
from tests.multi.conftest import ROOT, wait_for
from tests.pg_cluster import Cluster
from tests.server.test_serve_listens_first import _docs_line
from tests.session_helpers import new_store
from workbench.services import feedback_sessions as fsvc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

PASSWORD = "never-printed-7c2q"  # the cluster trusts loopback: never checked, and never to be shown


@pytest.fixture
def url(pg_cluster: Cluster) -> Iterator[str]:
    with pg_cluster.database() as made:
        yield made


def _serve(url: str, data: Path, port: int, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), "WORKBENCH_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--data-dir", str(data), "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT, start_new_session=True,
    )


def test_a_connection_right_after_the_server_says_it_serves_is_accepted(url: str, tmp_path: Path):
    """uvicorn's workers listened only once each had started its app, seconds after the parent
    printed that it was running: a connection made on reading that line was refused."""
    port = free_port()
    proc = _serve(url, tmp_path / "data", port, "--workers", "2", "--log-level", "info")
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # each line is read as it is printed
            seen.append(line)
            if line.startswith("Docs:") or "Uvicorn running on" in line:
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    pass  # accepted: refused would raise ConnectionRefusedError
            if "Uvicorn running on" in line:
                break
        else:
            pytest.fail("serve exited before saying it runs:\n" + "".join(seen))
        # Accepted, and answered once a worker has started its app.
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=60).status_code == 200
    finally:
        stop_group(proc)


def _docs_port(proc: subprocess.Popen[str]) -> int:
    """The port the ``Docs:`` line names, read the moment it is printed."""
    return int(_docs_line(proc).rsplit(":", 1)[1].split("/")[0])


def test_host_empty_serves_ipv4_and_ipv6_from_every_worker(url: str, tmp_path: Path):
    """The workers' parent bound one socket, IPv4 for --host "": :: was never listened on, where
    one process listens on both."""
    port = free_port()
    proc = _serve(url, tmp_path / "data", port, "--workers", "2", "--host", "")
    try:
        assert _docs_port(proc) == port
        for address in ("127.0.0.1", "[::1]"):
            assert httpx.get(f"http://{address}:{port}/docs", timeout=60).status_code == 200
    finally:
        stop_group(proc)


def test_port_0_with_workers_serves_on_the_port_the_docs_line_names(url: str, tmp_path: Path):
    """The Docs line named port 0, an address nothing can reach: the port the system chose is
    known once bound, and named, as in one process."""
    proc = _serve(url, tmp_path / "data", 0, "--workers", "2")
    try:
        port = _docs_port(proc)
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=60).status_code == 200
    finally:
        stop_group(proc)


def _workers(proc: subprocess.Popen[str]) -> list[int]:
    """The serving processes uvicorn started under ``proc`` (not multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]


def test_a_worker_restarted_while_the_database_is_down_waits_for_it_in_one_line_and_then_recovers_the_jobs(tmp_path: Path):
    """A worker killed while PostgreSQL is down is started again by uvicorn, and opening the store
    failed: a traceback, the worker dead, started again, another traceback. Now it says so once,
    starts when the database is back, and its startup sweep queues the work left unfinished."""
    cluster = Cluster()
    proc = None
    try:
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            conn.execute(sql_text("CREATE DATABASE waited"))
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/waited"
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "workbench", "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--workers", "2"],
                stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), "WORKBENCH_DATABASE_URL": url},
            )
        wait_for(lambda: _answers(port), "serve answering")
        wb = Workbench.open(str(tmp_path / "data"), database=url, mailer=None)
        try:
            # After the workers' own sweeps: only a worker started later queues it.
            left = fsvc.start(wb, new_store(wb, bootstrap(wb), "Left mid-deployment")[0])
        finally:
            wb.store.close()
        workers = wait_for(lambda: len(w := _workers(proc)) == 2 and w, "two workers")
        cluster.halt()
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: "it starts serving once it can" in log.read_text(), "the restarted worker's line")
        cluster.resume()
        with psycopg.connect(url, autocommit=True) as conn:
            status = sql_text("SELECT status FROM feedback_sessions WHERE id = %s")
            wait_for(lambda: conn.execute(status, [left.id]).fetchone() == ("in_review",), "the left session deployed", timeout=60)
    finally:
        if proc is not None:
            stop_group(proc)
        cluster.stop()
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]
    assert text.count("it starts serving once it can") == 1, text[-4000:]
    assert PASSWORD not in text


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
