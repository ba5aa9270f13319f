"""What Chromium's accessibility tree tells a screen reader, read through the DevTools protocol (for what Playwright's
own accessibility assertions do not show: modality, live regions)."""

from __future__ import annotations

from typing import Any


def ax_nodes(page) -> list[dict[str, Any]]:
    """Every node of the page's accessibility tree that a screen reader is given (ignored ones left out)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    return [n for n in nodes if not n.get("ignored")]


def live_statuses(page) -> list[dict[str, Any]]:
    """The status live regions there now, each asserted polite (what a status is: read when the reader is idle)."""
    live = [n for n in ax_nodes(page) if n.get("role", {}).get("value") == "status"]
    for n in live:
        assert {"name": "live", "value": {"type": "token", "value": "polite"}} in n["properties"]
    return live


def ax_dialogs(page) -> dict[str, bool]:
    """Each dialog shown, by name: whether it is said to be modal."""
    return {
        n["name"]["value"]: any(p["name"] == "modal" and p["value"]["value"] for p in n.get("properties", []))
        for n in ax_nodes(page) if n.get("role", {}).get("value") == "dialog"
    }
