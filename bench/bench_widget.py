"""Benchmark: the site widget's weight, its cost to the host page's load, and click-to-stored time.

Measured in the same run, in Debian's Chromium under Playwright, against a real ``workbench
serve`` and a host site on a second loopback port (a second origin, as in production):

1. What a visitor downloads: the loader (``/widget.js``, the tag's script, which the load event
   waits for), the app it adds after the load (``/widget/app.<hash>.js``) and the screenshot
   library, fetched only when someone picks an element; as served (gzipped).
2. The host page's load time (navigation start to the end of the load event) without the widget
   tag, with it, and with a control tag (a script from the same server that does nothing: what
   any one tag costs), in adjacent triples, medians of ``--runs``. Cold: each load in a fresh
   browser context (a first visit, nothing cached). Warm: the second visit in a context (what a
   returning visitor gets from the cache). Goal: ratio <= 1.05. Each median of paired ratios comes with
   its 95 % bootstrap interval, and the widget is also set against the control of its own triple: what it
   costs beyond any one script tag. The host page is a storefront-like
   page (a stylesheet, 24 product cards with 6 images, 8.7 KB of HTML) served by Python's
   ``http.server``; a bare page with no sub-resources is measured too: there the tag's one
   request is all that can cost anything, so its ratio shows that floor; and the storefront page
   with the shop's own script (``shop.js``), where the loader is not the page's first script (a
   page's first script pays the engine's start there, whoever wrote it). Then where the loader's
   request spends its time (its resource timing), and what compiling and running each script
   costs.
3. Time from the Send click to the annotation stored (the server's 201, and then readable
   through the documented API), and from the element click to the form ready with its
   screenshot.

    .venv/bin/python bench/bench_widget.py [--runs 21] [--sends 10]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procs import free_port, wait_until_up
from workbench.server.routes import assets

CHROMIUM = "/usr/bin/chromium"
CONTROL_JS = ROOT / "workbench" / "server" / "static" / "review" / "agent.js"  # the control tag's script


def host_page(tag: str, own_script: bool = False) -> str:
    """A storefront-like page: a stylesheet, a product grid of 24 cards with images, and a footer
    (``own_script``: and the shop's own script, ``shop.js``, at the end of the body, as a real
    storefront has)."""
    cards = "\n".join(
        f'<article class="card"><img src="img{i % 6}.svg" width="160" height="120" alt="Product {i}">'
        f"<h2>Product {i}</h2><p class=\"price\">€ {10 + i}.00</p><p>{'A sturdy, well made thing. ' * 6}</p>"
        f'<button id="buy{i}">Add to cart</button></article>'
        for i in range(24)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title>
<link rel="stylesheet" href="shop.css">{tag}</head><body><header><h1>Acme shop</h1><nav><a href="#">Home</a> <a href="#">Cart</a></nav></header>
<main class="grid">{cards}</main><footer>© Acme <span id="cart">0</span> in cart</footer>
{'<script src="shop.js"></script>' if own_script else ''}</body></html>"""


CSS = """body { font-family: sans-serif; margin: 0; color: #222; } header, footer { padding: 16px 24px; background: #f3f4f6; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; padding: 24px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 12px; } .price { color: #b91c1c; font-size: 20px; }"""


# The shop's own script: what any storefront runs (its cart's buttons), so the widget's loader is
# not the page's first script. A page's first script pays the engine's start in that page (~3 ms
# here, whoever's script it is); the script-free page above charges it to the widget.
SHOP_JS = """(() => {
  const cart = document.getElementById('cart');
  let n = Number(localStorage.getItem('cart') || 0);
  cart.textContent = String(n);
  for (const b of document.querySelectorAll('button[id^="buy"]')) {
    b.addEventListener('click', () => { n += 1; localStorage.setItem('cart', String(n)); cart.textContent = String(n); });
  }
})();
"""


def svg(i: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120"><rect width="160" height="120" fill="hsl({i * 60},60%,70%)"/>'
            f'<circle cx="80" cy="60" r="{20 + i * 5}" fill="white" opacity=".6"/></svg>')


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
        pass


