"""Make the README's pictures: the TUI's main screens from demo data, and the review page in Chromium.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--size 120x36] [--only NAME ...]

The review page's pictures (``review-page``, ``review-page-phone``) and the site widget's
(``--only widget``) are taken in Chromium by ``scripts/browser_pictures.py``.

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
def capture(app) -> tuple[str, list[list[tuple[str, object]]]]:
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


def _rgb(color, default: tuple[int, int, int]) -> tuple[int, int, int]:
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


def _block(cairo, cr, ch: str, x: float, y: float, w: float, h: float) -> None:
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
    os.urandom = lambda n: rng.randbytes(n)


def demo_workbench(data_dir: Path):
    from workbench.services.context import Workbench
    from workbench.services.demo import load_demo

    wb = Workbench.open(str(data_dir), mailer=None, clock=lambda: FIXED_MS)
    load_demo(wb)
    return wb


def sync_workbench(tmp: Path):
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

    def clock() -> int:
        return next(ticks)

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


def evidenced_annotation(wb) -> str:
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


async def _keys(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
    await pilot.pause()


def shots() -> list[Shot]:
    async def inbox(pilot) -> None:
        await _keys(pilot, "j", "j", "j", "j")

    async def detail(pilot) -> None:
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

    async def pictures(pilot) -> None:
        # An annotation from the widget with a screenshot, resolved with before/after pictures.
        from workbench.tui.screens.annotation import AnnotationScreen

        app = pilot.app
        await app.push_screen(AnnotationScreen(evidenced_annotation(app.wb)))
        await pilot.pause(0.3)

    async def search(pilot) -> None:
        await _keys(pilot, "slash", *"checkout", "enter")

    async def filters(pilot) -> None:
        await _keys(pilot, "f")

    async def bulk(pilot) -> None:
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

    async def feedback(pilot) -> None:
        await _keys(pilot, "2", "j")

    async def tests(pilot) -> None:
        await _keys(pilot, "3")

    async def personas(pilot) -> None:
        await _keys(pilot, "4", "j", "j")

    async def help_(pilot) -> None:
        await _keys(pilot, "question_mark")

    async def sync_(pilot) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="120x36")
    parser.add_argument("--only", nargs="*", help="names of the screens to make")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    only = set(args.only) if args.only else None
    from browser_pictures import BROWSER_SHOTS, browser_shots, widget_pictures

    made = [] if only and only <= {*BROWSER_SHOTS, "widget"} else asyncio.run(make(args.out, (w, h), only))
    made += browser_shots(args.out, only)
    if only is None or "widget" in only:
        args.out.mkdir(parents=True, exist_ok=True)
        made += widget_pictures(args.out)
    for path in made:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
