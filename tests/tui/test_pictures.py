"""Pictures in the TUI: screenshot and before/after evidence as images with the pin, the capture's logs, and `o`."""

from __future__ import annotations

import base64
import io
import os
import stat
import warnings
import webbrowser
from pathlib import Path

import pytest
from PIL import Image
from textual_image._pixeldata import PixelData  # where the library calls getdata: its renderables go through it

from tests.found import found
from tests.images import image_bytes
from tests.tui.conftest import SIZE, press, screen_text, wait_for
from workbench.domain.annotations import ResolutionCreate, WidgetAnnotationCreate
from workbench.domain.widget import Capture
from workbench.services import annotations as annotations_service
from workbench.services import resolutions
from workbench.services.bootstrap import bootstrap
from workbench.tui import format as fmt
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.feedback import CommentSource
from workbench.tui.screens.forms import ChoiceDialog
from workbench.tui.widgets.pictures import Picture, capture_logs, pin_of, with_pin


def png(colour: tuple[int, int, int], size: tuple[int, int] = (160, 100)) -> bytes:
    return image_bytes("PNG", size, colour)


@pytest.fixture
def evidenced(demo_wb, principal, tmp_path: Path) -> str:
    """An annotation submitted with a screenshot, resolved with before/after images and a diff URL."""
    creds = bootstrap(demo_wb)
    shot = "data:image/png;base64," + base64.b64encode(png((20, 120, 200))).decode()
    ann = annotations_service.submit_from_widget(
        demo_wb, creds["site_id"], creds["widget_token"], None,
        WidgetAnnotationCreate(page_url="https://shop.acme.example/cart", body="Pay button hidden", screenshot=shot),
    )
    keys = {}
    for kind, colour in (("before", (200, 40, 40)), ("after", (40, 160, 60))):
        file = tmp_path / f"{kind}.png"
        file.write_bytes(png(colour))
        keys[kind] = resolutions.attach_local_file(demo_wb, principal, ann.id, kind, file)
    resolutions.create(demo_wb, principal, ann.id, ResolutionCreate(
        before_key=keys["before"], after_key=keys["after"], diff_url="https://github.com/acme/shop/pull/42"))
    return ann.id


async def test_screenshot_and_evidence_are_shown_as_pictures(app, evidenced):
    async with app.run_test(size=(140, 60)) as pilot:
        screen = AnnotationScreen(evidenced)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query("Picture .picture")) == 3)
        pictures = list(screen.query(Picture))
        assert [p.caption for p in pictures] == ["Screenshot", "Before", "After"]
        import textual_image.widget._base

        images = [p.query_one(".picture") for p in pictures]
        assert all(isinstance(image, textual_image.widget._base.Image) for image in images)
        # Laid out with a size of their own (rows and columns of the picture), not just mounted.
        await wait_for(pilot, lambda: all(i.size.height > 0 and i.size.width > 0 for i in images))
        assert "Pictures" in screen_text(app)


async def test_an_annotation_without_pictures_shows_no_picture_section(app, demo_wb, principal):
    from workbench.services import inbox

    row = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 1)[0]
    assert resolutions.evidence_files(demo_wb, principal, row.id) == []
    async with app.run_test(size=SIZE) as pilot:
        screen = AnnotationScreen(row.id)
        await app.push_screen(screen)
        await pilot.pause()
        assert not screen.query_one("#ann-pictures").display and not screen.query(Picture)
        assert not screen.query_one("#ann-logs").display


def test_the_pin_lands_on_the_element_of_the_viewport_picture(tmp_path: Path):
    capture = {"anchor": {"box": {"x": 300, "y": 1250, "width": 100, "height": 40}},
               "viewport": {"width": 800, "height": 600, "device_pixel_ratio": 2, "scroll_x": 0, "scroll_y": 1000}}
    assert pin_of(capture) == pytest.approx((0.4375, 0.45))
    # Without the scroll position a page-coordinate box cannot be placed on a viewport picture.
    del capture["viewport"]["scroll_y"]
    assert pin_of(capture) is None
    assert pin_of({"anchor": {"whole_page": True}, "viewport": {"width": 1, "height": 1}}) is None
    assert pin_of(None) is None

    file = tmp_path / "shot.png"
    file.write_bytes(png((255, 255, 255), (800, 600)))
    drawn = with_pin(file, (0.4375, 0.45))
    red = drawn.getpixel((round(0.4375 * 799), round(0.45 * 599)))
    assert red == (225, 29, 72)
    assert drawn.getpixel((10, 10)) == (255, 255, 255)  # the rest of the picture is untouched


