"""Benchmark: the widget's screenshot deep in a long page, from the "Whole page" click to the canvas.

In Debian's Chromium under Playwright, against a real ``workbench serve`` and a host page on a second loopback
origin: ``--items`` blocks (``p``: one paragraph each; ``rows``: a div with a span, a paragraph with bold text and
a link; ``ul``: items of a ``<ul>`` without bullets; ``ol``: items of a numbered ``<ol>``; ``flex``: rows of a flex
column, a feed; ``grid``: the same rows as cards of a three-column grid (``dense``: packed densely, which only
empties the cards far from view); ``wrap``: the same rows in a wrapping flex row; ``columns``: the same rows set in
two columns, which the capture copies whole; ``table``: rows of a four-column table, an order list; ``carousel``: the
same rows as cards of a flex row scrolled sideways to its middle; ``panel``: the cards of the grid in a panel 500 px
tall scrolled to its middle), scrolled 90 % deep, one fresh browser context per capture. Prints, per capture, html-to-image's ``toCanvas`` time, the time from
the click to the canvas (the widget's own measuring and choosing included) and how many elements were copied; a
capture past the form's 8 s limit says so (stopped, or drawn too late and dropped).

    .venv/bin/python bench/bench_widget_capture.py [--kind p|rows|ul|ol|flex|grid|dense|wrap|columns|table|carousel|panel] [--items 3000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from tests.browser.conftest import HostSite, bootstrap, fresh_credentials
from tests.browser.test_widget import HOST_PAGE, allow
from tests.conftest import ServerProcess

# Times html-to-image's toCanvas and counts the elements it copies (cloneNode), from the click before it.
HOOK = """(() => { let lib;
  addEventListener('click', () => { window.benchClick = performance.now(); }, true);
  Object.defineProperty(window, 'htmlToImage', { configurable: true, set(v) { lib = v; }, get() {
    if (lib && lib.toCanvas && !lib.timed) {
      const toCanvas = lib.toCanvas; lib.timed = true;
      lib.toCanvas = async (...args) => {
        const start = performance.now(), clone = Element.prototype.cloneNode; let copied = 0, drawn = false;
        Element.prototype.cloneNode = function (...a) { copied += 1; return clone.apply(this, a); };
        try { const canvas = await toCanvas(...args); drawn = true; return canvas; } finally {
          Element.prototype.cloneNode = clone;
          window.benchShot = { toCanvas: performance.now() - start, total: performance.now() - window.benchClick, copied, drawn };
        }
      };
    }
    return lib; } }); })();"""


def page_html(kind: str, items: int, base: str, creds: dict) -> str:
    if kind == "p":
        body = "".join(f"<p>Paragraph {i}: the quick brown fox jumps over the lazy dog, again and again.</p>" for i in range(items))
    elif kind in ("ul", "ol"):
        style = ' style="list-style: none"' if kind == "ul" else ""
        body = f"<{kind}{style}>" + "".join(f"<li>Item {i}: the quick brown fox jumps over the lazy dog.</li>" for i in range(items)) + f"</{kind}>"
    elif kind in ("flex", "grid", "dense", "wrap", "columns", "carousel", "panel"):
        column = {"flex": "display: flex; flex-direction: column", "grid": "display: grid; grid-template-columns: repeat(3, 1fr)",
                  "dense": "display: grid; grid-template-columns: repeat(3, 1fr); grid-auto-flow: row dense",
                  "wrap": "display: flex; flex-wrap: wrap", "columns": "columns: 2",
                  "carousel": "display: flex; overflow-x: auto",
                  "panel": "display: grid; grid-template-columns: repeat(3, 1fr); overflow-y: auto; height: 500px"}[kind]
        card = ' style="flex: none; width: 200px"' if kind == "carousel" else ""
        body = (f'<div class="scrolled" style="{column}; gap: 8px">'
                + "".join(f'<div class="row"{card}><span>Item {i}</span><p>About <b>item</b> {i}</p><a href="#">more</a></div>' for i in range(items))
                + "</div>")
    elif kind == "table":
        body = ('<table><thead><tr><th>#</th><th>Order</th><th>Customer</th><th>Total</th></tr></thead><tbody>'
                + "".join(f"<tr><td>{i}</td><td>Order {i:05d}</td><td>Customer with a name {i % 97}</td><td>{i * 3.7:.2f} €</td></tr>"
                          for i in range(items))
                + "</tbody></table>")
    else:
        body = "".join(f'<div class="row"><span>Item {i}</span><p>About <b>item</b> {i}</p><a href="#">more</a></div>' for i in range(items))
    return HOST_PAGE.format(base=base, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</main>", body + "</main>")


def main() -> None:
    ap = argparse.ArgumentParser(description="The widget's screenshot deep in a long page, from the click to the canvas.")
    ap.add_argument("--kind", choices=("p", "rows", "ul", "ol", "flex", "grid", "dense", "wrap", "columns", "table", "carousel", "panel"), default="p")
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "served"
        data.mkdir()
        bootstrap(data)
        proc = ServerProcess(data, "--widget-ip-limit", "1000000")
        (Path(tmp) / "host").mkdir()
        host = HostSite(Path(tmp) / "host")
        try:
            creds = fresh_credentials(data)
            allow(proc, creds["site_id"], host.url)
            url = host.write("long.html", page_html(args.kind, args.items, proc.url, creds))
            totals = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"])
                for run in range(args.runs):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = ctx.new_page()
                    page.add_init_script(HOOK)
                    page.goto(url)
                    page.evaluate("scrollTo(0, Math.round((document.documentElement.scrollHeight - innerHeight) * 0.9))")
                    page.evaluate("""() => { for (const p of document.querySelectorAll('.scrolled')) {
                        p.scrollLeft = (p.scrollWidth - p.clientWidth) / 2; p.scrollTop = (p.scrollHeight - p.clientHeight) / 2; } }""")
                    page.get_by_role("button", name="Feedback", exact=True).click()
                    page.get_by_role("button", name="Whole page").click()
                    page.wait_for_function("window.benchShot !== undefined", timeout=120_000)
                    # The form's note: empty once the picture is shown, a sentence when the capture failed or took too long.
                    note = "document.querySelector('[data-gf-widget]').shadowRoot.querySelector('.shot-note').textContent"
                    page.wait_for_function(f"!{note}.startsWith('Capturing')", timeout=120_000)
                    shot = page.evaluate("window.benchShot")
                    outcome = "" if not page.evaluate(note) else ", past the form's limit: stopped" if not shot["drawn"] else ", past the form's limit: dropped"
                    totals.append(shot["total"])
                    print(f"capture {run + 1}: toCanvas {shot['toCanvas']:.0f} ms, click to canvas {shot['total']:.0f} ms, "
                          f"{shot['copied']} elements copied{outcome}", flush=True)
                    ctx.close()
                browser.close()
            print(f"{args.kind} x {args.items}, 90 % deep: click to canvas median {statistics.median(totals):.0f} ms")
        finally:
            host.close()
            proc.stop()


if __name__ == "__main__":
    main()
