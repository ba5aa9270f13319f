"""The agent-paste-friendly markdown rendering of an annotation with its thread and resolutions.

User text never changes the document's structure: one-line slots (page, selector, names,
keys, URLs) have their line breaks flattened, so a crafted value cannot add a heading or a
fact line, code spans are fenced with more backticks than the value holds, and free text
(the feedback, the summary, replies, resolution explanations) is block-quoted line by line.
"""

from __future__ import annotations

import re

from workbench.domain.clock import iso_ms
from workbench.domain.records import Annotation, Reply, Resolution
from workbench.domain.statuses import status_label


def render(
    ann: Annotation, replies: list[Reply], resolutions: list[Resolution], site_name: str | None = None,
    member_names: dict[str, str] | None = None,
) -> str:
    """The annotation as markdown for a person or an agent: status in words ("won't fix"), the
    assignee by name (``member_names``; an unknown id stays an id, so it can still be looked up)."""
    assignee = (member_names or {}).get(ann.assignee_id or "", ann.assignee_id) if ann.assignee_id else None
    lines = [f"# Annotation {ann.id}", ""]
    facts = [
        ("Site", site_name or ann.site_id),
        ("Page", ann.page_url),
        ("Selector", _code(ann.selector) if ann.selector else None),
        ("Kind", ann.kind),
        ("Status", status_label(ann.status)),
        ("Auto-fix authorised", "yes" if ann.auto_fix else "no"),
        ("Assignee", assignee),
        ("Submitted by", ann.submitter_name or "anonymous"),
        ("Created", iso_ms(ann.created_at)),
        ("Updated", iso_ms(ann.updated_at)),
        ("Screenshot", ann.screenshot_key),
    ]
    lines += [f"- **{k}:** {_inline(v)}" for k, v in facts if v]
    lines += ["", "## Feedback", "", _quote(ann.body)]
    if ann.summary:
        lines += ["", "## Summary", "", _quote(ann.summary)]
    if ann.computed_styles:
        lines += ["", "## Computed styles", "", "| property | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in sorted(ann.computed_styles.items())]
    if replies:
        lines += ["", f"## Thread ({len(replies)})", ""]
        for r in replies:
            lines += [f"**{_inline(r.author_name)}** ({r.author_kind}, {iso_ms(r.created_at)}):", "", _quote(r.body), ""]
    if resolutions:
        lines += ["", f"## Resolutions ({len(resolutions)})", ""]
        for i, res in enumerate(resolutions, 1):
            lines.append(f"{i}. {iso_ms(res.created_at)} — notification: {res.notification_status}")
            for label, value in (("before", res.before_key), ("after", res.after_key), ("diff", res.diff_url)):
                if value:
                    lines.append(f"   - {label}: {_inline(value)}")
            if res.explanation:
                # Quoted inside the list item (indented to its content); the blank line ends the
                # quote, so the next resolution's line cannot be read as a lazy continuation of it.
                lines += ["   - explanation:", *("     " + line for line in _quote_lines(res.explanation)), ""]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join(_quote_lines(text))


def _quote_lines(text: str) -> list[str]:
    """``text`` as block-quote lines: every line (at any of str.splitlines' breaks) starts with ">"."""
    return ["> " + line if line else ">" for line in text.splitlines() or [""]]


# str.splitlines' line boundaries: any of them would start a new markdown line.
_BREAKS = re.compile("\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


def _inline(text: str) -> str:
    """A value for a one-line slot: line breaks become spaces."""
    return _BREAKS.sub(" ", text)


def _code(text: str) -> str:
    """A code span that a backtick inside ``text`` cannot close early (CommonMark's longer fence)."""
    flat = _inline(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _cell(text: str) -> str:
    """A table cell: a code span whose pipes cannot split the row."""
    return _code(text).replace("|", "\\|")
