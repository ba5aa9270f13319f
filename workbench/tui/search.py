"""The search language as the TUI shows it: the syntax table (``?`` and the palette), "no matches", query errors.

The language itself is ``workbench.domain.query``; the table is built from its ``QUALIFIERS``
so a qualifier added there is documented here by itself.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.domain.query import QUALIFIERS
from workbench.tui.screens.base import Dialog

OPERATORS = [
    ("checkout", "whole words, stemmed (crash finds crashes) in bodies, summaries and replies"),
    ("check*", "words starting with check"),
    ('"payment step"', "those words in that order"),
    ("-mobile", 'without the word (-"a phrase" too)'),
    ("coupon OR voucher", "either word (OR joins its two neighbours)"),
]
PERSONA_NOTE = "On the personas screen, / takes words, phrases, -word and OR over names, categories, focus and voice."


def syntax_table() -> Table:
    """Every operator and qualifier, with an example and what it means."""
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold #e8a33c", no_wrap=True)
    table.add_column()
    table.add_row(Text("Search (/)", style="bold underline"), "a typed query looks in every status unless it names one")
    for example, meaning in OPERATORS:
        table.add_row(example, meaning)
    for name, meaning in QUALIFIERS.items():
        table.add_row(f"{name}:", meaning)
    table.add_row("-status: -kind:", "exclude: -status:resolved, -kind:praise, -source:test, -is:autofix")
    return table


def empty_text(query: str) -> str:
    """What an empty list says under a query."""
    shown = query.strip()
    return f"No matches for {shown[:80]}{'…' if len(shown) > 80 else ''} (any status unless the query names one; ? lists the syntax)"


def error_text(message: str) -> Text:
    """A query's refusal, shown where the filter chips were until the query reads again."""
    text = Text("Search: ", style="bold #e06c75")
    text.append(message)
    return text


class SearchSyntax(Dialog[None]):
    """The query language, from the command palette."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]
    HELP_SECTION = "Search syntax"

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -wide"):
            yield Static("Search syntax", classes="title")
            yield Static(syntax_table())
            yield Static(Text(PERSONA_NOTE + "\nesc: close"), classes="hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