BARE = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hello</title>{tag}</head><body><p>Hello.</p></body></html>"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="page loads of each variant (alternating)")
    ap.add_argument("--sends", type=int, default=10, help="annotations sent through the widget")
    args = ap.parse_args()

    for what, asset in (("loader /widget.js (the load event waits for it)", assets.LOADER),
                        (f"app /widget/{assets.APP_NAME} (after the load)", assets.APP),
                        ("html-to-image.js (on the first pick)", assets.SCREENSHOT_LIB)):
        print(f"{what}: {len(asset.raw) / 1024:.1f} KB, gzipped {len(asset.gzipped) / 1024:.1f} KB ({len(asset.gzipped)} B)")

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
            (site_root / "shop.js").write_text(SHOP_JS)
            for i in range(6):
                (site_root / f"img{i}.svg").write_text(svg(i))
            # The control: a script tag from the same server that does nothing (the review agent, outside a
            # frame): what any one tag costs, whatever its script does.
            control = f'<script src="{api}/static/review/agent.js" async></script>'
            for name, html in (("plain", host_page("")), ("control", host_page(control)), ("widget", host_page(tag)),
                               ("bare", BARE.format(tag="")), ("bare-control", BARE.format(tag=control)),
                               ("bare-widget", BARE.format(tag=tag)), ("scripted", host_page("", True)),
                               ("scripted-control", host_page(control, True)), ("scripted-widget", host_page(tag, True))):
                (site_root / f"{name}.html").write_text(html)
            run_browser(api, host, creds, args)
        finally:
            server.terminate()
            server.wait(10)
            httpd.shutdown()


