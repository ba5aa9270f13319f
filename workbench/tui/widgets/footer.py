"""The key footer of every screen: Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer removes and re-mounts one widget per key (twenty-odd on the inbox) on every
bindings update: each focus change, and each return to a screen. Measured at 120 columns, that
was ~100 ms of every switch between screens (1-5), against ~26 ms without it. The keys shown
rarely change, so an update that would show the same keys is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer as TextualFooter

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widget import Widget

Shown = tuple[tuple[object, ...], ...]


class Footer(TextualFooter):
    """A Footer that recomposes only when its keys, labels or their enabled state change."""

    def __init__(self, *children: Widget, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(*children, name=name, id=id, classes=classes)
        self._shown: Shown | None = None

    def shown(self, screen: Screen) -> Shown:
        """What the footer would show for ``screen``'s bindings now (what ``compose`` reads)."""
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING
        rows = tuple(
            (binding.key, app.get_key_display(binding), binding.action, binding.description, binding.group,
             binding.tooltip, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == palette
        )
        return (*rows, (self.show_command_palette, app.ENABLE_COMMAND_PALETTE))

    def bindings_changed(self, screen: Screen) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # records readiness; Textual does not recompose here
            return
        shown = self.shown(screen)
        if shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
