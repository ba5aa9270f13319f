"""The README's browser pictures, taken in Debian's Chromium through Playwright over a real ``workbench serve``.

The site widget (``widget-*.png``: launcher, picker, form, pins) on a host page served from a
second origin, and the review page (``review-page``, ``review-page-phone``). ``scripts/screenshots.py``
calls these after the TUI's pictures.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

# -- the site widget, in a real browser ------------------------------------------------------
WIDGET_SHOP = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 0; color: #1f2937; }} header {{ padding: 16px 32px; background: #111827; color: #fff; }}
main {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 20px; padding: 28px 32px; }}
.card {{ border: 1px solid #e5e7eb; border-radius: 10px; padding: 16px; }} .swatch {{ height: 110px; border-radius: 8px; }}
.price {{ color: #9ca3af; font-size: 22px; }} button.buy {{ background: #2563eb; color: #fff; border: 0; padding: 8px 14px; border-radius: 6px; }}</style>
<script src="{base}/widget.js" data-site="{site}" data-widget-token="{token}" async></script></head>
<body><header><h1>Acme shop</h1></header><main>
<div class="card"><div class="swatch" style="background:#fca5a5"></div><h2>Kettle</h2><p class="price">€ 39.00</p><button class="buy">Add to cart</button></div>
<div class="card"><div class="swatch" style="background:#93c5fd"></div><h2>Toaster</h2><p class="price" id="toaster-price">€ 59.00</p><button class="buy">Add to cart</button></div>
<div class="card"><div class="swatch" style="background:#86efac"></div><h2>Blender</h2><p class="price">€ 89.00</p><button class="buy">Add to cart</button></div>
</main></body></html>"""  # noqa: E501 - one product card per line


def widget_pictures(out: Path) -> list[Path]:
    """widget-launcher, widget-picker, widget-form and widget-pins .png, taken in Chromium."""
    import functools
    import http.server
    import json
    import threading

    import httpx
    from playwright.sync_api import expect, sync_playwright

    from bench.procs import free_port, wait_until_up

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
            pass

    made: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        data.mkdir()
        run = functools.partial(subprocess.run, capture_output=True, text=True, check=True)
        creds = json.loads(run([sys.executable, "-m", "workbench", "admin", "bootstrap", "--data-dir", str(data), "--json"]).stdout)
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--data-dir", str(data), "--port", str(port),
                                   "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        site = Path(tmp) / "site"
        site.mkdir()
        (site / "index.html").write_text(WIDGET_SHOP.format(base=api, site=creds["site_id"], token=creds["widget_token"]))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
        host = f"http://127.0.0.1:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            wait_until_up(api + "/openapi.json")
            run([sys.executable, "-m", "workbench", "sites", "origins", creds["site_id"], "--add", host, "--data-dir", str(data)])
            member = {"Authorization": f"Bearer {creds['member_token']}"}
            sh = httpx.post(f"{api}/api/widget/sites/{creds['site_id']}/stakeholders", headers=member,
                            json={"name": "Dana (design lead)", "auto_fix_default": "optional_on"}).json()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"])
                page = browser.new_page(viewport={"width": 1100, "height": 760})

                def snap(name: str) -> None:
                    path = out / f"widget-{name}.png"
                    page.screenshot(path=str(path))
                    made.append(path)

                page.goto(f"{host}/index.html?gf_stakeholder={sh['token']}")
                launcher = page.get_by_role("button", name="Feedback", exact=True)
                expect(launcher).to_be_visible()
                snap("launcher")
                launcher.click()
                page.locator("#toaster-price").hover(force=True)  # the picker's catcher is on top
                expect(page.locator(".outline")).to_be_visible()
                snap("picker")
                page.locator("#toaster-price").click(force=True)
                form = page.get_by_role("dialog", name="Send feedback")
                expect(form.get_by_role("img", name="Screenshot")).to_be_visible(timeout=20_000)
                expect(form.get_by_label("Auto-fix")).to_be_visible()
                form.get_by_label("Kind").select_option("accessibility")
                form.get_by_label("Comment").fill("The grey price fails contrast on white (2.5:1).")
                snap("form")
                with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
                    form.get_by_role("button", name="Send").click()
                ann = resp.value.json()["id"]
                httpx.post(f"{api}/api/v1/annotations/{ann}/replies", headers=member, json={"body": "Good catch: darkening it to #4b5563."})
                httpx.patch(f"{api}/api/v1/annotations/{ann}", headers=member, json={"status": "in_progress"})
                page.goto(f"{host}/index.html")
                pin = page.get_by_role("button", name="Your feedback 1: in progress")
                pin.click()
                expect(page.get_by_role("dialog", name="Your feedback")).to_contain_text("darkening")
                snap("pins")
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
            httpd.shutdown()
    return made


