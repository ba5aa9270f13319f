"""The keys of a screen, as the help screen (``?``) and the command palette list them."""

from __future__ import annotations

from collections.abc import Iterator

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

_SKIP_ACTIONS = {
    "command_palette", "help", "app.help", "screen.copy_text", "scroll_left", "scroll_right", "scroll_up", "scroll_down",
    "page_left", "page_right", "app.focus_next", "app.focus_previous",
}


def _section(node: object) -> str:
    section = getattr(node, "HELP_SECTION", None)
    if section:
        return section
    from textual.containers import ScrollableContainer

    name = type(node).__name__
    if name in _NAMED:
        return _NAMED[name]
    if isinstance(node, ScrollableContainer):
        # Textual's scroll containers (VerticalScroll, ...) bring page/home/end keys: a user knows
        # them as scrolling, not by the widget's class name.
        return "Scrolling"
    return name.removesuffix("Screen")


_NAMED = {"WorkbenchApp": "Global", "VirtualList": "List"}


def _description(node: object, binding: Binding) -> str:
    """What a binding does, in the words of the node it belongs to where that node has its own
    (``help_description``): one binding serves every form, whose buttons name it differently."""
    own = getattr(node, "help_description", None)
    said = own(binding) if callable(own) else None
    return said if isinstance(said, str) and said else binding.description


def _target(screen: Screen, node: DOMNode, action: str) -> tuple[int, str]:
    """The node an action runs on and its name there: the app's "app.quit" (q) and Textual's own "quit"
    (ctrl+q) are one action, which the help listed twice as Quit."""
    for prefix, target in (("app.", screen.app), ("screen.", screen)):
        if action.startswith(prefix):
            return id(target), action.removeprefix(prefix)
    return id(node), action


def binding_rows(screen: Screen) -> Iterator[tuple[str, str, str, DOMNode, str]]:
    """(section, keys, description, node, action) for every active binding of ``screen``.

    One row per action: the keys of a binding ("down,j"), and of bindings of one action, are shown together. Bindings a
    widget disabled through ``check_action`` are left out, like the footer does.
    """
    app = screen.app
    rows: dict[tuple[int, str], list] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.action in _SKIP_ACTIONS or not binding.description:
            continue
        if getattr(binding, "system", False):
            continue
        key = _target(screen, active.node, binding.action)
        display = app.get_key_display(binding)
        row = rows.get(key)
        if row is not None and display in row[1]:
            continue
        if row is not None and (row[5] or not binding.id):
            row[1].append(display)
            continue
        # A new action, or ours (keys.py, rebindable) over Textual's own (ctrl+q): its key first, its words, its place.
        earlier = rows.pop(key)[1] if row is not None else []
        rows[key] = [_section(active.node), [display, *earlier], _description(active.node, binding), active.node, binding.action, binding.id]
    order = {"Global": 3, "Scrolling": 2, "List": 1}
    for section, keys, description, node, action, _id in sorted(rows.values(), key=lambda r: order.get(r[0], 0)):
        yield section, " ".join(keys), description, node, action
