"""A real `workbench serve` over a bootstrapped demo store, and local replicas of it (the undo tests' remote)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import keyring

from tests.conftest import ServerProcess
from tests.stores import local_workbench
from tests.sync.keyring_backend import MemoryKeyring
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo


class Served:
    """The server process, its bootstrap credentials, and a client reading and writing it as a member."""

    def __init__(self, tmp: Path, annotations: int) -> None:
        data = tmp / "served"
        wb = Workbench.open(str(data), mailer=None)
        self.creds: dict[str, Any] = bootstrap(wb)
        load_demo(wb, annotations=annotations)
        wb.store.close()
        self.process = ServerProcess(data)
        self.url = self.process.url
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.creds['member_token']}"}, timeout=30)
        self.sessions = False  # whether sync sends the sessions' credentials (replica(..., sessions=True))

    def annotation(self, annotation_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/annotations/{annotation_id}")
        r.raise_for_status()
        return r.json()

    def patch(self, annotation_id: str, **fields: Any) -> None:
        self.http.patch(f"/api/v1/annotations/{annotation_id}", json=fields).raise_for_status()

    def as_store(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A feedback-sessions API call with the bootstrap storefront's key."""
        r = self.http.request(method, path, headers={"Authorization": f"Bearer {self.creds['store_api_key']}"}, **kwargs)
        r.raise_for_status()
        return r.json()

    def as_tester(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A test-sessions API call with the bootstrap JWT; returns the envelope's data."""
        r = self.http.request(method, path, headers={"Authorization": f"Bearer {self.creds['jwt']}"}, **kwargs)
        r.raise_for_status()
        return r.json()["data"]

    def replica(self, path: Path, *, sessions: bool = False) -> Workbench:
        """A new local store with this server as its remote ``origin``, synced once (with ``sessions``,
        the feedback and test sessions too: the store key and the JWT are given)."""
        wb = local_workbench(path)  # SQLite on every engine: only the server's store follows it
        remotes.add(wb, "origin", self.url)
        self.sessions = sessions
        self.sync(wb)
        return wb

    def sync(self, wb: Workbench) -> sync_svc.Report:
        credentials = {"token": self.creds["member_token"]}
        if self.sessions:
            credentials |= {"store_key": self.creds["store_api_key"], "jwt": self.creds["jwt"]}
        report = sync_svc.run_sync(wb, "origin", credentials=credentials)
        assert report.stopped is None, report.stopped
        return report

    def close(self) -> None:
        self.http.close()
        self.process.stop()


@contextmanager
def served(tmp: Path, annotations: int = 12) -> Iterator[Served]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # never the user's keyring
    s = Served(tmp, annotations)
    try:
        yield s
    finally:
        s.close()
        keyring.set_keyring(previous)
