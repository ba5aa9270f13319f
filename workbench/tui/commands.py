"""The command palette (ctrl+p): every action of the current screen, with its key, and the search syntax.

Commands are not listed by hand: they are the active bindings of the screen the palette was
opened from (its widgets, the screen and the app), so a new binding appears here by itself
and a rebinding from ``keys.toml`` shows its new key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from workbench.tui.help import binding_rows

SYNTAX_LABEL = "Search: query syntax (qualifiers, phrases, -word, OR)"


class WorkbenchCommands(Provider):
    """Every bound action of the screen under the palette."""

    def _commands(self) -> Iterator[tuple[str, str, DOMNode, str]]:
        for section, key, description, node, action in binding_rows(self.screen):
            label = f"{section}: {description}" if section else description
            yield label, key, node, action

    async def _run(self, node: DOMNode, action: str) -> None:
        await self.app.run_action(action, node)

    async def _syntax(self) -> None:
        from workbench.tui.search import SearchSyntax

        await self.app.push_screen(SearchSyntax())

    def _extras(self) -> Iterator[tuple[str, str, Callable[[], Awaitable[None]]]]:
        """Entries that are no binding: the search syntax, on screens with a / search."""
        if getattr(self.screen, "SEARCH_SYNTAX", None):
            yield SYNTAX_LABEL, "status: kind: site: assignee: is: page: author: age: updated:, \"phrase\", -word, OR", self._syntax

    async def discover(self) -> Hits:
        for label, key, node, action in self._commands():
            yield DiscoveryHit(f"{label}  [dim]{key}[/]", partial(self._run, node, action), text=label, help=f"key: {key}")
        for label, help_text, run in self._extras():
            yield DiscoveryHit(label, run, text=label, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, key, node, action in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, node, action), text=label, help=f"key: {key}")
        for label, help_text, run in self._extras():
            score = max(matcher.match(label), matcher.match(help_text))
            if score > 0:
                yield Hit(score, matcher.highlight(label), run, text=label, help=help_text)