# -- the review page, in the real browser ------------------------------------------------------
BROWSER_SHOTS = ("review-page", "review-page-phone")


def browser_shots(out: Path, only: set[str] | None = None) -> list[Path]:
    """The review page over a real `workbench serve`, in Debian's Chromium (as the browser tests drive it).

    A fresh store, a round started through the API, three comments pinned by clicking in the
    page (one of them resolved), then the page at desktop and at phone width.
    """
    import json
    import time

    import httpx
    from playwright.sync_api import sync_playwright

    from bench.procs import free_port, wait_until_up

    wanted = [name for name in BROWSER_SHOTS if not only or name in only]
    if not wanted:
        return []
    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        cli = [sys.executable, "-m", "workbench"]
        creds = json.loads(subprocess.run([*cli, "admin", "bootstrap", "--data-dir", str(data), "--json"],
                                          capture_output=True, text=True, check=True).stdout)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([*cli, "serve", "--data-dir", str(data), "--port", str(port), "--log-level", "warning"])
        try:
            key = {"Authorization": f"Bearer {creds['store_api_key']}"}
            wait_until_up(url + "/openapi.json")
            sid = httpx.post(url + "/api/v1/feedback-sessions", headers=key).json()["id"]
            while (session := httpx.get(f"{url}/api/v1/feedback-sessions/{sid}", headers=key).json())["status"] == "created":
                time.sleep(0.05)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"])
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(session["feedbackUrl"])
                preview = page.frame_locator("#preview")
                preview.locator("#hero-title").wait_for()
                page.evaluate("localStorage.setItem('workbench.reviewerName', 'Dana (marketing)')")
                for target, text in (("#hero-title", "Make the hero heading larger and bold."),
                                     (".hero .button", "The call to action should name the product range, not just the mug."),
                                     (".card:nth-of-type(3) h3", "Walnut board: show the size in the card.")):
                    page.get_by_role("button", name="Add comment").click()
                    box = preview.locator(target).bounding_box()
                    assert box is not None, f"{target} is not shown"
                    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
                    page.get_by_label("Comment", exact=True).fill(text)
                    page.get_by_role("button", name="Send").click()
                    page.locator("#list .comment", has_text=text).wait_for()
                first = httpx.get(f"{url}/api/v1/feedback-sessions/{sid}/comments", headers=key).json()["data"][-1]
                httpx.post(f"{url}/api/v1/feedback-sessions/{sid}/comments/{first['id']}/resolve", headers=key)
                page.reload()
                page.locator("#list .comment[data-status=resolved]").wait_for()
                page.locator("#pins .pin[data-placed=element]").nth(2).wait_for()
                if "review-page" in wanted:
                    made.append(out / "review-page.png")
                    page.screenshot(path=str(made[-1]))
                if "review-page-phone" in wanted:
                    phone = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
                    phone.goto(session["feedbackUrl"])
                    phone.frame_locator("#preview").locator("#hero-title").wait_for()
                    # Placed by the preview's agent, so the preview has drawn its page: a shot taken as soon as the
                    # heading was in its document once showed a blank frame (a busy machine).
                    phone.locator("#pins .pin[data-placed=element]").nth(1).wait_for()
                    made.append(out / "review-page-phone.png")
                    phone.screenshot(path=str(made[-1]), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    return made
