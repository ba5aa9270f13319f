"""Control characters in user text: refused on the way in (NUL), made visible on the way out to a terminal.

User text (a widget body, a reply, a diff URL) reaches terminals through the CLI, its
markdown and the TUI. An escape sequence in it would act on the reader's terminal: clear the
screen, retitle the window, or write the clipboard (OSC 52). ``terminal_safe`` is the one
function every terminal output passes user text through. Pure and import-light, because the
TUI's first paint imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workbench.domain.errors import Invalid

# C0 controls except tab and newline (which bodies legitimately hold), DEL, C1 controls
# (U+0080-U+009F, where 8-bit CSI/OSC live), the line and paragraph separators (a terminal draws
# them as nothing: "line5\u2028LS" read "line5LS"), and the bidi overrides and isolates that make
# a line read differently from what it contains ("trojan source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NEWLINE = re.compile("\r?\n")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every control character shown as a visible escape (``\\x1b``), so none acts on the terminal.

    Tabs and newlines stay: they are layout, not commands.
    """
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


# Emoji sequences a terminal may draw at another width than Rich measures, which shifts the rest of
# the row: Rich measures a sequence as one 2-cell cluster, while tmux 3.3 draws "❤️" (VS16) and
# "🏳️‍🌈" in 1 cell, "👍🏽" (a skin-tone modifier, 0 cells to Rich) in 4, and keeps only 21 bytes of
# a joined cluster ("👩‍👩‍👧‍👦" lost its boy); VTE draws every part apart. Drawn as their separate parts
# (the joiner between emoji, the presentation selector and the modifiers dropped), every
# character left has the one width Rich and every terminal read from the same Unicode tables.
_EMOJI_JOINED = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]|(?<=[\ufe0f\U0001f3fb-\U0001f3ff\u2000-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff])\u200d")


def emoji_apart(text: str) -> str:
    """``text`` with each emoji sequence as its separate emoji: "👩‍👩‍👧‍👦" as "👩👩👧👦", "❤️" as "❤", "👍🏽" as "👍".

    For text a terminal lays out by Rich's measure (the TUI's rows, previews and panes), so every
    terminal draws it at the width Rich gave it. Not for text leaving the program (JSON, a copy).
    """
    return _EMOJI_JOINED.sub("", text) if _EMOJI_JOINED.search(text) else text


def screen_safe(text: str) -> str:
    """``terminal_safe`` and ``emoji_apart``: user text as the TUI lays it out."""
    return emoji_apart(terminal_safe(text))


def first_line(text: str | None) -> str:
    """The first line of ``text`` (stripped), as a one-line slot shows it: up to its first newline (``\n`` or
    ``\r\n``). Any other character that ends a line elsewhere (a lone ``\r``, ``\x0b``, ``\x1c``, ``\x85``,
    U+2028) stays, for ``terminal_safe`` to show: cut there, "Carriage\rreturn" listed as "Carriage" while its
    preview read "Carriage\x0dreturn"."""
    stripped = (text or "").strip()
    return _NEWLINE.split(stripped, 1)[0]


def one_line_safe(text: str) -> str:
    """``terminal_safe`` for a single-line slot (a URL, a name): a newline is shown, not obeyed."""
    return terminal_safe(text).replace("\n", "\\n").replace("\t", " ")


NUL_MESSAGE = "must not contain NUL (\\x00) characters"


def refuse_nul(value: str) -> str:
    """The check behind the request models' ``NoNul``: a NUL byte is never text a person meant."""
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


def refuse_nul_parameters(parameters: Iterable[tuple[str, object]]) -> None:
    """Named parameters a caller gave outside a request model (a route's path and query, an MCP
    tool's arguments), NUL-free like the models' strings: ``Invalid`` naming the first that holds
    one, in a string or a list of strings. PostgreSQL cannot even be asked about a NUL, so without
    this an id holding one would be "not found" on SQLite and a driver error on PostgreSQL."""
    for name, value in parameters:
        values = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise Invalid(f"Invalid {name}: {NUL_MESSAGE}")


def json_safe(text: str) -> str:
    """JSON text (``ensure_ascii=False``) with every unsafe character written as its ``\\uXXXX`` escape.

    JSON already escapes C0 controls; this covers DEL, C1 and bidi controls, which it may
    leave raw. Still valid JSON with the same value: such characters only occur inside strings.
    """
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def drop_unsafe(text: str) -> str:
    """``text`` without its control characters, for output already laid out.

    Rich and Textual measure a control character as zero cells wide, so once a line is laid
    out, showing it as ``\\x1b`` would overflow; removing it keeps the width. The visible form,
    ``terminal_safe``, is for text not yet laid out.
    """
    return _UNSAFE.sub("", text) if _UNSAFE.search(text) else text
