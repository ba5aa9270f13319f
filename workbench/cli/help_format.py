"""What ``--help`` shows: what an option takes, and a command's paragraphs wrapped at the terminal.

An option takes nothing for a flag, one value's placeholder for a repeatable option (or argument).

Typer 0.29's Rich help prints a type beside every option, flags included (``--json <bool>``,
``--help <bool>``, as if they took a value), and a repeatable option's Python type
(``<list[str]>``). Its plain help already leaves flags bare; this makes the Rich one agree, for
every command at once (the help option is built by Typer, beyond any per-option setting).
Repeatable options name their value with ``metavar`` (``<slug>``, ``<id>``); one that does
not shows its element type (``<str>``), and says "(repeatable)" in its help.

Typer 0.29 keeps the line breaks of a docstring's paragraphs after the first, so at 80 columns
``undo --help`` ended a line with "annotation's" where the source had wrapped at 100. A
paragraph's single line breaks become spaces, as Click's own help does; one marked ``\\b`` (an
example's command lines) is kept as written, without the marker's own line.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

_typer_display_type = TyperOption.display_type_rich
_typer_argument_type = TyperArgument.display_type_rich
_LIST = re.compile(r"^<list\[(.+)\]>$")


def _display_type(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    shown = _typer_display_type(self, ctx)
    if shown is not None and (element := _LIST.match(shown)):
        return f"<{element.group(1)}>"
    return shown


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    shown = _typer_argument_type(self, ctx)
    if shown is not None and (element := _LIST.match(shown)):
        return f"<{element.group(1)}>"  # the usage line's "ID..." already says there may be several
    return shown


def _paragraphs(paragraphs: list[str], markup_mode: Any) -> str:
    # A kept paragraph's \b marker line is dropped: Rich printed it as a blank line of its own.
    return "\n\n".join(p.removeprefix("\b").removeprefix("\n") if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)


def _with_paragraphs(format_help: Any) -> Any:
    def format_with_paragraphs(self: Any, ctx: Any, formatter: Any) -> None:
        # Typer's Rich help (and Rich's Markdown with it, ~37 ms of imports) loads only to show a
        # help screen: patched as one is about to be shown, no other command line loads it.
        from typer import rich_utils

        rich_utils._fix_linebreaks = _paragraphs
        return format_help(self, ctx, formatter)

    return format_with_paragraphs


_WRAPPED: set[type] = set()  # install is idempotent


def install() -> None:
    """Use these placeholders and paragraphs in every help screen of this process (idempotent)."""
    TyperOption.display_type_rich = _display_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    for cls in (TyperCommand, TyperGroup):
        if cls not in _WRAPPED:
            _WRAPPED.add(cls)
            cls.format_help = _with_paragraphs(cls.format_help)  # type: ignore[method-assign]
