"""Evidence pictures in the terminal: the screenshot and before/after images, the pin drawn, and the capture's logs.

Images are drawn by textual-image: Kitty's graphics protocol or Sixel where the terminal
answers for them, Unicode half-blocks elsewhere. The library (and Pillow) load when the first
picture is shown, never for the first paint. It learns what the terminal can do by asking it,
which it can only do while Textual is not reading the keyboard, so in a real terminal that
first load runs with the app suspended for a moment (``App.suspend``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from workbench.tui import format as fmt

PIN_COLOUR = (225, 29, 72)
PICTURE_ROWS = 11  # three 4:3 pictures side by side fit a 120-column terminal
MAX_COLUMNS = 80
# A picture is scaled to fit this many pixels each way once, when it is read: every redraw resamples
# it, and 80 columns of Kitty or Sixel cells are well under 1600 pixels wide.
MAX_PIXELS = 1600
LOG_ENTRY_CHARS = 300  # a console message or URL longer than this (the capture keeps 2,000) is cut


def pin_of(capture: dict[str, Any] | None) -> tuple[float, float] | None:
    """Where the annotated element's centre is on the viewport screenshot, as fractions (0..1) of it.

    Needs the element's box (page coordinates), the viewport's size and the scroll position at
    capture time (``viewport.scroll_x/scroll_y``); without the scroll the box cannot be placed on
    a picture of the viewport, and no pin is better than a wrong one.
    """
    if not isinstance(capture, dict):
        return None
    anchor = capture.get("anchor") or {}
    box = anchor.get("box") if isinstance(anchor, dict) else None
    viewport = capture.get("viewport") or {}
    if not isinstance(box, dict) or not isinstance(viewport, dict) or anchor.get("whole_page"):
        return None
    try:
        width, height = float(viewport["width"]), float(viewport["height"])
        scroll_x, scroll_y = float(viewport["scroll_x"]), float(viewport["scroll_y"])
        x = (float(box["x"]) + float(box["width"]) / 2 - scroll_x) / width
        y = (float(box["y"]) + float(box["height"]) / 2 - scroll_y) / height
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return (x, y) if 0 <= x <= 1 and 0 <= y <= 1 else None


def with_pin(path: Path, pin: tuple[float, float] | None) -> Any:
    """The image at ``path`` as a Pillow image, with a pin (a ringed dot) at ``pin`` if given.

    Turned as its EXIF orientation says, scaled to fit ``MAX_PIXELS`` each way (its shape kept); a
    transparent picture is laid on white, as a browser shows a page with no background
    (``convert("RGB")`` alone would make it black).
    """
    from PIL import Image, ImageDraw, ImageOps

    with Image.open(path) as opened:
        opened.draft("RGB", (MAX_PIXELS, MAX_PIXELS))  # a JPEG decodes at a fraction of its size
        # A phone's photo is stored sideways with an EXIF orientation a viewer applies (evidence taken with one).
        source = ImageOps.exif_transpose(opened)
        if source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info:
            rgba = source.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        else:
            image = source.convert("RGB")
    image.thumbnail((MAX_PIXELS, MAX_PIXELS))
    if pin is not None:
        draw = ImageDraw.Draw(image)
        cx, cy = pin[0] * (image.width - 1), pin[1] * (image.height - 1)
        radius = max(4, min(image.width, image.height) // 30)
        draw.ellipse((cx - radius - 2, cy - radius - 2, cx + radius + 2, cy + radius + 2), fill=(255, 255, 255))
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=PIN_COLOUR)
    return image


def _cut(text: str) -> str:
    """A log entry of at most ``LOG_ENTRY_CHARS``, saying how much was left out."""
    if len(text) <= LOG_ENTRY_CHARS:
        return text
    return f"{text[:LOG_ENTRY_CHARS]}… ({len(text) - LOG_ENTRY_CHARS:,} more characters)"


def capture_logs(capture: dict[str, Any] | None) -> Group | None:
    """The capture's recent console errors and failed requests, one entry a row; None when it has neither.

    The level or status is a column of its own, so a long message or URL wraps under itself (a
    hanging indent), never back under the status, and one longer than ``LOG_ENTRY_CHARS`` is cut.
    """
    if not isinstance(capture, dict):
        return None
    console = [e for e in capture.get("console") or [] if isinstance(e, dict)]
    network = [e for e in capture.get("network") or [] if isinstance(e, dict)]
    if not console and not network:
        return None
    parts: list[Any] = []

    def rows(title: str, entries: list[tuple[Text, ...]]) -> None:
        parts.append(Text(title, style="bold"))
        table = Table.grid(padding=(0, 1))
        for _ in entries[0][:-1]:
            table.add_column(no_wrap=True)  # as wide as its longest cell: "unhandledrejection", "no answer"
        table.add_column(overflow="fold")  # a URL has no spaces to wrap at
        for entry in entries:
            table.add_row(*entry)
        parts.append(Padding(table, (0, 0, 0, 2)))

    if console:
        rows(f"Console ({len(console)})", [
            (Text(fmt.clean(str(e.get("level", "error"))), style="bold #e05561"), Text(_cut(fmt.clean(str(e.get("message", ""))))))
            for e in console])
    if network:
        rows(f"Failed requests ({len(network)})", [
            (Text("no answer" if e.get("status") == 0 else fmt.clean(str(e.get("status"))), style="bold #e6c84f"),
             Text(fmt.clean(str(e.get("method", "GET")))), Text(_cut(fmt.clean(str(e.get("url", ""))))))
            for e in network])
    return Group(*parts)


def _image_class(app: App[Any]) -> Any:
    if "textual_image.widget" not in sys.modules and sys.__stdout__ is not None and sys.__stdout__.isatty():
        try:
            with app.suspend():
                import textual_image.widget  # asks the terminal while Textual is not reading it
        except Exception:  # noqa: BLE001 - SuspendNotSupported and friends: half-blocks still work
            pass
    import textual_image.renderable
    import textual_image.widget

    # Off a terminal (headless runs, the screenshot script) the library falls back to shades of
    # one colour; half-blocks keep the picture's colours and work in any colour terminal.
    if textual_image.renderable.Image is textual_image.renderable.UnicodeImage:
        return textual_image.widget.HalfcellImage
    return textual_image.widget.Image


class Picture(Vertical):
    """A caption and one image (with its pin), or the reason it cannot be shown (``missing``: why the
    store has no file to show, said in its place)."""

    DEFAULT_CSS = f"""
    Picture {{ width: auto; height: auto; margin: 0 2 1 0; }}
    Picture > .caption {{ width: auto; color: $text-muted; }}
    Picture > .picture {{ width: auto; height: {PICTURE_ROWS}; }}
    /* Sized to the caption otherwise ("Before"): the reason would be a column of a few letters. */
    Picture > .error {{ width: 60; height: auto; }}
    """

    def __init__(self, caption: str, path: Path, pin: tuple[float, float] | None = None, *, missing: str | None = None) -> None:
        super().__init__()
        self.caption = caption
        self.path = path
        self.pin = pin
        self.missing = missing

    def compose(self) -> ComposeResult:
        note = "  · pin at the element" if self.pin is not None and self.missing is None else ""
        yield Static(Text(self.caption, style="bold") + Text(note, style="dim"), classes="caption")
        if self.missing is not None:
            yield Static(Text(self.missing, style="dim"), classes="error")
            return
        try:
            image = with_pin(self.path, self.pin)
        except Exception as exc:  # noqa: BLE001 - a damaged file is reported, never raised into the UI
            reason = str(exc).replace(str(self.path), self.path.name)  # Pillow quotes the whole path: its name says enough
            yield Static(Text(f"cannot show {self.path.name}: {fmt.clean(reason)}", style="#e05561"), classes="error")
            return
        widget = _image_class(self.app)(image, classes="picture")
        widget.styles.width, widget.styles.height = cells_of(image.width, image.height)
        yield widget


def cells_of(width: int, height: int) -> tuple[int, int]:
    """The columns and rows a ``width`` x ``height`` picture is drawn in, its shape kept.

    A terminal cell is about twice as tall as wide. PICTURE_ROWS rows tall, unless that would be
    wider than MAX_COLUMNS (a wide banner): then MAX_COLUMNS wide and fewer rows. A very tall picture
    gets as few columns as its shape says, down to one, rather than a stretched one.
    """
    aspect = width / max(1, height)
    columns = round(PICTURE_ROWS * 2 * aspect)
    if columns <= MAX_COLUMNS:
        return max(1, columns), PICTURE_ROWS
    return MAX_COLUMNS, max(1, round(MAX_COLUMNS / aspect / 2))
