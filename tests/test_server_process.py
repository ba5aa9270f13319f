"""The test harness's `workbench serve` (tests.conftest.ServerProcess) is the one its tests talk to.

A free port is free only until someone binds it; a server started on a port another process
took first must not hand its tests that process's answers, and starts again elsewhere.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

import tests.conftest as harness


def test_a_port_taken_first_is_left_for_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offered, free = iter([taken]), harness.free_port
        monkeypatch.setattr(harness, "free_port", lambda: next(offered, None) or free())
        data = tmp_path / "served"
        data.mkdir()
        server = harness.ServerProcess(data)
        try:
            assert server.port != taken
            assert httpx.get(server.url + "/openapi.json").json()["info"]["title"] == "Review Workbench API"
        finally:
            server.stop()


def test_a_fixed_port_taken_first_is_an_error_naming_it(tmp_path: Path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        data = tmp_path / "served"
        data.mkdir()
        with pytest.raises(RuntimeError, match=f"port {taken} was taken"):
            harness.ServerProcess(data, port=taken)
