"""Browser fixtures: Debian's Chromium under Playwright, a real server (shared, or a test's own), and a host site on a second origin."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port
from workbench.domain.tokens import TokenCreate
from workbench.services import accounts, stores
from workbench.services import sites as sites_service
from workbench.services.bootstrap import bootstrap as bootstrap_service
from workbench.services.context import Workbench
from workbench.services.local import local_user

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module; each test gets its own context (cookies, storage).

    Not per session: Playwright's sync API keeps an event loop running in the worker's thread
    while it is open, and the async tests (Textual's Pilot, MCP) that xdist runs in the same
    worker would then fail with "cannot be called from a running event loop".
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        # CI installs it through scripts/system-deps; a missing browser is a failure, never a skip.
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps (as root it installs Debian's chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@contextmanager
def opened(data_dir: Path) -> Iterator[Workbench]:
    """The store of a served data directory, opened in this process beside the running server (as the
    CLI opens it), and closed again: the server reads what was written on its next request."""
    wb = Workbench.open(str(data_dir), mailer=None)
    try:
        yield wb
    finally:
        wb.store.close()


def bootstrap(data_dir: Path) -> dict:
    """What `workbench admin bootstrap --json` prints, made through the service it calls: a CLI run
    would cost each test a second of Python start-up before its server starts."""
    with opened(data_dir) as wb:
        return bootstrap_service(wb)


def fresh_credentials(data_dir: Path) -> dict:
    """A site (its widget token; no stakeholders, no origin but its own URL's), an AI-built store (its API
    key; no feedback session) and a member token, all new in the bootstrapped workspace: a test on a
    shared server reads nothing another test wrote, whatever ran before it."""
    with opened(data_dir) as wb:
        owner = local_user(wb, create=False)
        site = sites_service.create_site(wb, owner, "Acme storefront", "https://shop.acme.example")
        _, member_token = accounts.mint_token(wb, owner, owner.workspace_id, TokenCreate(name="browser test member", role="MEMBER"))
        store, store_key = stores.create_store(wb, owner, "Acme storefront (AI-built)", ai_built=True)
    return {
        "workspace_id": owner.workspace_id,
        "site_id": site.id,
        "widget_token": site.widget_token,
        "member_token": member_token,
        "store_id": store.id,
        "store_api_key": store_key,
    }


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One `workbench serve` per test process for every browser test that neither stops it nor needs a
    data directory of its own (each takes its own credentials, ``served``): a start is seconds of CPU.

    Every test's widget submissions come from 127.0.0.1, and the per-IP widget bucket counts loopback
    too (10 a minute): over a whole run they would be refused. Each test's own site keeps the per-site
    bucket and its own tokens the per-token one, as on a server of its own."""
    data = tmp_path_factory.mktemp("shared") / "served"
    data.mkdir()
    bootstrap(data)
    proc = ServerProcess(data, "--widget-ip-limit", "1000000")
    yield proc
    proc.stop()


@pytest.fixture
def served(shared_server: ServerProcess) -> tuple[ServerProcess, dict]:
    """The shared `workbench serve`, and this test's own credentials (``fresh_credentials``)."""
    # Had an earlier test brought it down, this one would fail on a refused connection far from the cause.
    assert shared_server.proc.poll() is None, f"the shared workbench serve exited; see {shared_server.log.name}"
    return shared_server, fresh_credentials(shared_server.data_dir)


@pytest.fixture
def served_alone(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict]]:
    """A `workbench serve` of this test's own, over a freshly bootstrapped store, and the credentials
    bootstrap returned: for a test that stops or restarts the server."""
    data = tmp_path / "served"
    data.mkdir()
    creds = bootstrap(data)
    proc = ServerProcess(data)
    yield proc, creds
    proc.stop()


class HostSite:
    """A static site on its own loopback port: a second origin, so CORS between it and the server is real."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gates: dict[str, threading.Event] = {}
        handler = functools.partial(_QuietHandler, directory=str(root), gates=self.gates)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        # close() waits for serve_forever to next look at its stop flag: every 0.5 s by default, a
        # quarter of a second lost per test on average.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def write(self, name: str, html: str) -> str:
        """Add a page and return its URL."""
        (self.root / name).write_text(html, encoding="utf-8")
        return f"{self.url}/{name}"

    def gate(self, name: str) -> threading.Event:
        """Hold every request for ``/name`` until the returned event is set: a page whose load event waits."""
        self.gates[f"/{name}"] = gate = threading.Event()
        return gate

    def close(self) -> None:
        for gate in self.gates.values():  # a test that failed while holding one must not hang the shutdown
            gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, gates: dict[str, threading.Event], **kwargs: Any) -> None:
        self.gates = gates  # before the stdlib's __init__, which handles the request
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        gate = self.gates.get(self.path.split("?", 1)[0])
        if gate is not None:
            gate.wait(60)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
        pass


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[HostSite]:
    root = tmp_path / "host"
    root.mkdir()
    site = HostSite(root)
    yield site
    site.close()
