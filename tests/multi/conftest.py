"""Several `workbench serve --workers 2` processes on one PostgreSQL database, and a load generator's helpers.

Not the autouse ``engine`` fixture of tests/server: these tests need one database shared by
processes they start and kill themselves. Each process is its own process group, so kill -9
reaches its workers too (uvicorn's workers outlive a parent killed alone, and keep serving).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from storage.pg_conn import sql_text
from tests.conftest import free_port
from tests.pg_cluster import Cluster
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

ROOT = Path(__file__).resolve().parents[2]
TOKEN_LIMIT = 200  # per token and window, across every process; each test mints its own tokens
# Each deployment appends its session id to the runs file (so a test counts runs, not outcomes),
# then waits for the gate file: a test holds deployments open while it starts another process.
DEPLOY = "echo {session_id} >> %s; while [ ! -e %s ]; do sleep 0.02; done; echo https://preview.example/{session_id}"


class Serve:
    """`workbench serve --database URL --workers 2` in its own process group."""

    def __init__(self, url: str, data: Path, runs: Path, *, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data.parent / f"serve-{self.port}.log", "ab")  # noqa: SIM115 - closed in stop()
        env = {
            **os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
            "WORKBENCH_DEPLOY_COMMAND": DEPLOY % (runs, runs.with_suffix(".gate")), "WORKBENCH_JOB_LEASE_SECONDS": "3",
            **(env or {}),
        }
        env.pop("WORKBENCH_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", "--database", url, "--data-dir", str(data), "--port", str(self.port),
             "--workers", str(workers), "--token-limit", str(TOKEN_LIMIT), "--ip-limit", "1000000",
             "--widget-ip-limit", "1000000", "--widget-site-limit", "1000000", "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True,
        )

    def wait_ready(self) -> Serve:
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"serve exited with {self.proc.returncode}"
            try:
                # /docs, not the schema: its first build costs most of a second.
                if httpx.get(self.url + "/docs", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9 of the parent and every worker."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        if self.proc.poll() is None:
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@dataclass
class Team:
    """Two serve processes on one database, and what the tests read it with."""

    url: str
    data: Path
    runs: Path
    a: Serve
    b: Serve

    def creds(self) -> dict[str, Any]:
        """Fresh credentials (new tokens each call: a test's buckets are its own)."""
        wb = Workbench.open(str(self.data), database=self.url, mailer=None)
        try:
            return bootstrap(wb)
        finally:
            wb.store.close()

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql_text(query), params).fetchall()


@pytest.fixture(scope="module")
def team(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    root = tmp_path_factory.mktemp("multi")
    data = root / "data"
    runs = root / "deploy-runs.txt"
    runs.touch()
    with pg_cluster.database() as url:
        out = subprocess.run(
            [sys.executable, "-m", "workbench", "admin", "bootstrap", "--database", url, "--data-dir", str(data), "--json"],
            capture_output=True, text=True, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert json.loads(out.stdout)["workspace_id"]
        a, b = Serve(url, data, runs), Serve(url, data, runs)  # both start at once
        try:
            yield Team(url, data, runs, a.wait_ready(), b.wait_ready())
        finally:
            a.terminate()
            b.stop()
            a.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(check: Any, what: str, timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy (never a guessed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
