"""A progress bar as a list cell: eighth-cell precision, coloured by status, followed by its label."""

from __future__ import annotations

from rich.text import Text

from workbench.tui import format as fmt

TRACK = "#3a3f4b"


def progress_cell(fill_pct: float, label: str, *, bar_width: int = 12, status: str | None = None) -> Text:
    """``█████▍     42.5%  3/8 resolved``: the bar, the percentage and the domain's label."""
    filled, empty = fmt.progress_bar(fill_pct, bar_width)
    color = fmt.STATUS_COLORS.get(status or "", "#4aa3ff")
    if fill_pct >= 100:
        color = fmt.STATUS_COLORS["done"]
    text = Text(no_wrap=True)
    text.append(filled, style=f"{color} on {TRACK}")
    text.append(empty, style=f"on {TRACK}")
    text.append(f" {fill_pct:5.1f}% ", style="bold")
    text.append(label, style="dim")
    return text
