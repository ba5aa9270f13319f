"""`workbench serve` in one process (no --workers) as a script starts it: the line saying where it serves is true when printed.

Each test runs the real command in its own process group and reads its output line by line, as
a supervisor script would, connecting the moment the ``Docs:`` line appears.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, stop_group

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _serve(data: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--data-dir", str(data), "--log-level", "info", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT, start_new_session=True,
    )


def _docs_line(proc: subprocess.Popen[str]) -> str:
    """The ``Docs:`` line, returned the moment it is read."""
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Docs:"):
            return line
    pytest.fail("serve exited before saying where it serves:\n" + "".join(seen))


def test_a_request_made_on_reading_the_docs_line_is_answered(tmp_path: Path):
    """uvicorn.run bound the port only once the app had started, after the Docs line: a request
    made on reading it was refused. Now it waits in the backlog and is answered."""
    port = free_port()
    proc = _serve(tmp_path / "data", "--port", str(port))
    try:
        _docs_line(proc)
        # No retry: refused would raise httpx.ConnectError at once.
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=60).status_code == 200
    finally:
        rest = stop_group(proc)
    assert "Uvicorn running on http://127.0.0.1:" in rest


def test_port_0_serves_on_the_port_the_docs_line_names(tmp_path: Path):
    """--port 0 said "Docs: http://127.0.0.1:0/docs", an address nothing can reach: the port the
    system chose is known once bound, and named."""
    proc = _serve(tmp_path / "data", "--port", "0")
    try:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/docs", _docs_line(proc))
        assert found and found[1] != "0"
        assert httpx.get(f"http://127.0.0.1:{found[1]}/docs", timeout=60).status_code == 200
    finally:
        stop_group(proc)


def test_host_empty_serves_ipv4_and_ipv6(tmp_path: Path):
    """--host "" is every address: 0.0.0.0 and ::, each answering on the one port the Docs line names."""
    proc = _serve(tmp_path / "data", "--host", "", "--port", "0")
    try:
        found = re.search(r"http://localhost:(\d+)/docs", _docs_line(proc))
        assert found
        for address in ("127.0.0.1", "[::1]"):
            assert httpx.get(f"http://{address}:{found[1]}/docs", timeout=60).status_code == 200
    finally:
        stop_group(proc)


def test_stopping_keeps_the_lines_read_ahead_with_the_docs_line():
    """CI once lost the "Uvicorn running on" line: it came in one read with the Docs line, into the
    file's buffer, and stopping read the pipe's descriptor past it. Here the lines come in one write."""
    script = "import sys, time; sys.stdout.write('Docs: x\\nCredentials: y\\nUvicorn running on z\\n'); sys.stdout.flush(); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    _docs_line(proc)
    rest = stop_group(proc)
    assert rest == "Credentials: y\nUvicorn running on z\n"
