"""The browser harness itself: Debian's Chromium loads a page from the real server and from the host site."""

from __future__ import annotations


def test_chromium_reaches_the_server_and_a_second_origin(page, served, host_site):
    proc, _ = served
    page.goto(proc.url + "/docs")
    assert page.title()
    url = host_site.write("index.html", "<!doctype html><title>Shop</title><h1>Hello shop</h1>")
    page.goto(url)
    assert page.locator("h1").inner_text() == "Hello shop"
    assert host_site.url != proc.url
