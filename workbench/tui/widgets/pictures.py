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

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from workbench.tui import format as fmt

PIN_COLOUR = (225, 29, 72)
PICTURE_ROWS = 11  # three 4:3 pictures side by side fit a 120-column terminal
MAX_COLUMNS = 80


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
    """The image at ``path`` as a Pillow image, with a pin (a ringed dot) at ``pin`` if given."""
    from PIL import Image, ImageDraw

    with Image.open(path) as source:
        image = source.convert("RGB")
    if pin is not None:
        draw = ImageDraw.Draw(image)
        cx, cy = pin[0] * (image.width - 1), pin[1] * (image.height - 1)
        radius = max(4, min(image.width, image.height) // 30)
        draw.ellipse((cx - radius - 2, cy - radius - 2, cx + radius + 2, cy + radius + 2), fill=(255, 255, 255))
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=PIN_COLOUR)
    return image


def capture_logs(capture: dict[str, Any] | None) -> Text | None:
    """The capture's recent console errors and failed requests, one per line; None when it has neither."""
    if not isinstance(capture, dict):
        return None
    console = [e for e in capture.get("console") or [] if isinstance(e, dict)]
    network = [e for e in capture.get("network") or [] if isinstance(e, dict)]
    if not console and not network:
        return None
    text = Text()
    if console:
        text.append(f"Console ({len(console)})\n", style="bold")
        for entry in console:
            text.append(f"  {fmt.clean(str(entry.get('level', 'error'))):<8}", style="bold #e05561")
            text.append(fmt.clean(str(entry.get("message", ""))) + "\n")
    if network:
        text.append(f"Failed requests ({len(network)})\n", style="bold")
        for entry in network:
            status = entry.get("status")
            text.append(f"  {('no answer' if status == 0 else str(status)):<9}", style="bold #e6c84f")
            text.append(f"{fmt.clean(str(entry.get('method', 'GET')))} {fmt.clean(str(entry.get('url', '')))}\n")
    text.rstrip()
    return text


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
    """A caption and one image (with its pin), or the reason it cannot be shown."""

    DEFAULT_CSS = f"""
    Picture {{ width: auto; height: auto; margin: 0 2 1 0; }}
    Picture > .caption {{ width: auto; color: $text-muted; }}
    Picture > .picture {{ width: auto; height: {PICTURE_ROWS}; }}
    /* Sized to the caption otherwise ("Before"): the reason would be a column of a few letters. */
    Picture > .error {{ width: 60; height: auto; }}
    """

    def __init__(self, caption: str, path: Path, pin: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.caption = caption
        self.path = path
        self.pin = pin

    def compose(self) -> ComposeResult:
        note = "  · pin at the element" if self.pin is not None else ""
        yield Static(Text(self.caption, style="bold") + Text(note, style="dim"), classes="caption")
        try:
            image = with_pin(self.path, self.pin)
        except Exception as exc:  # noqa: BLE001 - a damaged file is reported, never raised into the UI
            reason = str(exc).replace(str(self.path), self.path.name)  # Pillow quotes the whole path: its name says enough
            yield Static(Text(f"cannot show {self.path.name}: {fmt.clean(reason)}", style="#e05561"), classes="error")
            return
        widget = _image_class(self.app)(image, classes="picture")
        # A terminal cell is about twice as tall as wide: size the picture from its own aspect,
        # so every terminal (and every renderer) shows it undistorted at PICTURE_ROWS rows.
        widget.styles.width = max(4, min(MAX_COLUMNS, round(PICTURE_ROWS * 2 * image.width / max(1, image.height))))
        yield widget
