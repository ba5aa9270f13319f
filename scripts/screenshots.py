"""Make the README's pictures: the TUI's main screens from demo data, and the review page in Chromium.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--size 120x36] [--only NAME ...]

The review page's pictures (``review-page``, ``review-page-phone``) are taken in Debian's
Chromium through Playwright, over a real ``workbench serve`` (see ``browser_shots``).

It also takes the site widget's pictures (``widget-*.png``: launcher, picker, form, pins) in
Debian's Chromium under Playwright, against a real ``workbench serve`` and a host page on a
second origin (see ``widget_pictures``); ``--only widget`` makes just those.

Runs the real app headless (``App.run_test``) on a fresh demo store with a fixed clock, drives
it with keys, and saves one SVG per screen (``app.export_screenshot``). PNGs come from
``rsvg-convert`` when it is installed; otherwise from libcairo through ctypes (the cells the
app rendered, drawn with DejaVu Sans Mono), which needs nothing installed beyond the system's
shared libraries. When neither is available the PNGs are skipped, and the script says so.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIXED_MS = 1_790_000_000_000  # 2026-09-21T13:33:20Z: every age on screen is relative to this


# -- capture ---------------------------------------------------------------------------------
def capture(app) -> tuple[str, list[list[tuple[str, object]]]]:  # noqa: ANN001
    """(svg, lines of (text, rich Style)) of what the app shows now."""
    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      record=True, legacy_windows=False, safe_box=False)
    render = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    console.print(render)
    lines: list[list[tuple[str, object]]] = [[]]
    for seg in console._record_buffer:  # the recorded segments, as export_svg reads them
        if seg.control:
            continue
        parts = seg.text.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append((part, seg.style))
    svg = console.export_svg(title=app.title)
    return svg, lines[:height]


# -- PNG through libcairo (ctypes) -----------------------------------------------------------
class _Cairo:
    def __init__(self) -> None:
        name = ctypes.util.find_library("cairo") or "libcairo.so.2"
        c = ctypes.CDLL(name)
        vp, d = ctypes.c_void_p, ctypes.c_double
        c.cairo_image_surface_create.restype = vp
        c.cairo_image_surface_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        c.cairo_create.restype = vp
        c.cairo_create.argtypes = [vp]
        c.cairo_set_source_rgb.argtypes = [vp, d, d, d]
        c.cairo_rectangle.argtypes = [vp, d, d, d, d]
        c.cairo_fill.argtypes = [vp]
        c.cairo_select_font_face.argtypes = [vp, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
        c.cairo_set_font_size.argtypes = [vp, d]
        c.cairo_move_to.argtypes = [vp, d, d]
        c.cairo_show_text.argtypes = [vp, ctypes.c_char_p]
        c.cairo_surface_write_to_png.argtypes = [vp, ctypes.c_char_p]
        c.cairo_destroy.argtypes = [vp]
        c.cairo_surface_destroy.argtypes = [vp]
        self.c = c


def _rgb(color, default: tuple[int, int, int]) -> tuple[int, int, int]:  # noqa: ANN001
    if color is None or color.is_default:
        return default
    tc = color.get_truecolor()
    return tc.red, tc.green, tc.blue


def render_png(lines: list[list[tuple[str, object]]], path: Path, *, cell_w: int = 9, cell_h: int = 18, font_size: float = 14.5) -> None:
    """Draw terminal cells (background, then each character in its colour) into a PNG."""
    from rich.cells import cell_len

    cairo = _Cairo().c
    cols = max((sum(cell_len(t) for t, _ in line) for line in lines), default=80)
    surface = cairo.cairo_image_surface_create(1, cols * cell_w, len(lines) * cell_h)
    cr = cairo.cairo_create(surface)
    bg0, fg0 = (18, 18, 24), (220, 220, 220)
    cairo.cairo_set_source_rgb(cr, *(v / 255 for v in bg0))
    cairo.cairo_rectangle(cr, 0, 0, cols * cell_w, len(lines) * cell_h)
    cairo.cairo_fill(cr)
    for y, line in enumerate(lines):
        x = 0
        for text, style in line:
            fg = _rgb(getattr(style, "color", None), fg0)
            bg = _rgb(getattr(style, "bgcolor", None), bg0)
            if getattr(style, "reverse", False):
                fg, bg = bg, fg
            if getattr(style, "dim", False):
                fg = tuple(int(f * 0.6 + b * 0.4) for f, b in zip(fg, bg, strict=True))
            width = cell_len(text)
            cairo.cairo_set_source_rgb(cr, *(v / 255 for v in bg))
            cairo.cairo_rectangle(cr, x * cell_w, y * cell_h, width * cell_w + 0.5, cell_h + 0.5)
            cairo.cairo_fill(cr)
            cairo.cairo_set_source_rgb(cr, *(v / 255 for v in fg))
            slant = 1 if getattr(style, "italic", False) else 0
            weight = 1 if getattr(style, "bold", False) else 0
            cairo.cairo_select_font_face(cr, b"DejaVu Sans Mono", slant, weight)
            cairo.cairo_set_font_size(cr, font_size)
            cx = x
            for ch in text:
                w = cell_len(ch)
                if ch in "▁▂▃▄▅▆▇█▉▊▋▌▍▎▏":
                    _block(cairo, cr, ch, cx * cell_w, y * cell_h, cell_w, cell_h)
                elif ch != " ":
                    cairo.cairo_move_to(cr, cx * cell_w, y * cell_h + cell_h * 0.78)
                    cairo.cairo_show_text(cr, ch.encode("utf-8"))
                cx += w
            x += width
    cairo.cairo_surface_write_to_png(surface, str(path).encode())
    cairo.cairo_destroy(cr)
    cairo.cairo_surface_destroy(surface)


def _block(cairo, cr, ch: str, x: float, y: float, w: float, h: float) -> None:  # noqa: ANN001
    """Block elements drawn as rectangles, so bars join up exactly like in a terminal."""
    lower = "▁▂▃▄▅▆▇█"
    left = "█▉▊▋▌▍▎▏"
    if ch in lower:
        frac = (lower.index(ch) + 1) / 8
        cairo.cairo_rectangle(cr, x, y + h * (1 - frac), w + 0.5, h * frac + 0.5)
    else:
        frac = (8 - left.index(ch)) / 8
        cairo.cairo_rectangle(cr, x, y, w * frac + 0.5, h + 0.5)
    cairo.cairo_fill(cr)


def png_method() -> str | None:
    if shutil.which("rsvg-convert"):
        return "rsvg-convert"
    try:
        _Cairo()
    except OSError:
        return None
    return "libcairo"


def write_png(svg_path: Path, lines: list[list[tuple[str, object]]], method: str | None) -> Path | None:
    png = svg_path.with_suffix(".png")
    if method == "rsvg-convert":
        subprocess.run(["rsvg-convert", "-o", str(png), str(svg_path)], check=True)
    elif method == "libcairo":
        render_png(lines, png)
    else:
        return None
    return png


# -- the screens -----------------------------------------------------------------------------
def deterministic_ids(seed: int = 20260921) -> None:
    """uuid7 ids carry random bits: seed them so every run makes the same pictures."""
    rng = random.Random(seed)
    os.urandom = lambda n: rng.randbytes(n)  # type: ignore[assignment]


def demo_workbench(data_dir: Path):  # noqa: ANN201
    from workbench.services.context import Workbench
    from workbench.services.demo import load_demo

    wb = Workbench.open(str(data_dir), mailer=None, clock=lambda: FIXED_MS)
    load_demo(wb)
    return wb


def sync_workbench(tmp: Path):  # noqa: ANN201
    """A replica of an in-process ``workbench serve`` app with one conflict and one refused change.

    The server runs behind Starlette's TestClient (no port); the replica reaches it through a
    sync httpx transport. One ticking clock for both, so every id and time is the same each run.
    """
    import itertools

    import httpx
    from fastapi.testclient import TestClient

    from workbench.domain.annotations import AnnotationPatch, WidgetAnnotationCreate
    from workbench.server.app import create_app
    from workbench.server.settings import ServerSettings
    from workbench.services import annotations, remotes, sync
    from workbench.services.bootstrap import bootstrap
    from workbench.services.context import Workbench
    from workbench.services.local import local_user

    class Transport(httpx.BaseTransport):
        def __init__(self, tc: TestClient) -> None:
            self.tc = tc

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in ("host", "content-length")]
            r = self.tc.request(request.method, str(request.url), headers=headers, content=request.read())
            return httpx.Response(r.status_code, headers=list(r.headers.multi_items()), content=r.content, request=request)

    ticks = itertools.count(FIXED_MS)
    clock = lambda: next(ticks)  # noqa: E731
    server = Workbench.open(str(tmp / "server"), mailer=None, clock=clock)
    creds = bootstrap(server)
    tc = TestClient(create_app(server, ServerSettings(token_limit=1_000_000, ip_limit=1_000_000)))
    tc.__enter__()
    ids = [
        annotations.submit_from_widget(
            server, creds["site_id"], creds["widget_token"], None,
            WidgetAnnotationCreate(page_url=f"https://shop.acme.example/{page}", body=body),
        ).id
        for page, body in (("checkout", "The Pay button is hidden behind the cookie banner on mobile"),
                           ("pricing", "Annual toggle shows monthly prices"))
    ]
    replica = Workbench.open(str(tmp / "replica"), mailer=None, clock=clock)
    remotes.add(replica, "origin", "http://testserver")
    options = {"credentials": {"token": creds["member_token"]}, "transport": Transport(tc), "sleep": lambda s: None}
    sync.run_sync(replica, "origin", **options)
    me = local_user(replica, sync.status(replica).workspace_id)
    annotations.patch(replica, me, ids[0], AnnotationPatch(status="won_t_fix"))
    annotations.patch(server, local_user(server), ids[0], AnnotationPatch(status="resolved"))
    annotations.patch(replica, me, ids[1], AnnotationPatch(assignee_id="not-a-member"))
    sync.run_sync(replica, "origin", **options)

    def close() -> None:
        replica.store.close()
        tc.__exit__(None, None, None)
        server.store.close()

    return replica, close


def evidenced_annotation(wb) -> str:  # noqa: ANN001
    """A widget annotation with a drawn storefront screenshot and before/after pictures (made with Pillow)."""
    import base64

    from PIL import Image, ImageDraw

    from workbench.domain.annotations import ResolutionCreate, WidgetAnnotationCreate
    from workbench.services import annotations, resolutions
    from workbench.services.bootstrap import bootstrap
    from workbench.services.local import local_user

    def storefront(button: tuple[int, int, int]) -> bytes:
        image = Image.new("RGB", (640, 400), (251, 248, 244))
        draw = ImageDraw.Draw(image)
        draw.rectangle((40, 30, 600, 170), fill=(239, 230, 218))
        draw.rectangle((180, 60, 460, 95), fill=(43, 38, 34))
        draw.rectangle((250, 120, 390, 150), fill=button)
        for i, colour in enumerate([(194, 112, 61), (91, 127, 106), (107, 74, 53)]):
            draw.ellipse((70 + i * 180, 210, 190 + i * 180, 330), fill=colour)
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    creds = bootstrap(wb)
    shot = "data:image/png;base64," + base64.b64encode(storefront((43, 38, 34))).decode()
    ann = annotations.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(
        page_url="https://shop.acme.example/", kind="design", body="The call to action disappears into the hero.", screenshot=shot))
    me = local_user(wb)
    keys = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, colour in (("before", (43, 38, 34)), ("after", (36, 86, 214))):
            file = Path(tmp) / f"{kind}.png"
            file.write_bytes(storefront(colour))
            keys[kind] = resolutions.attach_local_file(wb, me, ann.id, kind, file)
    resolutions.create(wb, me, ann.id, ResolutionCreate(before_key=keys["before"], after_key=keys["after"],
                                                        diff_url="https://github.com/acme/shop/pull/7"))
    return ann.id


Shot = tuple[str, Callable[..., Awaitable[None]]]


async def _keys(pilot, *keys: str) -> None:  # noqa: ANN001
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
    await pilot.pause()


def shots() -> list[Shot]:
    async def inbox(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "j", "j", "j", "j")

    async def detail(pilot) -> None:  # noqa: ANN001
        # A resolved annotation with computed styles, a thread and a resolution: every section shows.
        from workbench.services import annotations, inbox
        from workbench.tui.screens.annotation import AnnotationScreen

        app = pilot.app
        rows = inbox.window(app.wb, app.principal, inbox.InboxFilter(sources=("annotation",), status="resolved"), 0, 400)
        target = next(
            r.id for r in rows
            if annotations.detail(app.wb, app.principal, r.id)["resolutions"]
            and annotations.get(app.wb, app.principal, r.id).computed_styles
        )
        await app.push_screen(AnnotationScreen(target))
        await pilot.pause()

    async def pictures(pilot) -> None:  # noqa: ANN001
        # An annotation from the widget with a screenshot, resolved with before/after pictures.
        from workbench.tui.screens.annotation import AnnotationScreen

        app = pilot.app
        await app.push_screen(AnnotationScreen(evidenced_annotation(app.wb)))
        await pilot.pause(0.3)

    async def search(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "slash", *"checkout", "enter")

    async def filters(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "f")

    async def bulk(pilot) -> None:  # noqa: ANN001
        # A mix of sources, so the preview shows what will change and what is refused.
        vlist = pilot.app.screen.query_one("#inbox-list")
        wanted = {"annotation": 3, "comment": 1, "test": 1}
        for i in range(vlist.total):
            row = vlist.row_at(i)
            if wanted.get(row.source, 0) > 0:
                wanted[row.source] -= 1
                vlist.move_cursor(i)
                await _keys(pilot, "space")
        await _keys(pilot, "home", "b", "down", "down", "enter")

    async def feedback(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "2", "j")

    async def tests(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "3")

    async def personas(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "4", "j", "j")

    async def help_(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "question_mark")

    async def sync_(pilot) -> None:  # noqa: ANN001
        await _keys(pilot, "5")

    return [
        ("inbox", inbox), ("annotation", detail), ("annotation-pictures", pictures), ("search", search), ("filter", filters), ("bulk-preview", bulk),
        ("feedback-sessions", feedback), ("test-sessions", tests), ("personas", personas), ("help", help_),
        ("sync", sync_),  # on a replica of an in-process server (``sync_workbench``), not the demo store
    ]


async def make(out: Path, size: tuple[int, int], only: set[str] | None = None) -> list[Path]:
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.keys import Keymap

    out.mkdir(parents=True, exist_ok=True)
    method = png_method()
    made: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        deterministic_ids()
        wb = demo_workbench(Path(tmp) / "data")
        for name, drive in shots():
            if only and name not in only:
                continue
            close = None
            app_wb = wb
            if name == "sync":
                app_wb, close = sync_workbench(Path(tmp) / "sync")
            app = WorkbenchApp(app_wb, watch=False, keymap=Keymap())
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                await drive(pilot)
                await pilot.wait_for_scheduled_animations()
                await pilot.pause()
                svg, lines = capture(app)
            if close is not None:
                close()
            svg_path = out / f"{name}.svg"
            svg_path.write_text(svg, encoding="utf-8")
            made.append(svg_path)
            png = write_png(svg_path, lines, method)
            if png is not None:
                made.append(png)
        wb.store.close()
    if method is None:
        print("PNG skipped: neither rsvg-convert nor libcairo is available (SVGs were written).")
    else:
        print(f"PNG made with {method}.")
    return made


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
</main></body></html>"""


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
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
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
                page.locator("#toaster-price").hover()
                expect(page.locator(".outline")).to_be_visible()
                snap("picker")
                page.locator("#toaster-price").click()
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
                pin = page.get_by_role("button", name="Your feedback 1: in_progress")
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
    import socket
    import time

    import httpx
    from playwright.sync_api import sync_playwright

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
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([*cli, "serve", "--data-dir", str(data), "--port", str(port), "--log-level", "warning"])
        try:
            key = {"Authorization": f"Bearer {creds['store_api_key']}"}
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(url + "/openapi.json", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
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
                    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
                    page.get_by_label("Comment", exact=True).fill(text)
                    page.get_by_role("button", name="Send").click()
                    page.locator("#list .comment", has_text=text).wait_for()
                first = httpx.get(f"{url}/api/v1/feedback-sessions/{sid}/comments", headers=key).json()["data"][-1]
                httpx.post(f"{url}/api/v1/feedback-sessions/{sid}/comments/{first['id']}/resolve", headers=key)
                page.reload()
                page.locator("#list .comment[data-status=resolved]").wait_for()
                page.locator("#pins .pin").nth(2).wait_for()
                if "review-page" in wanted:
                    made.append(out / "review-page.png")
                    page.screenshot(path=str(made[-1]))
                if "review-page-phone" in wanted:
                    phone = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
                    phone.goto(session["feedbackUrl"])
                    phone.frame_locator("#preview").locator("#hero-title").wait_for()
                    phone.locator("#pins .pin").first.wait_for()
                    made.append(out / "review-page-phone.png")
                    phone.screenshot(path=str(made[-1]), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="120x36")
    parser.add_argument("--only", nargs="*", help="names of the screens to make")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    only = set(args.only) if args.only else None
    made = [] if only and only <= {*BROWSER_SHOTS, "widget"} else asyncio.run(make(args.out, (w, h), only))
    made += browser_shots(args.out, only)
    if only is None or "widget" in only:
        args.out.mkdir(parents=True, exist_ok=True)
        made += widget_pictures(args.out)
    for path in made:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
