"""Browser fixtures: Debian's Chromium under Playwright, a real server, and a host site on a second origin."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, free_port

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


def bootstrap(data_dir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "admin", "bootstrap", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict]]:
    """A real `workbench serve` over a bootstrapped store, and the credentials bootstrap printed."""
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
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def write(self, name: str, html: str) -> str:
        """Add a page and return its URL."""
        (self.root / name).write_text(html, encoding="utf-8")
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
        pass


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[HostSite]:
    root = tmp_path / "host"
    root.mkdir()
    site = HostSite(root)
    yield site
    site.close()
