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
import pytest

from tests.conftest import free_port
from tests.multi.conftest import ROOT
from tests.pg_cluster import Cluster


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


def _stop(proc: subprocess.Popen[str]) -> str:
    """Stop the server and its workers; the rest of its output."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        rest, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
    return rest or ""


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
        _stop(proc)
