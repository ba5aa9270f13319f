"""Benchmark: the site widget's weight, its cost to the host page's load, and click-to-stored time.

Measured in the same run, in Debian's Chromium under Playwright, against a real ``workbench
serve`` and a host site on a second loopback port (a second origin, as in production):

1. The widget's gzipped size (what a visitor downloads with the page), and the screenshot
   library's, which is fetched only when someone picks an element.
2. The host page's load time (navigation start to the end of the load event) without and
   with the widget tag, each run in a fresh browser context (a first visit: nothing cached),
   alternating, medians of ``--runs``. Goal: ratio <= 1.05.
3. Time from the Send click to the annotation stored (the server's 201, and then readable
   through the documented API), and from the element click to the form ready with its
   screenshot.

    .venv/bin/python bench/bench_widget.py [--runs 21] [--sends 10]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procs import free_port, wait_until_up

STATIC = ROOT / "workbench" / "server" / "static"
CHROMIUM = "/usr/bin/chromium"


def host_page(tag: str) -> str:
    """A storefront-like page: a stylesheet, a product grid of 24 cards with images, and a footer."""
    cards = "\n".join(
        f'<article class="card"><img src="img{i % 6}.svg" width="160" height="120" alt="Product {i}">'
        f"<h2>Product {i}</h2><p class=\"price\">€ {10 + i}.00</p><p>{'A sturdy, well made thing. ' * 6}</p>"
        f'<button id="buy{i}">Add to cart</button></article>'
        for i in range(24)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title>
<link rel="stylesheet" href="shop.css">{tag}</head><body><header><h1>Acme shop</h1><nav><a href="#">Home</a> <a href="#">Cart</a></nav></header>
<main class="grid">{cards}</main><footer>© Acme</footer></body></html>"""


CSS = """body { font-family: sans-serif; margin: 0; color: #222; } header, footer { padding: 16px 24px; background: #f3f4f6; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; padding: 24px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 12px; } .price { color: #b91c1c; font-size: 20px; }"""


def svg(i: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120"><rect width="160" height="120" fill="hsl({i * 60},60%,70%)"/>'
            f'<circle cx="80" cy="60" r="{20 + i * 5}" fill="white" opacity=".6"/></svg>')


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="page loads of each variant (alternating)")
    ap.add_argument("--sends", type=int, default=10, help="annotations sent through the widget")
    args = ap.parse_args()

    widget = (STATIC / "widget.js").read_bytes()
    lib = (STATIC / "html-to-image.js").read_bytes()
    print(f"widget.js: {len(widget) / 1024:.1f} KB, gzipped {len(gzip.compress(widget, 9)) / 1024:.1f} KB")
    print(f"html-to-image.js (loaded on first pick): {len(lib) / 1024:.1f} KB, gzipped {len(gzip.compress(lib, 9)) / 1024:.1f} KB")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        data.mkdir()
        out = subprocess.run([sys.executable, "-m", "workbench", "admin", "bootstrap", "--data-dir", str(data), "--json"],
                             capture_output=True, text=True, check=True)
        creds = json.loads(out.stdout)
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--data-dir", str(data), "--port", str(port),
                                   "--log-level", "warning", "--widget-ip-limit", "1000000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        site_root = Path(tmp) / "site"
        site_root.mkdir()
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_root)))
        host = f"http://127.0.0.1:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            wait_until_up(api + "/openapi.json")
            subprocess.run([sys.executable, "-m", "workbench", "sites", "origins", creds["site_id"], "--add", host,
                            "--data-dir", str(data)], check=True, capture_output=True)
            tag = f'<script src="{api}/widget.js" data-site="{creds["site_id"]}" data-widget-token="{creds["widget_token"]}" async></script>'
            (site_root / "shop.css").write_text(CSS)
            for i in range(6):
                (site_root / f"img{i}.svg").write_text(svg(i))
            (site_root / "plain.html").write_text(host_page(""))
            (site_root / "widget.html").write_text(host_page(tag))
            run_browser(api, host, creds, args)
        finally:
            server.terminate()
            server.wait(10)
            httpd.shutdown()


