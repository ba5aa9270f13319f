"""The agent-paste-friendly markdown rendering of an annotation with its thread and resolutions."""

from __future__ import annotations

from workbench.domain.clock import iso_ms
from workbench.domain.records import Annotation, Reply, Resolution


def render(ann: Annotation, replies: list[Reply], resolutions: list[Resolution], site_name: str | None = None) -> str:
    lines = [f"# Annotation {ann.id}", ""]
    facts = [
        ("Site", site_name or ann.site_id),
        ("Page", ann.page_url),
        ("Selector", f"`{ann.selector}`" if ann.selector else None),
        ("Kind", ann.kind),
        ("Status", ann.status),
        ("Auto-fix authorised", "yes" if ann.auto_fix else "no"),
        ("Assignee", ann.assignee_id),
        ("Submitted by", ann.submitter_name or "anonymous"),
        ("Created", iso_ms(ann.created_at)),
        ("Updated", iso_ms(ann.updated_at)),
        ("Screenshot", ann.screenshot_key),
    ]
    lines += [f"- **{k}:** {v}" for k, v in facts if v]
    lines += ["", "## Feedback", "", _quote(ann.body)]
    if ann.summary:
        lines += ["", "## Summary", "", ann.summary]
    if ann.computed_styles:
        lines += ["", "## Computed styles", "", "| property | value |", "|---|---|"]
        lines += [f"| `{k}` | `{v}` |" for k, v in sorted(ann.computed_styles.items())]
    if replies:
        lines += ["", f"## Thread ({len(replies)})", ""]
        for r in replies:
            lines += [f"**{r.author_name}** ({r.author_kind}, {iso_ms(r.created_at)}):", "", _quote(r.body), ""]
    if resolutions:
        lines += ["", f"## Resolutions ({len(resolutions)})", ""]
        for i, res in enumerate(resolutions, 1):
            lines.append(f"{i}. {iso_ms(res.created_at)} — notification: {res.notification_status}")
            for label, value in (("before", res.before_key), ("after", res.after_key), ("diff", res.diff_url)):
                if value:
                    lines.append(f"   - {label}: {value}")
            if res.explanation:
                lines.append("   - explanation: " + res.explanation.replace("\n", "\n     "))
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])
