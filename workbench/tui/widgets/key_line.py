"""Lines of short parts that wrap between parts, never inside one.

The annotation screen's status keys ("n new  a ack … w won't fix  d duplicate") and a test
session's head ("user_demo106 · variant B · … · rated ★★★★★") are wider than 80 columns. Left to
rich's word wrap they broke at any space: "w" at the end of one line and "won't fix" at the start
of the next, which reads as two keys; "rated" on one line and its stars on the next. Here each
part is a unit, and a part that does not fit goes whole to the next line. ``Parts`` is laid out
when rich renders it, at the width it is given, so a resize lays it out again.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.widgets import Static


class Parts:
    """A rich renderable: ``lead``, then ``parts`` joined by ``sep``; a line breaks only between
    parts (the separator then dropped), and the lines after the first start under the lead's end.
    A part wider than the whole line is left to rich to fold."""

    def __init__(self, lead: Text, parts: list[Text], sep: Text | str = "") -> None:
        self.lead, self.parts = lead, parts
        self.sep = sep if isinstance(sep, Text) else Text(sep)

    def lay_out(self, width: int) -> Text:
        text = self.lead.copy()
        indent = cell_len(self.lead.plain)
        if indent * 2 > width:
            # A lead wider than half the line would leave a sliver under it.
            indent = 0
        used = cell_len(self.lead.plain)
        sep_size = cell_len(self.sep.plain)
        for i, part in enumerate(self.parts):
            size = cell_len(part.plain.rstrip())
            if i and used + sep_size + size > width:
                text.append("\n" + " " * indent)
                used = indent
            elif i:
                text.append_text(self.sep)
                used += sep_size
            text.append_text(part)
            used += cell_len(part.plain)
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.lay_out(options.max_width)

    def __str__(self) -> str:
        """The parts on one line, as a Text's ``str`` is its plain text."""
        return self.lay_out(10_000).plain

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(p.plain.rstrip()) for p in self.parts), default=0)
        whole = cell_len(self.lay_out(10_000).plain)
        return Measurement(min(whole, cell_len(self.lead.plain) + widest), whole)


class KeyLine(Static):
    """A lead (``set status``) then key hints, each kept whole on one line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)

    def show(self, lead: Text, hints: list[Text]) -> None:
        self.update(Parts(lead, hints))