async def test_a_widget_capture_with_its_scroll_gets_a_pin_on_the_screenshot(app, demo_wb, principal):
    """The widget sends the scroll its screenshot was taken at (Viewport.scroll_x/y): the pin goes on the element."""
    creds = bootstrap(demo_wb)
    shot = "data:image/png;base64," + base64.b64encode(png((255, 255, 255), (800, 600))).decode()
    capture = {"anchor": {"css": "#buy", "box": {"x": 300, "y": 1250, "width": 100, "height": 40}},
               "viewport": {"width": 800, "height": 600, "device_pixel_ratio": 1, "scroll_x": 0, "scroll_y": 1000}}
    ann = annotations_service.submit_from_widget(
        demo_wb, creds["site_id"], creds["widget_token"], None,
        WidgetAnnotationCreate(page_url="https://shop.acme.example/p/1", body="Button hidden", screenshot=shot,
                               capture=Capture.model_validate(capture)),
    )
    async with app.run_test(size=(140, 60)) as pilot:
        screen = AnnotationScreen(ann.id)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query("Picture .picture")) == 1)
        picture = screen.query_one(Picture)
        assert picture.caption == "Screenshot" and picture.pin == pytest.approx((0.4375, 0.45))
        assert "pin at the element" in str(picture.query_one(".caption").render())


def test_console_errors_and_failed_requests_are_listed_without_control_characters():
    text = capture_logs({
        "console": [{"level": "error", "message": "TypeError: x is undefined\x1b[2J", "at": 1}],
        "network": [{"method": "POST", "url": "https://shop.example/api/cart", "status": 500, "at": 2},
                    {"method": "GET", "url": "https://cdn.example/app.js", "status": 0, "at": 3}],
    })
    assert text is not None
    from rich.console import Console

    console = Console(width=120, file=io.StringIO(), color_system=None)
    with console.capture() as out:
        console.print(text)
    plain = " ".join(out.get().split())
    assert "Console (1)" in plain and "TypeError: x is undefined" in plain
    assert "Failed requests (2)" in plain and "500" in plain and "POST https://shop.example/api/cart" in plain
    assert "no answer" in plain
    assert "\x1b" not in plain
    assert capture_logs({"console": [], "network": []}) is None
    assert capture_logs(None) is None


@pytest.fixture
def browser_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$BROWSER is a real program that records the URLs it is asked to open."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "record-url"
    script.write_text(f"#!/bin/sh\necho \"$1\" >> {log}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BROWSER", f"{script} %s")
    # webbrowser reads $BROWSER once, on first use; make it read this one.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return log


def opened(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


async def test_o_opens_the_page_or_a_diff_in_the_browser(app, evidenced, browser_log):
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(AnnotationScreen(evidenced))
        await pilot.pause()
        await press(pilot, "o")
        assert isinstance(app.screen, ChoiceDialog)  # the page and the diff: a choice first
        await press(pilot, "end", "enter")
        await wait_for(pilot, lambda: opened(browser_log) == ["https://github.com/acme/shop/pull/42"])
        await press(pilot, "o", "home", "enter")
        await wait_for(pilot, lambda: opened(browser_log)[-1:] == ["https://shop.acme.example/cart"])


async def test_o_on_a_feedback_comment_opens_the_preview_at_its_page(app, demo_wb, principal, browser_log):
    from workbench.domain.session_records import on_base
    from workbench.services.feedback_sessions import local_base
    from workbench.tui.screens.feedback import FeedbackScreen

    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        # A session with a deployed preview and a comment on a page other than "/".
        for i in range(screen.sessions.total):
            screen.sessions.move_cursor(i)
            await pilot.pause()
            row = found(screen.sessions.current)
            if row.session.deployment_url and any(c.page_path != "/" for c in screen.comments.source_as(CommentSource).rows):
                break
        else:
            pytest.fail("the demo has no deployed session with a comment off the home page")
        await press(pilot, "tab")
        rows = screen.comments.source_as(CommentSource).rows
        index = next(i for i, c in enumerate(rows) if c.page_path != "/")
        screen.comments.move_cursor(index)
        await pilot.pause()
        assert "% of the page" in screen_text(app)  # the comment's pin, in its preview
        await press(pilot, "o")
        assert isinstance(app.screen, ChoiceDialog)
        await press(pilot, "home", "enter")  # first: the preview at the comment's page
        # Stored as a path (the base is each front end's own): the TUI's is local_base's.
        preview = on_base(row.session.deployment_url, local_base())
        assert preview is not None and preview.startswith("http://")
        expected = preview.rstrip("/") + rows[index].page_path
        await wait_for(pilot, lambda: opened(browser_log) == [expected])


def on_odd_page(wb, page_url: str) -> str:
    """The id of a visitor's annotation left on ``page_url``, as its browser reported it."""
    creds = bootstrap(wb)
    return annotations_service.submit_from_widget(
        wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url=page_url, body="odd page"),
    ).id


async def press_o_on(app, pilot, ann_id: str) -> None:
    await app.push_screen(AnnotationScreen(ann_id))
    await pilot.pause()
    await press(pilot, "o")


async def test_only_http_urls_are_opened(app, demo_wb, principal, browser_log):
    ann_id = on_odd_page(demo_wb, "javascript:alert(1)")
    async with app.run_test(size=SIZE) as pilot:
        await press_o_on(app, pilot, ann_id)
        await wait_for(pilot, lambda: any("only http(s)" in m for _, m in app.notices))
    assert opened(browser_log) == []
    assert os.environ["BROWSER"].endswith("%s")


