"""A line of key hints that wraps between hints, never inside one.

The annotation screen's status keys ("n new  a ack … w won't fix  d duplicate") are wider than
80 columns. Left to Textual's word wrap they broke at any space: "w" at the end of one line and
"won't fix" at the start of the next, which reads as two keys. Here each hint is a unit, and a
hint that does not fit on the line goes whole to the next, laid out again on every resize.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


class KeyLine(Static):
    """A lead (``set status``) then hints, each kept whole on one line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._lead = Text("")
        self._hints: list[Text] = []

    def show(self, lead: Text, hints: list[Text]) -> None:
        self._lead, self._hints = lead, hints
        self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        # Not laid out yet: one line, which the first Resize lays out again at the real width.
        width = self.content_size.width or 10_000
        text = self._lead.copy()
        indent = cell_len(self._lead.plain)
        used = indent
        for hint in self._hints:
            size = cell_len(hint.plain.rstrip())
            if used > indent and used + size > width:
                text.append("\n" + " " * indent)
                used = indent
            text.append_text(hint)
            used += cell_len(hint.plain)
        self.update(text)
