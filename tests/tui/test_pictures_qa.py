"""QA of the annotation screen's pictures and capture logs over real data: files gone from the uploads,
console and request lines, transparent and oddly shaped pictures, huge ones."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console
from textual.app import App, ComposeResult

from tests.tui.conftest import wait_for
from tests.tui.test_pictures import evidenced, png  # noqa: F401 - the fixture, used by name
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.widgets.pictures import MAX_COLUMNS, PICTURE_ROWS, Picture, capture_logs, with_pin


async def test_a_picture_gone_from_the_uploads_or_not_yet_fetched_says_so(app, demo_wb, principal, evidenced):  # noqa: F811
    """QA: a screenshot deleted from the uploads (its record still names it) vanished from Pictures without a
    word, and with it the whole section when it was the only picture; the Details row still read "PNG · 2 KB".
    A picture a replica's sync has not fetched yet vanished the same way. Each says so where it would be."""
    from workbench.services import annotations as annotations_service

    ann = annotations_service.get(demo_wb, principal, evidenced)
    demo_wb.store.upload_path(ann.screenshot_key).unlink()  # deleted by hand: the row still names it
    after_key = annotations_service.detail(demo_wb, principal, ann.id)["resolutions"][0]["after_key"]
    # A replica's record whose picture its sync has not brought: no file, no upload row.
    demo_wb.store.upload_path(after_key).unlink()
    with demo_wb.store.write() as db:
        db.execute("DELETE FROM uploads WHERE key = ?", (after_key,))
    async with app.run_test(size=(140, 50)) as pilot:
        screen = AnnotationScreen(evidenced)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query(Picture)) == 3)
        pictures = {p.caption: p for p in screen.query(Picture)}
        assert list(pictures) == ["Screenshot", "Before", "After"]
        assert screen.query_one("#ann-pictures").display
        assert pictures["Before"].query(".picture")  # still drawn
        said = {caption: " ".join(str(w.render()) for w in p.query(".error")) for caption, p in pictures.items()}
        assert "missing from this store's uploads" in said["Screenshot"], said
        assert "not in this store yet" in said["After"] and "sync" in said["After"], said


def rendered(renderable, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as out:
        console.print(renderable)
    return out.get().splitlines()


def test_log_lines_keep_their_columns_and_a_long_one_does_not_flood_the_screen():
    """QA: "no answer" filled its 9 columns and ran into the method ("no answerPOST"); a long URL or message
    wrapped back to the left edge under the status, and a 2,000-character one (the capture's limit) took
    17 lines at 120 columns, so 20 of them pushed the thread hundreds of lines down."""
    long_url = "https://api.shop.example/" + "very/long/path/" * 133
    logs = capture_logs({
        "console": [{"level": "unhandledrejection", "message": "boom " * 60, "at": 1}],
        "network": [{"method": "POST", "url": long_url, "status": 0, "at": 2},
                    {"method": "GET", "url": "https://cdn.example/app.js", "status": 404, "at": 3}],
    })
    assert logs is not None
    lines = rendered(logs, 80)
    assert any("no answer POST https://api.shop.example/" in line for line in lines), lines
    assert any(line.split() == ["404", "GET", "https://cdn.example/app.js"] for line in lines), lines
    start = next(i for i, line in enumerate(lines) if "no answer" in line)
    end = next(i for i, line in enumerate(lines) if "404" in line)
    column = lines[start].index("https")
    assert all(line[:column].strip() == "" for line in lines[start + 1:end]), lines  # a hanging indent
    assert end - start <= 7, lines  # cut short (2,000 characters took 25 lines), saying by how much
    assert "more characters)" in " ".join(" ".join(lines[start:end]).split())
    assert all(len(line) <= 80 for line in lines)
    # The level is never cut off by a long message either.
    assert any(line.strip().startswith("unhandledrejection boom") for line in lines), lines


def test_a_transparent_picture_is_shown_on_white_not_black(tmp_path: Path):
    """QA: a page screenshot with no background (html-to-image leaves it transparent) or a transparent
    evidence PNG lost its alpha to black: dark text on it vanished. It is laid on white, as a browser shows it."""
    for mode, clear in (("RGBA", (0, 0, 0, 0)), ("LA", (0, 0))):
        file = tmp_path / f"clear-{mode}.png"
        picture = Image.new(mode, (40, 30), clear)
        picture.paste(Image.new(mode, (10, 10), (20, 20, 20, 255) if mode == "RGBA" else (20, 255)), (15, 10))
        picture.save(file)
        drawn = with_pin(file, None)
        assert drawn.getpixel((2, 2)) == (255, 255, 255), mode
        assert drawn.getpixel((20, 15)) == (20, 20, 20), mode
    palette = tmp_path / "clear-P.png"
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    image.info["transparency"] = 0
    image.save(palette, transparency=0)
    assert with_pin(palette, None).getpixel((1, 1)) == (255, 255, 255)


class OnePicture(App[None]):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield Picture("Shot", self.path)


@pytest.mark.parametrize("size", [(6000, 200), (300, 6000), (2000, 300), (800, 600), (1, 1)])
async def test_a_picture_keeps_its_aspect_whatever_its_shape(tmp_path: Path, size: tuple[int, int]):
    """QA: a 6000x200 screenshot (a wide banner) was drawn 80 columns by 11 rows, eight times too tall; a
    300x6000 one 4 columns wide, four times too wide. Each keeps its shape within the box it may use."""
    file = tmp_path / "shot.png"
    file.write_bytes(png((90, 90, 200), size))
    app = OnePicture(file)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: bool(app.query(".picture")) and app.query_one(".picture").size.height > 0)
        cols, rows = app.query_one(".picture").size
        assert 1 <= cols <= MAX_COLUMNS and 1 <= rows <= PICTURE_ROWS, (cols, rows)
        real = size[0] / size[1]
        # The shape of the cells (a cell is twice as tall as wide) is the picture's, within half a cell.
        by_columns = (cols - 0.5) / (2 * rows) <= real <= (cols + 0.5) / (2 * rows)
        by_rows = cols / (2 * (rows + 0.5)) <= real <= cols / (2 * max(0.5, rows - 0.5))
        assert by_columns or by_rows, (cols, rows, real)


def test_a_huge_picture_is_scaled_down_before_it_is_drawn(tmp_path: Path):
    """QA: a 4000x3000 picture was kept whole in memory (36 MB a picture) and every redraw (opening, a
    resize) resampled all 12 megapixels on the UI thread, ~90 ms a picture. Scaled once, pin included."""
    file = tmp_path / "huge.png"
    Image.new("RGB", (4000, 3000), (255, 255, 255)).save(file)
    drawn = with_pin(file, (0.25, 0.5))
    assert max(drawn.size) <= 1600 and drawn.size[0] / drawn.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert drawn.getpixel((round(0.25 * (drawn.width - 1)), round(0.5 * (drawn.height - 1)))) == (225, 29, 72)
    small = tmp_path / "small.png"
    Image.new("RGB", (300, 200), (255, 255, 255)).save(small)
    assert with_pin(small, None).size == (300, 200)  # a picture small enough is left as it is


def test_a_photo_stored_sideways_is_shown_as_its_exif_orientation_says(tmp_path: Path):
    """A phone stores a portrait photo as a landscape one with an EXIF orientation that viewers apply: attached as
    evidence, it was shown lying on its side."""
    file = tmp_path / "photo.jpg"
    stored = Image.new("RGB", (400, 200), (200, 30, 30))  # as the sensor wrote it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to view
    stored.save(file, "JPEG", exif=exif)
    assert with_pin(file, None).size == (200, 400)