def run_browser(api: str, host: str, creds: dict, args: argparse.Namespace) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        loads: dict[str, list[float]] = {"plain": [], "widget": []}
        # Where the widget's extra time goes: its fetch (request start to last byte) and what is left
        # between that last byte and the load event (compiling and running the script).
        fetch_ms: list[float] = []
        after_ms: list[float] = []

        def load(name: str) -> float:
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.goto(f"{host}/{name}.html", wait_until="load")
            if name == "widget":  # the widget is part of the page once its launcher is there
                page.get_by_role("button", name="Feedback", exact=True).wait_for()
            ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            if name == "widget":
                fetched, after = page.evaluate("""() => {
                    const w = performance.getEntriesByType('resource').find(e => e.name.endsWith('/widget.js'));
                    const n = performance.getEntriesByType('navigation')[0];
                    return [w.responseEnd - w.startTime, n.loadEventStart - w.responseEnd];
                }""")
                fetch_ms.append(fetched)
                after_ms.append(after)
            ctx.close()
            return ms

        for name in ("plain", "widget"):  # warm-up: the server's and Chromium's first requests
            load(name)
        for i in range(args.runs):
            for name in (("plain", "widget") if i % 2 == 0 else ("widget", "plain")):
                loads[name].append(load(name))
        plain, with_widget = statistics.median(loads["plain"]), statistics.median(loads["widget"])
        # Loads run in adjacent pairs, so the ratio within each pair cancels most of the machine's drift.
        pairs = statistics.median(w / p for p, w in zip(loads["plain"], loads["widget"], strict=True))
        print(f"host page load (fresh context, median of {args.runs}): without {plain:.1f} ms, with the widget "
              f"{with_widget:.1f} ms: ratio {with_widget / plain:.3f}; median of paired ratios {pairs:.3f}; "
              f"fastest {min(loads['plain']):.1f} vs {min(loads['widget']):.1f} ms (goal <= 1.05)")
        print(f"  widget.js fetch (request to last byte) median {statistics.median(fetch_ms):.1f} ms; "
              f"last byte to the load event median {statistics.median(after_ms):.1f} ms")

        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.goto(f"{host}/widget.html")
        pick_ms, send_ms, visible_ms = [], [], []
        member = {"Authorization": f"Bearer {creds['member_token']}"}
        for i in range(args.sends):
            page.get_by_role("button", name="Feedback", exact=True).click()
            t0 = time.perf_counter()
            page.locator(f"#buy{i}").click()
            form = page.get_by_role("dialog", name="Send feedback")
            expect(form.get_by_role("img", name="Screenshot")).to_be_visible(timeout=20_000)
            pick_ms.append((time.perf_counter() - t0) * 1000)
            form.get_by_label("Comment").fill(f"Bench note {i}")
            t1 = time.perf_counter()
            with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
                form.get_by_role("button", name="Send").click()
            ann_id = resp.value.json()["id"]
            send_ms.append((time.perf_counter() - t1) * 1000)
            assert httpx.get(f"{api}/api/v1/annotations/{ann_id}", headers=member).status_code == 200
            visible_ms.append((time.perf_counter() - t1) * 1000)
            expect(form).to_be_hidden(timeout=5000)
        ctx.close()
        browser.close()
        print(f"click on Send to stored (201), median of {args.sends}: {statistics.median(send_ms):.0f} ms "
              f"(p max {max(send_ms):.0f} ms); readable through the API: {statistics.median(visible_ms):.0f} ms")
        print(f"click on an element to the form ready with its screenshot: median {statistics.median(pick_ms):.0f} ms "
              f"(first, library download included: {pick_ms[0]:.0f} ms)")


if __name__ == "__main__":
    main()
