"""What the CLI writes to a terminal: user text always made inert on the way out.

Annotation bodies, names, URLs and server messages are someone else's text. Printed raw, an
escape sequence in them acts on the reader's terminal (clear the screen, retitle it, write
the clipboard with OSC 52), and inside a Rich markup string a ``[red]`` or ``[link=…]`` in
them would be obeyed. Every CLI module prints user text through these helpers, which pass it
through the domain's one sanitiser, ``terminal_safe``.

A failure is reported here too, once for every command: one ``error:`` line on stderr, or, when
the command was given ``--json``, one JSON object ``{"error": {"code", "message"}}`` on stderr,
so a script that asked for JSON never has to parse prose (README, "Scripts"). So is the JSON
shape every listing printed whole shares (``listing``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import typer
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text
from typer._click.globals import get_current_context  # the Click that Typer 0.29 vendors (options.py)

from workbench.domain.safe_text import json_safe, terminal_safe


def inert(text: object) -> str:
    """User text for a Rich markup string: control characters visible, markup brackets escaped."""
    return escape(terminal_safe(str(text)))


def cell(text: object) -> Text:
    """User text for a table cell: a ``Text`` is never parsed as markup."""
    return Text(terminal_safe(str(text)))


def table(*columns: str) -> Table:
    """A borderless table whose first column (ids) never wraps or truncates, so it can be copied."""
    t = Table(box=None, header_style="bold", pad_edge=False)
    for i, name in enumerate(columns):
        t.add_column(name, no_wrap=True, overflow="ellipsis", min_width=36 if i == 0 and name == "ID" else None)
    return t


def add_row(t: Table, *values: object) -> None:
    """Cells are user text: never markup, never a control character."""
    t.add_row(*(cell(v) for v in values))


def show_table(t: Table, out: Console, *, shrink: str | None = None, give_way: tuple[str, ...] = (), empty: str | None = None) -> None:
    """A listing on ``out``, or, piped, on a wide virtual terminal: output for grep and cut keeps
    each row on one line whatever COLUMNS the caller's environment fixed when ``out`` was made.

    A table with no rows prints ``empty`` instead, on stdout, as the sync listings' "No conflicts."
    does: a header alone read as a listing that failed to print its rows.

    In a terminal too narrow for the whole table, the column ``shrink`` (free text) is cut shorter
    first, then the columns of ``give_way`` are left out in that order, then the free text itself
    when none of it would fit: rich would shrink every column by the same amount, and at 80
    columns a listing's status and kind came out empty."""
    if empty is not None and t.row_count == 0:
        echo(empty)  # it may quote the caller's words (a query), which are user text
        return
    if not out.is_terminal:
        wide = Console(width=400)
        with wide.capture() as captured:
            wide.print(t)
        # Rich pads every cell of the last column to its widest, the header's too: a script's
        # `cut`, `diff` or `awk '$NF'` read those trailing blanks as part of the row.
        typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
        return
    if shrink is not None:
        _fit(t, out.width, shrink, give_way)
    out.print(t)


def show_rendered(renderable: RenderableType, out: Console) -> None:
    """Rich output that is not a table (markdown, a rule): in a terminal as Rich draws it, piped
    without the blanks Rich pads every line with to the width, which a script's ``diff`` or
    ``grep ' $'`` read as part of the text (the lines are wrapped as in a terminal of ``out``'s width)."""
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


SHRUNK_AT_LEAST = 16
"""The free text is cut no shorter than this while a column of ``give_way`` can still give way."""


FREE_TEXT_AT_LEAST = 4
"""The free text is left out when it would get fewer cells than this: a word's start and its "…"."""


