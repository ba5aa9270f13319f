"""A one-line renderable that shows the longest of its variants that fits the width it is given.

A pane's title bar is one line. At 80 columns the Sync screen's titles ("Conflicts (2)  changed
here and on the server since the last sync · m keep mine · t take theirs") were cut, and the
keys at their end were what was lost. Given shorter variants (the explanation dropped, then the
keys' words shortened), the bar keeps the keys at any width, and a resize chooses again.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text


class Fit:
    """The first of ``variants`` (longest first) whose text fits; the last one if none does."""

    def __init__(self, *variants: Text | str) -> None:
        if not variants:
            raise ValueError("Fit needs at least one variant")
        from workbench.tui.format import markup_text  # the TUI's one markup parser, so fmt.esc holds

        self.variants = [v if isinstance(v, Text) else markup_text(v) for v in variants]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        yield next((v for v in self.variants if cell_len(v.plain) <= width), self.variants[-1])

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        sizes = [cell_len(v.plain) for v in self.variants]
        return Measurement(min(sizes), max(sizes))
