"""/docs and /redoc render in Chromium with every other host unreachable: their assets ship in a package."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest


@pytest.fixture
def offline(context, shared_server):
    """The server's origin only: every request to another host is aborted and remembered."""
    proc = shared_server
    origin = urlsplit(proc.url).netloc
    elsewhere: list[str] = []

    def gate(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == origin:
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", gate)
    return proc, elsewhere


def test_swagger_ui_renders_the_operations_offline(page, offline):
    proc, elsewhere = offline
    page.goto(proc.url + "/docs")
    # An operation of each API family, drawn by Swagger UI's own script from /openapi.json.
    page.locator(".opblock-summary-path", has_text="/api/v1/feedback-sessions").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/sites").first.wait_for()
    assert page.locator(".opblock").count() > 20
    page.wait_for_load_state("networkidle")
    assert elsewhere == []


def test_redoc_renders_the_operations_offline(page, offline):
    proc, elsewhere = offline
    page.goto(proc.url + "/redoc")
    # ReDoc's script draws each operation as a heading in its middle panel.
    page.locator("h2", has_text="List feedback sessions, newest first").first.wait_for()
    # ReDoc's sidebar asks a CDN for its attribution logo once mounted: let every request settle.
    page.get_by_text("API docs by Redocly").wait_for()
    page.wait_for_load_state("networkidle")
    assert elsewhere == []
    # The policy keeps the browser on this server (the logo is never requested, ReDoc drops it).
    assert "default-src 'self'" in (page.request.get(proc.url + "/redoc").headers.get("content-security-policy") or "")
