"""The command palette (ctrl+p): every action of the current screen, with its key.

Commands are not listed by hand: they are the active bindings of the screen the palette was
opened from (its widgets, the screen and the app), so a new binding appears here by itself
and a rebinding from ``keys.toml`` shows its new key.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from workbench.tui.help import binding_rows


class WorkbenchCommands(Provider):
    """Every bound action of the screen under the palette."""

    def _commands(self) -> Iterator[tuple[str, str, DOMNode, str]]:
        for section, key, description, node, action in binding_rows(self.screen):
            label = f"{section}: {description}" if section else description
            yield label, key, node, action

    async def _run(self, node: DOMNode, action: str) -> None:
        await self.app.run_action(action, node)

    async def discover(self) -> Hits:
        for label, key, node, action in self._commands():
            yield DiscoveryHit(f"{label}  [dim]{key}[/]", partial(self._run, node, action), text=label, help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, key, node, action in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, node, action), text=label, help=f"key: {key}")