def _fit(t: Table, width: int, shrink: str, give_way: tuple[str, ...]) -> None:
    def natural(column: Column) -> int:
        return max([cell_len(str(column.header))] + [cell_len(c.plain if isinstance(c, Text) else str(c)) for c in column.cells])

    def room() -> int:  # what the others leave the free text, with the two cells between columns
        return width - sum(natural(c) for c in t.columns if c.header != shrink) - 2 * (len(t.columns) - 1)

    for name in give_way:
        if room() >= SHRUNK_AT_LEAST:
            break
        t.columns[:] = [c for c in t.columns if c.header != name]
    if room() < FREE_TEXT_AT_LEAST:
        # Too little of the free text would show to read: kept, its column and the two cells before
        # it were taken from the short columns, and a status came out "resolv…" at 60 columns.
        t.columns[:] = [c for c in t.columns if c.header != shrink]
    for i, column in enumerate(t.columns):
        # Rich pads a column by its place (none after the last one), read from the index it got when
        # added: a last column still numbered as before its neighbours gave way was padded a cell
        # too wide, and the column before the free text lost its last character ("EVIDEN…").
        column._index = i
    for column in t.columns:
        if column.header == shrink:
            column.max_width = max(room(), 1)


def echo(text: str, *, err: bool = False) -> None:
    """A plain line (no markup) with its control characters made visible."""
    typer.echo(terminal_safe(text), err=err)


def emit_json(value: Any, *, indent: int | None = 2, err: bool = False) -> None:
    """JSON with non-ASCII text kept readable, yet no character a terminal would act on (C1, bidi).

    Every JSON the CLI prints comes through here, results and errors alike: a few commands wrote
    their own ``json.dumps`` and said ``caf\\u00e9`` where the rest said ``café``."""
    typer.echo(json_safe(json.dumps(value, indent=indent, ensure_ascii=False)), err=err)


def listing(rows: Iterable[Any]) -> dict[str, Any]:
    """A listing printed whole, in the shape of a paged one: ``next_cursor`` null says it is the
    last page, so one paging loop reads every listing and no script tells one apart by its keys."""
    return {"items": list(rows), "next_cursor": None}


JSON_ASKED = "workbench.json"
"""Key of the Click context's ``meta`` (shared by a command and its groups) holding its ``--json`` flag."""


def json_asked() -> bool:
    """Whether the command running now was given ``--json``: read where its option's callback
    left it, so a failure found by the group (a full disk) knows it too."""
    ctx = get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(JSON_ASKED))


def report_error(message: str, code: str, *, as_json: bool) -> None:
    """A failure on stderr: one ``error:`` line, or with ``as_json`` one JSON object.

    stderr either way, as gh and kubectl do: stdout carries only a command's result, so
    ``… --json | jq`` never reads an error as data, and the exit code says which it was. The
    message is the text line's (control characters shown as ``\\x1b``): it may quote the input
    that was refused and is prose for a person, while ``code`` is what a script branches on."""
    if as_json:
        emit_json({"error": {"code": code, "message": terminal_safe(message)}}, indent=None, err=True)  # one line
    else:
        echo(f"error: {message}", err=True)


def fail(message: str, code: int = 1, *, error: str | None = None) -> NoReturn:
    """Report a failure (messages can quote the input that was refused) and exit ``code``.

    ``error`` is the stable snake_case code a ``--json`` caller reads. By default it is the kind of
    the domain refusal being handled (``not_found``, ``invalid``, ``conflict``…), so each call
    site's ``except DomainError`` needs no code of its own; else ``invalid`` for a request model's
    refusal, ``usage_error`` for exit 2 and ``refused`` otherwise."""
    report_error(message, error or _code_of(sys.exc_info()[1], code), as_json=json_asked())
    raise typer.Exit(code)


def _code_of(handled: BaseException | None, exit_code: int) -> str:
    from pydantic import ValidationError

    from workbench.domain.errors import DomainError

    if isinstance(handled, DomainError):
        return handled.kind
    if isinstance(handled, ValidationError):
        return "invalid"
    return "usage_error" if exit_code == 2 else "refused"