async def test_a_damaged_picture_says_so_in_a_few_readable_lines(app, demo_wb, principal, tmp_path: Path):
    """QA: a before image that is only a PNG signature showed its error squeezed to its caption's
    width, "Before": some thirty lines of nine letters. The reason reads as a paragraph beside the
    other pictures. (Attaching refuses such a file now; one damaged in the store, or pulled from a
    server that took it, is still shown so.)"""
    from workbench.services import inbox

    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 1)[0]
    whole = tmp_path / "before.png"
    whole.write_bytes(png((200, 40, 40)))
    key = resolutions.attach_local_file(demo_wb, principal, ann.id, "before", whole)
    demo_wb.store.put_blob(key, b"\x89PNG\r\n\x1a\n")
    resolutions.create(demo_wb, principal, ann.id, ResolutionCreate(before_key=key))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = AnnotationScreen(ann.id)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query("Picture .error")) == 1)
        error = screen.query_one("Picture .error")
        await wait_for(pilot, lambda: error.size.height > 0)
        assert "cannot show" in str(error.render())
        assert error.size.width >= 40 and error.size.height <= 4, error.size


async def test_a_url_holding_control_characters_is_neither_opened_nor_copied(app, demo_wb, principal, monkeypatch):
    """QA: with no graphical browser, `o` copied a visitor's page URL to the clipboard raw: pasted into a
    shell, an escape in it ("\\x1b[201~" ends a bracketed paste) acts there. Such a URL is said, not used."""
    for var in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    ann_id = on_odd_page(demo_wb, "https://shop.example/\x1b[201~x")
    async with app.run_test(size=SIZE) as pilot:
        await press_o_on(app, pilot, ann_id)
        await wait_for(pilot, lambda: any("Not opened" in m for _, m in app.notices))
        assert "\x1b" not in (app.clipboard or "")


async def test_a_url_in_a_notice_is_text_not_markup(app, demo_wb, principal, monkeypatch):
    """QA: `o`'s notices were content markup, so a visitor's page URL styled them ("[b]…[/b]" vanished,
    and "[@click=…]" would have made a clickable action): the address is shown as written."""
    for var in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    ann_id = on_odd_page(demo_wb, "https://shop.example/[b]cart[/b]")
    async with app.run_test(size=(160, 40), notifications=True) as pilot:  # toasts drawn, as in a terminal
        await press_o_on(app, pilot, ann_id)
        from textual.widgets._toast import Toast

        def shown() -> str:
            return " ".join(str(toast.render()) for toast in app.screen.query(Toast))

        await wait_for(pilot, lambda: "copied" in shown())
        assert "copied https://shop.example/[b]cart[/b]" in shown()


async def test_pictures_are_named_by_format_and_size_not_by_storage_key(app, evidenced):
    # A storage key (resolutions/<annotation id>/before-<id>.png) wrapped over two lines at 80 columns
    # and told a reader nothing; the format and size fit one line and say what the file is.
    before, after = (fmt.size(len(png(colour))) for colour in ((200, 40, 40), (40, 160, 60)))
    shot = fmt.size(len(png((20, 120, 200))))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = AnnotationScreen(evidenced)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query("Picture .picture")) == 3)

        async def lines_at(part: str) -> list[str]:
            screen.query_one("#detail").scroll_to_widget(screen.query_one(part), animate=False, top=True)
            await pilot.pause()
            await pilot.pause()
            shown = screen_text(app)
            assert "resolutions/" not in shown and "screenshots/" not in shown
            return [line.strip() for line in shown.splitlines()]

        lines = await lines_at("#ann-resolutions")
        assert f"before  PNG · {before}" in lines and f"after   PNG · {after}" in lines, "\n".join(lines)
        lines = await lines_at("#ann-facts")
        assert any(line.split() == ["Screenshot", "PNG", "·", *shot.split()] for line in lines), lines


def test_a_picture_reads_as_its_format_and_size_or_says_it_is_not_here_yet():
    facts = {"k.png": ("image/png", 123_456), "k.jpg": ("image/jpeg", 2_500_000), "k.gif": ("image/gif", 300)}
    assert fmt.picture("k.png", facts).plain == "PNG · 121 KB"
    assert fmt.picture("k.jpg", facts).plain == "JPG · 2.4 MB"
    assert fmt.picture("k.gif", facts).plain == "GIF · 300 B"
    assert fmt.picture(None, facts).plain == "—"
    assert fmt.picture("resolutions/x/before-y.png", facts).plain == "not in this store yet (a sync fetches it)"


def test_only_textual_images_own_getdata_deprecation_is_filtered():
    """Pillow deprecated ``Image.getdata``; textual-image 0.12.0 still calls it for every half-cell picture
    the TUI draws, and each test that drew one printed the warning. pyproject.toml filters that module's
    alone: the same call from our code still warns."""
    picture = Image.new("RGB", (2, 2))

    with warnings.catch_warnings(record=True) as seen:
        rows = list(PixelData(picture))
        picture.getdata()
    assert len(rows) == 2
    assert [(Path(w.filename).name, w.category) for w in seen] == [(Path(__file__).name, DeprecationWarning)], [str(w.message) for w in seen]
