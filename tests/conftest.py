"""Shared fixtures: a real store in a temp dir, its credentials, an in-process app, a real server process,
and the demo store (fixed clock, seeded ids) that the TUI and service tests read."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.pg_cluster import Cluster
from workbench.server.app import create_app
from workbench.server.settings import ServerSettings
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo
from workbench.services.local import local_user

# Generous limits for functional tests; the rate-limit tests build their own app.
TEST_SETTINGS = ServerSettings(token_limit=1_000_000, ip_limit=1_000_000, widget_ip_limit=1_000_000, widget_site_limit=1_000_000)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One PostgreSQL server per test process, started on first use."""
    cluster = Cluster(ahead=True)
    yield cluster
    cluster.stop()


ENGINES = ["sqlite", "postgresql"]
_ONLY = {"sqlite_only": "postgresql", "postgresql_only": "sqlite"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``sqlite_only(why)`` or ``postgresql_only(why)`` is collected for that engine
    alone: the other engine's copy is deselected, not skipped, so a run that skips nothing is
    one where every collected test ran."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("engine")
        other = None
        for marker, not_on in _ONLY.items():
            only = item.get_closest_marker(marker)
            if only is None:
                continue
            if not (only.args and isinstance(only.args[0], str) and only.args[0].strip()):
                raise pytest.UsageError(f"@pytest.mark.{marker} needs its reason: {item.nodeid}")
            other = not_on
        (dropped if engine is not None and engine == other else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def on_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The ``engine`` fixture's body, for a module whose stores live as long as the module: there
    ``engine`` is redefined with ``scope="module"`` and ``yield from on_engine(request)``.

    On PostgreSQL every store opened while it lasts, in this process (``Workbench.open``) or in a
    child (``workbench serve``/``admin``/``demo``/``mcp`` read WORKBENCH_DATABASE_URL), is one
    fresh database, dropped afterwards. A person's own store stays SQLite (tests/stores.py,
    ``local_workbench``).

    A test marked ``sqlite_only(why)`` (it reads what only SQLite has: its files, PRAGMAs, its
    query plans) or ``postgresql_only(why)`` (that check's PostgreSQL counterpart) runs on its
    engine alone."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    with cluster.database() as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_DATABASE_URL", url)
        plain = Workbench.open.__func__

        def open_on_postgresql(cls: type[Workbench], data_dir: str, *, database: str | None = None, **kwargs: object) -> Workbench:
            return plain(cls, data_dir, database=database or url, **kwargs)

        mp.setattr(Workbench, "open", classmethod(open_on_postgresql))
        yield "postgresql"


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test once per engine (``on_engine``)."""
    yield from on_engine(request)


@pytest.fixture
def wb(tmp_path: Path) -> Iterator[Workbench]:
    w = Workbench.open(str(tmp_path / "data"), mailer=None)
    yield w
    w.store.close()


@pytest.fixture
def creds(wb: Workbench) -> dict:
    return bootstrap(wb)


@pytest.fixture
def client(wb: Workbench) -> Iterator[TestClient]:
    app = create_app(wb, TEST_SETTINGS)
    with TestClient(app) as c:
        # The startup sweep redeploys sessions still ``created``; were it late, it would race
        # the sessions a test drives directly through the services (and deploy one it fails).
        app.state.sweep.result(timeout=10)
        yield c


def bearer(token: str, workspace: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-GF-Workspace"] = workspace
    return headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen[str]) -> str:
    """Stop a `workbench serve` started in its own process group (``start_new_session``), its
    workers with it: SIGTERM, then SIGKILL after 20 s. Returns the rest of its piped output.

    Read through ``proc.stdout`` itself, not ``communicate``: that reads the pipe's descriptor, and
    lines a caller's ``for line in proc.stdout`` had already taken into the file's buffer (with the
    line it stopped at, when they came together on a busy machine) were lost."""
    rest: list[str] = []
    reader = None
    if proc.stdout is not None:
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: rest.append(stdout.read()), daemon=True)
        reader.start()  # drains the pipe meanwhile, so a chatty server never blocks on a full one
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if reader is not None:
        reader.join(20)
    return "".join(rest)


class _PortTaken(RuntimeError):
    """Another process listened on the port a test server was started on."""


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the TCP sockets listening on ``port`` (Linux: /proc/net/tcp and tcp6)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the socket's inode.
            if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(fields[9])
    return inodes


def _owns_socket(pid: int, inodes: set[str]) -> bool:
    """Whether process ``pid`` holds one of the sockets ``inodes`` (its /proc/PID/fd links name them)."""
    if not inodes:
        return False
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[len("socket:["):-1] in inodes:
            return True
    return False


class ServerProcess:
    """A real `workbench serve` child process on a free loopback port."""

    def __init__(
        self, data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
        wrap: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        """``extra``: more ``serve`` arguments; ``port``: a fixed one (a restart keeps the URL); ``env``: added variables;
        ``wrap``: the command line as run (tests/disk_limit.py ``limited``: the same process, under a file-size limit)."""
        self.data_dir = data_dir
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        env.pop("WORKBENCH_SMTP_URL", None)
        # A free port is only free until someone binds it: another test's server may take it
        # between free_port() and this server's bind. Such a start is told apart (_PortTaken)
        # and made again on another port; a fixed port has no other to go to.
        for _ in range(5):
            self.port = port or free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            # Appended to, so a restart on the same port keeps the earlier run's log.
            self.log = open(data_dir.parent / f"serve-{self.port}.log", "ab")  # noqa: SIM115 - closed in stop()
            argv = [sys.executable, "-m", "workbench", "serve", "--data-dir", str(data_dir), "--port", str(self.port), "--log-level", "warning", *extra]
            self.proc = subprocess.Popen(
                wrap(argv) if wrap is not None else argv,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
            )
            try:
                self._wait_ready()
                return
            except _PortTaken:
                self.stop()
                if port is not None:
                    raise
            except BaseException:
                self.stop()  # a start that timed out or failed leaves no server behind
                raise
        raise RuntimeError("workbench serve found no free port in five tries")

    def _wait_ready(self, timeout: float = 30.0) -> None:
        """Until this process listens on its port and answers there: an answer alone may come from
        another process that took the port first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if _listening_sockets(self.port):
                    raise _PortTaken(f"port {self.port} was taken by another process before workbench serve bound it")
                raise RuntimeError(f"workbench serve exited with {self.proc.returncode}")
            if _owns_socket(self.proc.pid, _listening_sockets(self.port)):
                try:
                    # /docs, not /openapi.json: the schema's first build costs most of a second
                    # of CPU, paid by every server start and never needed to know it answers.
                    httpx.get(self.url + "/docs", timeout=1.0)
                    return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("workbench serve did not start in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    data = tmp_path / "served"
    data.mkdir()
    proc = ServerProcess(data)
    yield proc
    proc.stop()


FIXED_MS = 1_790_000_000_000  # 2026-09-21T13:33:20Z


@pytest.fixture
def seeded_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """uuid7 ids (and minted tokens) draw on os.urandom: seed it so screens are identical run to run."""
    rng = random.Random(20260921)
    monkeypatch.setattr(os, "urandom", lambda n: rng.randbytes(n))


@pytest.fixture
def demo_wb(tmp_path: Path, seeded_ids: None) -> Iterator[Workbench]:
    wb = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: FIXED_MS)
    load_demo(wb)
    yield wb
    wb.store.close()


@pytest.fixture
def principal(demo_wb: Workbench):
    return local_user(demo_wb)
