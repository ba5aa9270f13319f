"""Sync fixtures: an in-process server (TestClient bridged to a sync httpx transport), replicas, a test keyring."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import keyring
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS
from tests.sync.keyring_backend import MemoryKeyring
from workbench.server.app import create_app
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.local import local_user


class Bridge(httpx.BaseTransport):
    """A sync httpx transport into a Starlette TestClient (the app runs in-process).

    ``drop`` (a predicate on the request) simulates a lost response: the server applies the
    request, then the client sees a broken connection. ``offline`` refuses to connect.
    ``rewrite`` may replace a response (e.g. strip the ETag header to play a simpler server).
    """

    def __init__(self, tc: TestClient) -> None:
        self.tc = tc
        self.offline = False
        self.drop: Callable[[httpx.Request], bool] | None = None
        self.rewrite: Callable[[httpx.Request, httpx.Response], httpx.Response] | None = None
        self.log: list[tuple[str, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("offline", request=request)
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in ("host", "content-length")]
        r = self.tc.request(request.method, str(request.url), headers=headers, content=request.read())
        self.log.append((request.method, request.url.path, r.status_code))
        if self.drop is not None and self.drop(request):
            raise httpx.ReadError("response lost", request=request)
        resp = httpx.Response(r.status_code, headers=list(r.headers.multi_items()), content=r.content, request=request)
        return self.rewrite(request, resp) if self.rewrite else resp


class Replica:
    """One local store syncing with the in-process server."""

    def __init__(self, path: Path, bridge: Bridge, token: str | None, name: str = "origin", store_key: str | None = None,
                 jwt: str | None = None) -> None:
        self.wb = Workbench.open(str(path), mailer=None)
        self.bridge = bridge
        self.token = token
        self.store_key = store_key
        self.jwt = jwt
        self.name = name
        remotes.add(self.wb, name, "http://testserver")

    def sync(self, **kwargs) -> sync_svc.Report:
        return sync_svc.run_sync(
            self.wb, self.name, credentials={"token": self.token, "store_key": self.store_key, "jwt": self.jwt},
            transport=self.bridge, sleep=lambda s: None, **kwargs
        )

    @property
    def me(self):
        return local_user(self.wb, sync_svc.status(self.wb).workspace_id)

    def close(self) -> None:
        self.wb.store.close()


class Hub:
    """A served store with bootstrap credentials, and a factory of replicas."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.wb = Workbench.open(str(tmp / "server"), mailer=None)
        self.creds = bootstrap(self.wb)
        self.tc = TestClient(create_app(self.wb, TEST_SETTINGS))
        self.tc.__enter__()
        self.replicas: list[Replica] = []

    def replica(self, name: str | None = None, token: str | None = None, *, sessions: bool = False) -> Replica:
        n = len(self.replicas)
        r = Replica(
            self.tmp / (name or f"replica{n}"), Bridge(self.tc), token or self.creds["member_token"],
            store_key=self.creds["store_api_key"] if sessions else None, jwt=self.creds["jwt"] if sessions else None,
        )
        self.replicas.append(r)
        return r

    def close(self) -> None:
        for r in self.replicas:
            r.close()
        self.tc.__exit__(None, None, None)
        self.wb.store.close()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path)
    yield h
    h.close()
