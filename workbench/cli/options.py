"""Options shared by every command: where the data directory is, how to open it, ``--json``, and
what a store that cannot be opened or written, or a command line Click refuses, says."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperCommand, TyperGroup

from storage.failures import StoreBusy, StoreUnusable, StoreWriteFailed
from workbench.cli.entry import default_data_dir  # defined there: the TUI path must not load Typer
from workbench.cli.output import JSON_ASKED, fail, report_error
from workbench.services.context import Workbench


def given_path(value: str) -> Path:
    """The ``parser`` of every ``Path`` option and argument: an empty value is refused, naming the
    option (Click's ``Invalid value for '--after': …``, exit 2, ``bad_parameter``). Typer made ``""``
    ``Path(".")``, the working directory: ``--after ""`` (a script's unset variable) was refused as
    "``.`` is a directory", and ``--data-dir ""`` or ``--from ""`` quietly used the directory the
    command ran in, making a store there."""
    if value == "":
        raise ValueError('empty: give a path ("" would be read as ".", the current directory)')
    return Path(value)


def given_dir(value: str) -> Path:
    """``given_path`` for a directory option: a file there is refused as Click's ``file_okay=False``
    refused it, which a ``parser`` replaces."""
    path = given_path(value)
    if path.is_file():
        raise ValueError(f"'{value}' is a file, not a directory")
    return path


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="WORKBENCH_DATA_DIR",
        help="Data directory holding the SQLite store and uploads",
        show_default="the platform's user data dir",
        parser=given_dir,
        metavar="<dir>",
    ),
]

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="WORKBENCH_DATABASE_URL",
        help="A team server's PostgreSQL database (postgresql://user@host/db) instead of the data directory's SQLite store. "
        "A URL with a password goes in WORKBENCH_DATABASE_URL, not here, where `ps` shows it to every user",
        show_default=False,
    ),
]


def _note_json(ctx: typer.Context, value: bool) -> bool:
    ctx.meta[JSON_ASKED] = value  # meta is shared with the parent groups: fail() reads it from any of them
    return value


JsonFlag = Annotated[bool, typer.Option(
    "--json", help="Print one JSON object instead of text (a failure too, on stderr)", callback=_note_json)]


def open_workbench(data_dir: Path | None, database: str | None = None) -> Workbench:
    """The store of ``data_dir`` (or of ``database``, a PostgreSQL URL), or one ``error:`` line and exit 2."""
    if data_dir is None and os.environ.get("WORKBENCH_DATA_DIR") == "":
        # Click reads an empty variable as unset: the default directory would be used in silence.
        fail("WORKBENCH_DATA_DIR is set but empty: name a directory, or unset it for the default one", 2)
    path = data_dir or default_data_dir()
    if database is not None:
        return _open_database(path, database)
    try:
        return Workbench.open(str(path))
    except StoreUnusable as exc:
        fail(str(exc), 2, error="store_unusable")
    except OSError as exc:
        fail(f"cannot open the store in {path}: {exc.strerror or exc}", 2, error="store_unusable")


class StoreErrors(TyperGroup):
    """The ``workbench`` command group: a write the disk refuses (full, an I/O error) or that waited
    out the busy timeout behind another writer, in any command and at any step, is one ``error:``
    line naming the data directory, and exit 2. The store rolled that write back (storage.db
    ``Store.write``), so the line can say what is left.
    A command given ``--json`` has that, and Click's refusal of its command line, as JSON.

    Click's refusal of a command line is printed as every other failure is: one ``error:`` line
    (and where to find the command's help), not Typer's Rich box. The box wrapped a message over
    several framed lines at the terminal's width and sent them to a log or a pipe as drawn, so a
    script's ``grep '^error:'`` or a person's tail of stderr missed the one thing said. It is
    caught here, before Typer's report, whose module (with Rich's Markdown) loads only for it."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # The root's own options, parsed before any sub-command: refused in words.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickException as exc:
            _report_usage_error(exc)
            raise typer.Exit(exc.exit_code) from None

    def invoke(self, ctx: Any) -> Any:  # Click's Context, which Typer 0.29 vendors privately
        # The command line below the group, before Click consumes it. Click keeps it in a private
        # attribute: should a Typer release rename it, a refused line is read from its rest alone
        # (a usage error before --json then answers in words), never every command failing here.
        words = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except StoreWriteFailed as exc:
            # A busy store is worth retrying as it is; a full disk first needs someone to free space.
            fail(str(exc), 2, error="store_busy" if isinstance(exc, StoreBusy) else "store_write_failed")
        except UnicodeEncodeError as exc:
            if exc.reason != "surrogates not allowed":
                raise
            # Python keeps command-line bytes that are not UTF-8 as lone surrogates (PEP 383), which
            # the store cannot look up: any id argument of any command was sqlite3's traceback.
            not_utf8(exc.object)
        except OSError as exc:
            # The store's own disk refusals are StoreWriteFailed and a file an option names is refused
            # in words by its service, so what is left of these is the output: a script's
            # `> out.json` on a full disk was a traceback. (A closed pipe is Click's, exit 1.)
            if exc.errno not in _OUTPUT_ERRNOS or exc.filename is not None:  # a named file is not the output
                raise
            _discard_stdout()
            fail(f"cannot write the output ({exc.strerror or exc}): it is incomplete", 2, error="output_failed")
        except ClickException as exc:
            if not isinstance(exc, NoArgsIsHelpError) and _asked_json(exc, ctx, words):
                report_error(usage_message(exc), _CLICK_CODES.get(type(exc).__name__, "usage_error"), as_json=True)
            else:
                _report_usage_error(exc)
            raise typer.Exit(exc.exit_code) from None


# A full disk, a quota, a file-size limit, an I/O error: what a redirected output meets.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush of what it still buffers does not
    fail a second time with an "Exception ignored" report after the error line."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def not_utf8(text: str) -> NoReturn:
    """The usage error of command-line text whose bytes are not UTF-8, wherever it was found: on one
    line, and a message read from stdin only by its start."""
    shown = _as_bytes(text).replace("\n", "\\n")
    fail(f"'{shown if len(shown) <= 80 else shown[:79] + '…'}' is not UTF-8 text: give ids and text in UTF-8", 2, error="bad_parameter")


def _as_bytes(text: str) -> str:
    """``text`` with the bytes its surrogates stand for written as ``\\xff`` (any other lone surrogate as ``\\udXXX``)."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


# Click's usage errors by class, as the codes a --json caller reads (any other one is usage_error).
_CLICK_CODES = {"NoSuchOption": "no_such_option", "MissingParameter": "missing_parameter",
                "BadParameter": "bad_parameter", "BadOptionUsage": "bad_option_usage", "BadArgumentUsage": "bad_argument_usage"}


def _asked_json(exc: ClickException, ctx: Any, words: list[str]) -> bool:
    """Whether a command line Click refused asked for JSON. Click may refuse it before reaching
    ``--json`` (options are parsed in order), so the words are read too, up to a ``--`` (after
    which ``--json`` is an argument's value). A command answers in JSON only if it has ``--json``:
    to ``serve --json`` the unknown option is the error, in words. A group's refusal (a misspelt
    command: ``annotation lst --json``) follows the words, since the command meant is unknown."""
    if ctx.meta.get(JSON_ASKED):
        return True
    failed = exc.ctx if isinstance(exc, UsageError) else None
    if failed is None:
        return False
    takes_json = any("--json" in getattr(p, "opts", ()) for p in failed.command.params)
    if not takes_json and not isinstance(failed.command, TyperGroup):
        return False
    return "--json" in (words[: words.index("--")] if "--" in words else words)


def install_utf8_check() -> None:
    """Refuse, before any command or group runs, a text option or argument whose bytes are not
    UTF-8 (``not_utf8``, exit 2), whatever the command would have done with it. Python keeps
    such bytes as lone surrogates (PEP 383), and each command met them its own way: ``--query``
    searched for them and printed them back as bytes that made its ``--json`` no UTF-8, ``sites
    snippet --base`` put them in the tag, ``--explanation`` read them as nothing given. ``Path``
    values are not checked: ``--data-dir`` may name any directory the file system holds."""
    for cls in (TyperCommand, TyperGroup):
        if cls in _CHECKING_UTF8:
            continue
        _CHECKING_UTF8.add(cls)
        original = cls.invoke

        def invoke(self: Any, ctx: Any, _original: Any = original) -> Any:
            for value in ctx.params.values():
                for text in value if isinstance(value, list | tuple) else (value,):
                    if isinstance(text, str) and _NOT_UTF8.search(text):
                        not_utf8(text)
            return _original(self, ctx)

        cls.invoke = invoke  # type: ignore[method-assign]


_CHECKING_UTF8: set[type] = set()  # install_utf8_check is idempotent
# The lone surrogates PEP 383 maps bytes that are not UTF-8 to (U+DC80 to U+DCFF).
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def usage_message(exc: ClickException) -> str:
    """Click's words for a refused command line, without the "Value error, " pydantic puts before a
    choice's refusal ("Invalid value for '--status': 'bogus' is not one of …"), on one line and
    with what it quotes of the command line bounded (``bounded``)."""
    return bounded(exc.format_message().replace(": Value error, ", ": ", 1))


QUOTED_AT_MOST = 60
"""Characters of one word of the command line a usage error quotes: enough to recognise it."""
SAID_AT_MOST = 400
"""Characters of a whole usage error (a choice's refusal lists the choices, ~150)."""


# A value Click quotes ('…', or "…" when it holds a '), else a run of anything but blanks and quotes.
_QUOTED_OR_RUN = re.compile(r"'[^']*'|\"[^\"]*\"|[^\s'\"]+")


def _cut(found: re.Match[str]) -> str:
    text = found.group(0)
    quote = text[0] if len(text) > 1 and text[0] in "'\"" and text[-1] == text[0] else ""
    inner = text[1:-1] if quote else text
    return quote + (inner if len(inner) <= QUOTED_AT_MOST else inner[:QUOTED_AT_MOST] + "…") + quote


def bounded(message: str) -> str:
    """A usage error as one line of a readable length: Click quotes the word it refused whole, and
    ``workbench $(python3 -c 'print("x"*20000)')`` answered with a 20 KB line. Each quoted value or
    unbroken run is cut to its first ``QUOTED_AT_MOST`` characters and "…", the whole to
    ``SAID_AT_MOST``. Click escapes the control characters of most of what it quotes; a line break
    any other message holds is written ``\\n`` here, so the error stays one line (the rest of the
    control characters are made visible where the line is printed)."""
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    message = _QUOTED_OR_RUN.sub(_cut, message)
    return message if len(message) <= SAID_AT_MOST else message[: SAID_AT_MOST - 1] + "…"


def _report_usage_error(exc: ClickException) -> None:
    if isinstance(exc, NoArgsIsHelpError):
        return  # the help was printed, which is the answer
    report_error(usage_message(exc), "usage_error", as_json=False)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        typer.echo(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.", err=True)


def _open_database(path: Path, database: str) -> Workbench:
    if not database.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter("expected a postgresql:// URL", param_hint="--database")
    import psycopg

    from storage.pg_conn import cause, redact

    try:
        return Workbench.open(str(path), database=database)
    except psycopg.Error as exc:
        # A server down, a login or database refused: the store is unusable, as an unusable data
        # directory is (one line, ``store_unusable``), not a usage error: the command line was right.
        fail(f"cannot open the store in {redact(database)}: {cause(exc, database)}", 2, error="store_unusable")
