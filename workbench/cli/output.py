"""What the CLI writes to a terminal: user text always made inert on the way out.

Annotation bodies, names, URLs and server messages are someone else's text. Printed raw, an
escape sequence in them acts on the reader's terminal (clear the screen, retitle it, write
the clipboard with OSC 52), and inside a Rich markup string a ``[red]`` or ``[link=…]`` in
them would be obeyed. Every CLI module prints user text through these helpers, which pass it
through the domain's one sanitiser, ``terminal_safe``.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.markup import escape
from rich.text import Text

from workbench.domain.safe_text import json_safe, terminal_safe


def inert(text: object) -> str:
    """User text for a Rich markup string: control characters visible, markup brackets escaped."""
    return escape(terminal_safe(str(text)))


def cell(text: object) -> Text:
    """User text for a table cell: a ``Text`` is never parsed as markup."""
    return Text(terminal_safe(str(text)))


def echo(text: str, *, err: bool = False) -> None:
    """A plain line (no markup) with its control characters made visible."""
    typer.echo(terminal_safe(text), err=err)


def emit_json(value: Any, *, indent: int | None = 2) -> None:
    """JSON with non-ASCII text kept readable, yet no character a terminal would act on (C1, bidi)."""
    typer.echo(json_safe(json.dumps(value, indent=indent, ensure_ascii=False)))


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear ``error:`` line on stderr (messages can quote the input that was refused)."""
    echo(f"error: {message}", err=True)
    raise typer.Exit(code)