def interval(ratios: list[float], resamples: int = 4000) -> tuple[float, float]:
    """The 95 % bootstrap interval of the median of ``ratios`` (seeded, so a run's figures can be read twice):
    how far the pass's median could move by the luck of which loads the machine slowed."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    return medians[int(resamples * 0.025)], medians[int(resamples * 0.975) - 1]


def script_ms(browser: Browser, which: str, runs: int = 21) -> float:
    """Median time to compile and run the loader (what it does before the load event), the app or the control tag's
    script, each time in a fresh page, as served (nothing fetched)."""
    source = {"loader": assets.LOADER.raw.decode(), "app": assets.APP.raw.decode(), "control": CONTROL_JS.read_text()}[which]
    # The site's tag, as the loader finds it (not run: a text/plain script); its app and requests go nowhere.
    blank = ("<!doctype html><title>t</title><script type='text/plain' data-site='s' data-widget-token='t' "
             "src='http://127.0.0.1:9/widget.js'></script><p>Hello.</p>")
    setup = ("window.__gfWidget = {tag: document.scripts[0], review: false, base: 'http://127.0.0.1:9', "
             "console: [], network: [], fetch: window.fetch.bind(window)};")
    times = []
    for _ in range(runs):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.route("**/*", lambda r: r.fulfill(body=blank, content_type="text/html") if r.request.resource_type == "document" else r.abort())
        page.goto("http://127.0.0.1:9/", wait_until="load")
        if which == "app":  # the state the loader leaves
            page.evaluate(setup)
        elif which == "loader":
            # As before the load event, which it then waits for: the page here has loaded, and the loader would add
            # the app at once (~2 ms of the page's time, but after its load event on a real page).
            page.evaluate("Object.defineProperty(document, 'readyState', {get: () => 'interactive'})")
        times.append(page.evaluate("(src) => { const t = performance.now(); (0, eval)(src); return performance.now() - t; }", source))
        ctx.close()
    return statistics.median(times)


def run_browser(api: str, host: str, creds: dict, args: argparse.Namespace) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        # Where the widget's time goes, from its resource timings (the server sends Timing-Allow-Origin), per page.
        spans: dict[str, dict[str, list[float]]] = {}
        spans_js = """() => {
            const n = performance.getEntriesByType('navigation')[0];
            const r = performance.getEntriesByType('resource');
            const l = r.find(e => e.name.endsWith('/widget.js')), app = r.find(e => e.name.includes('/widget/app.'));
            return {queued: l.connectStart - l.startTime, connect: l.connectEnd - l.connectStart,
                    server: l.responseStart - l.requestStart, receive: l.responseEnd - l.responseStart,
                    slack: n.loadEventStart - l.responseEnd, app_after_load: app.startTime - n.loadEventEnd};
        }"""

        def load(name: str, *, warm: bool) -> float:
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            for _visit in range(2 if warm else 1):  # warm: the first visit fills the cache, the second is timed
                page.goto(f"{host}/{name}.html", wait_until="load")
                if name.endswith("widget"):  # the widget is part of the page once its launcher is there
                    page.get_by_role("button", name="Feedback", exact=True).wait_for()
            ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            if name.endswith("widget") and not warm:
                for key, value in page.evaluate(spans_js).items():
                    spans.setdefault(name, {}).setdefault(key, []).append(value)
            ctx.close()
            return ms

        def compare(label: str, prefix: str, *, warm: bool) -> None:
            names = [prefix.rstrip("-") or "plain", f"{prefix}control", f"{prefix}widget"]
            for name in names:  # warm-up: the servers' and Chromium's first requests
                load(name, warm=warm)
            loads: dict[str, list[float]] = {name: [] for name in names}
            for i in range(args.runs):  # in adjacent triples, each variant first in turn
                for name in names[i % 3:] + names[: i % 3]:
                    loads[name].append(load(name, warm=warm))
            plain = loads[names[0]]
            print(f"{label}, median of {args.runs}: without {statistics.median(plain):.1f} ms (fastest {min(plain):.1f})")
            for name, what in zip(names[1:], ("an empty-handed tag (control)", "the widget"), strict=True):
                # The ratio within each triple cancels most of the machine's drift.
                pairs = [w / p for p, w in zip(plain, loads[name], strict=True)]
                lo, hi = interval(pairs)
                print(f"  with {what}: {statistics.median(loads[name]):.1f} ms (fastest {min(loads[name]):.1f}): ratio of "
                      f"medians {statistics.median(loads[name]) / statistics.median(plain):.3f}, median of paired ratios "
                      f"{statistics.median(pairs):.3f} (95 % interval {lo:.3f} to {hi:.3f})")
            # What the widget costs beyond any one tag: the widget against the control of the same triple.
            own = [w / c for c, w in zip(loads[names[1]], loads[names[2]], strict=True)]
            lo, hi = interval(own)
            print(f"  the widget against the control tag: median of paired ratios {statistics.median(own):.3f} "
                  f"(95 % interval {lo:.3f} to {hi:.3f})")

        loader_ms = script_ms(browser, "loader")
        app_ms = script_ms(browser, "app")
        control_ms = script_ms(browser, "control")
        print(f"compiling and running the script on a blank page (median of 21): the loader {loader_ms:.2f} ms "
              f"(before the load event), the app {app_ms:.2f} ms (after it); the control tag's {control_ms:.2f} ms "
              "(it only looks whether it is framed)")
        print("host page load, navigation start to the end of the load event (goal: with the widget <= 1.05 x without)")
        compare("shop page, cold (first visit, fresh context)", "", warm=False)
        compare("shop page, warm (second visit, cached)", "", warm=True)
        compare("bare page, cold (nothing on the page but the tag's request)", "bare-", warm=False)
        compare("shop page with the shop's own script, cold", "scripted-", warm=False)
        for name, label in (("widget", "shop page"), ("bare-widget", "bare page"), ("scripted-widget", "shop page with its script")):
            m = {key: statistics.median(values) for key, values in spans[name].items()}
            print(f"  {label}, cold, the loader's request (medians): queued in Chromium {m['queued']:.1f} ms, connect "
                  f"{m['connect']:.1f} ms, server {m['server']:.1f} ms, receive {m['receive']:.1f} ms; its last byte "
                  f"{m['slack']:.1f} ms before the load event (least {min(spans[name]['slack']):.1f}); the app requested "
                  f"{min(spans[name]['app_after_load']):.1f} ms or more after the load event ended")

        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.goto(f"{host}/widget.html")
        pick_ms, send_ms, visible_ms = [], [], []
        member = {"Authorization": f"Bearer {creds['member_token']}"}
        for i in range(args.sends):
            page.get_by_role("button", name="Feedback", exact=True).click()
            t0 = time.perf_counter()
            page.locator(f"#buy{i}").click(force=True)  # the picker's catcher is on top: a click at its place
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
