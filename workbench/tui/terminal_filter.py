"""The TUI's last line of defence: no control character in any line it draws reaches the terminal.

Screens show user text through ``format.safe``/``plain``/``esc`` (control characters made
visible). This Textual line filter covers every other path (an input pre-filled with a
stored value, a notification, a widget someone adds later): it runs on each rendered line
and drops what the domain's sanitiser calls unsafe. Textual's own styling never sits in
segment text (it is rendered from styles afterwards), so nothing legitimate is removed.
Textual documents line filters as internal API: if a release changes them, the
injection test in tests/tui/test_terminal_safety.py fails.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from workbench.domain.safe_text import drop_unsafe


class DropControlCharacters(LineFilter):
    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            seg if seg.control or not seg.text else Segment(drop_unsafe(seg.text), seg.style, seg.control)
            for seg in segments
        ]
