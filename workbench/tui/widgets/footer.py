"""The key footer of every screen: Textual's Footer, rebuilt only when the keys it shows change,
and never cutting off the app's own keys (``?`` help, ``q`` quit).

Textual's Footer lays its keys out in a row and lets the terminal's edge cut whatever does not
fit: at 80 columns the inbox lost ``? Keys`` and ``q Quit``. This one keeps the app keys and the
palette, then as many of the screen's keys as fit whole, in their order of importance (the
order they are declared in ``keys.py``, led by those the screen's ``footer_lead`` names for the
focused pane: a feedback round's comments list leads with ``r Resolve``, which at 80 columns came
after the round's five phase keys and was cut, and a screen's ``footer_label`` names a key for
what it does to the row at hand: ``r Reopen`` on a resolved comment); the others stay in ``?`` and the palette. Narrower
than the app keys and the palette together (about 30 columns), the palette goes, then ``?``:
``q Quit`` is the last to go.

Textual's Footer removes and re-mounts one widget per key (twenty-odd on the inbox) on every
bindings update: each focus change, and each return to a screen. Measured at 120 columns, that
was ~100 ms of every switch between screens (1-5), against ~26 ms without it. The keys shown
rarely change, so an update that would show the same keys is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.widgets import Footer as TextualFooter

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widget import Widget

# Kept whatever the width, in this order of need: the way out, and the way to every other key.
APP_ACTIONS = ("app.quit", "app.help")

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
            (binding.key, app.get_key_display(binding), binding.action, _label(screen, binding.action) or binding.description, binding.group,
             binding.tooltip, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == palette
        )
        return (*rows, _lead(screen), (self.show_command_palette, app.ENABLE_COMMAND_PALETTE, app.size.width))

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        for widget in widgets:
            if (label := _label(self.screen, str(getattr(widget, "action", "")))) is not None and hasattr(widget, "description"):
                widget.description = label  # pyright: ignore[reportAttributeAccessIssue]  # a FooterKey's
        palette = [w for w in widgets if w.has_class("-command-palette")]
        kept = [w for w in widgets if getattr(w, "action", None) in APP_ACTIONS]
        lead = _lead(self.screen)
        others = [w for w in widgets if w not in palette and w not in kept]
        # Stable: the lead in its own order, then the rest in theirs.
        order = {action: i for i, action in enumerate(lead)}
        others.sort(key=lambda w: order.get(str(getattr(w, "action", "")), len(lead)))
        room = self.app.size.width
        # Very narrow terminals: the way out first, then help, then the palette (its border
        # and padding: 2 more cells); what does not fit is left out rather than cut or covered.
        fitting: list[Widget] = []
        for widget in sorted(kept, key=lambda w: APP_ACTIONS.index(getattr(w, "action", ""))):
            if _width(widget) <= room:
                fitting.append(widget)
                room -= _width(widget)
        kept = [w for w in kept if w in fitting]
        if palette and _width(palette[0]) + 2 > room:
            palette = []
        room -= sum(_width(w) + 2 for w in palette)
        shown: list[Widget] = []
        for widget in others:
            need = _width(widget)
            if need > room:
                break  # the rest are less important than this one: never skip to a later, shorter key
            shown.append(widget)
            room -= need
        yield from shown
        yield from kept
        yield from palette

    def on_resize(self) -> None:
        # The keys that fit depend on the width: a resize may show more or fewer.
        if self._shown is not None and self._shown[-1][-1] != self.app.size.width:
            self._shown = None
            self.bindings_changed(self.screen)

    def bindings_changed(self, screen: Screen) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # records readiness; Textual does not recompose here
            return
        shown = self.shown(screen)
        if shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)


def _lead(screen: Screen) -> tuple[str, ...]:
    """The actions ``screen`` puts first in its footer now (its ``footer_lead``; none by default)."""
    lead = getattr(screen, "footer_lead", None)
    actions = lead() if callable(lead) else ()
    return tuple(str(action) for action in actions) if isinstance(actions, tuple | list) else ()


def _label(screen: Screen, action: str) -> str | None:
    """The word ``screen`` gives ``action``'s key now (its ``footer_label``), where one key does two
    things by the highlighted row: None keeps the binding's own."""
    label = getattr(screen, "footer_label", None)
    said = label(action) if callable(label) else None
    return said if isinstance(said, str) else None


def _width(widget: Widget) -> int:
    """Cells a footer item takes (a FooterKey: " key " then "description ")."""
    key, description = getattr(widget, "key_display", None), getattr(widget, "description", "")
    if isinstance(key, str):
        return cell_len(key) + 2 + (cell_len(description) + 1 if description else 0)
    return 24  # a key group: rare, counted generously
