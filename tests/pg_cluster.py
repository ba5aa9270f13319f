"""A throwaway PostgreSQL cluster on loopback for tests and benchmarks: initdb, pg_ctl, a database per use.

Debian's ``postgresql`` package puts its server binaries under /usr/lib/postgresql/N/bin
(scripts/system-deps installs it). initdb refuses to run as root, so as root the cluster
belongs to the ``postgres`` system user, which the package creates. The cluster trades
durability for speed (fsync off): it lives only as long as the test session.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg

from storage.pg_conn import sql_text


def binaries() -> Path:
    """The directory of initdb and pg_ctl (the newest installed major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's server binaries are missing: run `sh scripts/system-deps` (as root it installs `postgresql`)")
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One running PostgreSQL server; ``database()`` hands out fresh, migrated databases.

    ``ahead``: each database handed out starts the next one's copy in a thread, so a test finds
    its database made while the one before it ran (a copy waits ~0.3 s on PostgreSQL's
    checkpoint). Off for benchmarks, whose measurements a copy in the background would disturb."""

    def __init__(self, *, ahead: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            # initdb will not run as root; the package's own user owns the cluster.
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
            self.root.chmod(0o700)
        bin_dir = binaries()
        subprocess.run(
            [*self._as, str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )
        self._options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
        )
        self._bin = bin_dir
        self.resume()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._template: str | None = None
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-database-ahead") if ahead else None
        self._next: Future[str] | None = None
        self._lock = threading.Lock()
        # Not uuid4: tests seed os.urandom (seeded_ids), and the copy ahead runs during them.
        self._serial = itertools.count()

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _migrated_template(self) -> str:
        """A database with the schema applied once; each test's database is a copy of it."""
        if self._template is None:
            from storage.pg import PgStore

            name = "workbench_template"
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(sql_text(f"CREATE DATABASE {name}"))
            store = PgStore(self.url(name))
            store.close()
            self._template = name
        return self._template

    def create(self) -> str:
        """A new empty database at the current schema; returns its URL."""
        if self._maker is None:
            return self._copy()
        with self._lock:
            made, self._next = self._next, None
            url = made.result() if made is not None else self._copy()
            self._next = self._maker.submit(self._copy)
        return url

    def _copy(self) -> str:
        name = f"t_{os.getpid()}_{next(self._serial)}"
        template = self._migrated_template()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql_text(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"))
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql_text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        url = self.create()
        try:
            yield url
        finally:
            self.drop(url)

    def halt(self) -> None:
        """Stop the server, keeping its data, as an operator's restart does: connections are cut."""
        subprocess.run([*self._as, str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], check=True, capture_output=True)

    def resume(self) -> None:
        """Start the server (again) on the same port and data."""
        subprocess.run(
            [*self._as, str(self._bin / "pg_ctl"), "-D", str(self.data), "-o", self._options, "-l", str(self.root / "log"), "-w", "start"],
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        if self._maker is not None:
            self._maker.shutdown(wait=True)
        subprocess.run([*self._as, str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
