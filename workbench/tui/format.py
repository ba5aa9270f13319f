"""Presentation helpers shared by the screens: labels, colours, ages, truncation.

Ages are computed against the Workbench clock (``wb.clock()``), never ``time.time()``, so a
test that injects a fixed clock gets identical screens on every run.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from rich.style import Style
from rich.text import Text

from workbench.domain.safe_text import first_line
from workbench.domain.safe_text import screen_safe as safe  # user text in a Text(...): safe() it
from workbench.domain.statuses import status_label as domain_status_label
from workbench.services.inbox import member_name

__all__ = ["esc", "first_line", "plain", "safe"]

DAY_MS = 86_400_000

# The inbox's words for test sessions: what the row asks of you. Every other status reads as
# the domain says it (``workbench.domain.statuses.status_label``: "won't fix", "in progress").
INBOX_STATUS_LABELS = {
    "completed": "to analyze",
    "analyzed": "to confirm",
}

# One colour per status, readable on dark and light themes.
STATUS_COLORS = {
    "new": "#4aa3ff",
    "ack": "#b48cff",
    "triaged": "#e8a33c",
    "in_progress": "#e6c84f",
    "resolved": "#4fbf67",
    "won_t_fix": "#8c8c8c",
    "duplicate": "#8c8c8c",
    "open": "#4aa3ff",
    "active": "#4aa3ff",
    "paused": "#8c8c8c",
    "completed": "#e8a33c",
    "analyzing": "#b48cff",
    "analyzed": "#e6c84f",
    "confirmed": "#4fbf67",
    # feedback sessions
    "created": "#8c8c8c",
    "in_review": "#4aa3ff",
    "task_review": "#e8a33c",
    "processing": "#b48cff",
    "done": "#4fbf67",
    "canceled": "#8c8c8c",
    "interrupted": "#e05561",
}

SOURCE_LABELS = {"annotation": "ann", "comment": "cmt", "test": "test"}
SOURCE_NAMES = {"annotation": "annotation", "comment": "comment", "test": "test"}  # where there is room
SOURCE_COLORS = {"annotation": "#6fb3d2", "comment": "#c792ea", "test": "#f0a36b"}

KIND_LABELS = {"accessibility": "a11y", "performance": "perf"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """One line of text from a browser (console messages, URLs) safe for a terminal: controls become visible."""
    return _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "\ufffd", text)


_BRACKET = re.compile(r"\\*\[|\\+\Z")


def esc(text: str) -> str:
    """User text inside a markup string: control characters shown (``\\x1b``), ``[…]`` never obeyed as markup.

    For Textual's markup, the one parser of the TUI's markup (``markup_text`` puts it behind the few
    rich renderables too). Every ``[`` is escaped, not only those that look like a tag (as
    ``rich.markup.escape`` does): Textual read an unclosed one ("\\x1b[2J", "[EUR") as a tag's start
    and showed the rest of the line as written, closing tags included. Textual's parser takes a
    backslash before ``[`` as the escape whatever precedes it, and every other backslash as itself,
    so backslashes are never doubled (as rich's markup and Textual's own ``escape`` would, shown
    twice). A tag can never follow a backslash there, so text ending in one gets a zero-width space
    after it: "C:\\Temp\\" before "[/]" showed "C:\\Temp\\\\[/]" and kept its style running on."""
    return _BRACKET.sub(lambda m: m.group()[:-1] + "\\[" if m.group().endswith("[") else m.group() + "\u200b", safe(text))


def markup_text(markup: str) -> Text:
    """``markup`` parsed as Textual parses a widget's, as a rich ``Text`` for a rich renderable
    (``Fit``, ``Group``) or a measure: one parser, so ``esc`` holds for both."""
    from textual.content import Content
    from textual.style import Style as ContentStyle

    content = Content.from_markup(markup)
    text = Text(content.plain)
    for span in content.spans:
        style = ContentStyle.parse(span.style) if isinstance(span.style, str) else span.style
        text.stylize(style.rich_style, span.start, span.end)
    return text


def plain(text: str, style: str = "") -> Text:
    """User text as a table cell or line of its own: never parsed as markup, control characters shown."""
    return Text(safe(text), style=style)


def markdown(text: str, *, indent: int = 0) -> Any:
    """User markdown (a body, a reply, a persona review) rendered: lists, quotes and code keep their
    indentation. Control characters are shown first (``safe``); links print their address beside
    the text (``hyperlinks=False``) so a reader sees where one leads."""
    from rich.padding import Padding

    text = safe(text.rstrip().lstrip("\n"))  # a leading indent is kept: it may be a code block
    if _MARKDOWN_SYNTAX.search(text) is None:
        # Plain prose (most feedback): shown as written, line breaks included, without paying
        # for the markdown parser (~4 MB and ~40 ms on first use).
        rendered: Any = Text(text)
    else:
        from rich.markdown import Markdown

        rendered = Markdown(text, hyperlinks=False, code_theme="ansi_dark")
    return Padding(rendered, (0, 0, 0, indent)) if indent else rendered


# Anything markdown would draw differently from plain text: emphasis, code, headings, quotes,
# links, lists, tables and indented code blocks.
_MARKDOWN_SYNTAX = re.compile(r"[*_`#>\[|~]|^\s*(?:[-+]|\d+[.)])\s|^(?: {4}|\t)\S|<\w", re.MULTILINE)


def status_label(status: str) -> str:
    return INBOX_STATUS_LABELS.get(status) or domain_status_label(status)


def field_label(name: str) -> str:
    """A record's field name as words ("assignee_id" → "assignee")."""
    return {"assignee_id": "assignee", "diff_url": "diff URL", "auto_fix": "auto-fix"}.get(name, name.replace("_", " "))


def field_value(name: str, value: object, members: dict[str, str] | None = None) -> str:
    """A field's value as a person reads it: status words, member names for user ids, "—" for nothing."""
    if value is None or value == "":
        return "—"
    if name == "status" and isinstance(value, str):
        return domain_status_label(value)
    if name == "assignee_id" and isinstance(value, str):
        return member_name(value, members or {})
    if isinstance(value, str):
        return " ".join(value.split())
    import json

    return json.dumps(value, ensure_ascii=False)


def status_style(status: str, *, bold: bool = True) -> Style:
    return Style(color=STATUS_COLORS.get(status, "#bbbbbb"), bold=bold)


def status_markup(status: str, label: str | None = None) -> str:
    color = STATUS_COLORS.get(status, "#bbbbbb")
    return f"[bold {color}]{label or status_label(status)}[/]"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def age(now_ms: int, then_ms: int | None) -> str:
    """Compact age: 'now', '12m', '5h', '3d', '7w', '2y'."""
    if then_ms is None:
        return ""
    seconds = max(0, (now_ms - then_ms) // 1000)
    if seconds < 60:
        return "now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 14:
        return f"{days}d"
    if days < 365:
        return f"{days // 7}w"
    return f"{days // 365}y"


def ago(now_ms: int, then_ms: int | None) -> str:
    text = age(now_ms, then_ms)
    return "" if not text else ("just now" if text == "now" else f"{text} ago")


def page_path(url: str) -> str:
    """The path (and query) of a page URL; a bare path stays as it is."""
    if "://" not in url:
        return url or "/"
    parts = urlsplit(url)
    path = parts.path or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def cut(text: str, cells: int) -> str:
    """``text`` as shown (control characters visible) on one line of at most ``cells`` cells, "…" where cut:
    a page URL or a selector in a preview, which has only a few lines to give."""
    shown = Text(safe(text).replace("\n", " "), no_wrap=True)
    shown.truncate(max(cells, 12), overflow="ellipsis")
    return shown.plain


def short_id(value: str | None) -> str:
    """The random tail of a uuid7: enough to tell rows apart on screen."""
    return "" if not value else value[-8:]


def progress_bar(fill_pct: float, width: int) -> tuple[str, str]:
    """(filled, empty) parts of a bar ``width`` cells wide, with eighth-cell precision."""
    width = max(width, 1)
    eighths = round(max(0.0, min(100.0, fill_pct)) / 100 * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part else ""
    filled = "█" * full + partial
    return filled, " " * (width - full - (1 if partial else 0))


def size(n: int) -> str:
    """A file's size as people read it: "512 B", "120 KB", "1.4 MB"."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def picture(key: str | None, facts: dict[str, tuple[str, int]]) -> Text:
    """A picture as a reader knows it, its format and size ("PNG · 120 KB"), never its storage key,
    which is a long opaque path that wraps at 80 columns and says nothing."""
    if not key:
        return Text("—")
    if key not in facts:
        # A replica's record can arrive before its picture: the next sync's pictures pass fetches it.
        return Text("not in this store yet (a sync fetches it)", style="dim")
    content_type, n = facts[key]
    kind = content_type.removeprefix("image/").upper().replace("JPEG", "JPG")
    return Text(f"{kind} · {size(n)}")


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural_word or word + 's')}"
