"""Every key binding of the TUI, by screen, each with a stable id so a config file can rebind it.

Users override keys in ``keys.toml`` in the platform config dir (on Linux
``~/.config/workbench/keys.toml``; ``WORKBENCH_KEYS`` names another file)::

    [keys]
    "inbox.search" = "/,ctrl+f"     # several keys: comma-separated
    "annotation.resolve" = "R"
    "app.quit" = "ctrl+q"

Unknown ids, malformed files, key names the terminal never sends and keys that clash with
another binding of the same screen are reported in a notification; that binding keeps its
default, so a typo can never leave ``j``/``↓`` dead or ``q`` not quitting.
The ids are listed by ``workbench tui --keys`` (and in the help screen, ``?``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from textual.binding import Binding, BindingType

B = Binding

APP: list[BindingType] = [
    B("1", "app.go('inbox')", "Inbox", id="app.inbox", show=False),
    B("2", "app.go('feedback')", "Feedback sessions", id="app.feedback", show=False),
    B("3", "app.go('tests')", "Test sessions", id="app.tests", show=False),
    B("4", "app.go('personas')", "Personas", id="app.personas", show=False),
    B("5", "app.go('sync')", "Sync conflicts and refusals", id="app.sync_screen", show=False),
    B("6", "app.go('sites')", "Sites: widget tag and origins", id="app.sites", show=False),
    B("S", "app.sync", "Sync now", id="app.sync", show=False),
    # priority: dialogs (modal screens) otherwise never see app keys; a focused input keeps a typed "?".
    B("question_mark", "app.help", "Keys", id="app.help", key_display="?", priority=True),
    B("ctrl+r", "app.reload", "Refresh", id="app.reload", show=False),
    B("q", "app.quit", "Quit", id="app.quit"),
    # Undo (issue 12): the last action, or the whole last bulk batch; the history is in the store.
    B("u", "app.undo", "Undo last action", id="app.undo", show=False),
    B("U", "app.redo", "Redo", id="app.redo", show=False),
]
# Workspace switcher (workspaces): the local workspaces and each remote's replica, from every screen.
APP.append(B("W", "app.workspaces", "Workspaces…", id="app.workspaces", show=False))
# The remote's credentials form, at any time: a source with no credential is not synced, and
# otherwise the form only came up with no credential at all or a rejected one.
APP.append(B("K", "app.credentials", "Sync credentials…", id="app.credentials", show=False))

# Triage of one annotation: the inbox (cursor row) and the detail screen share these.
STATUS_KEYS = [
    B("n", "set_status('new')", "New", id="{screen}.status_new", show=False),
    B("a", "set_status('ack')", "Ack", id="{screen}.status_ack", show=False),
    B("t", "set_status('triaged')", "Triaged", id="{screen}.status_triaged", show=False),
    B("i", "set_status('in_progress')", "In progress", id="{screen}.status_in_progress", show=False),
    B("r", "set_status('resolved')", "Resolve…", id="{screen}.resolve"),
    B("w", "set_status('won_t_fix')", "Won't fix…", id="{screen}.wont_fix"),
    B("d", "set_status('duplicate')", "Duplicate…", id="{screen}.duplicate", show=False),
    # A, not o: o opens the page/preview/diff URL in the browser.
    B("A", "assign", "Assign…", id="{screen}.assign", show=False),
]


def _for(screen: str, bindings: list[Binding]) -> list[Binding]:
    return [
        Binding(b.key, b.action, b.description, show=b.show, key_display=b.key_display, priority=b.priority,
                id=(b.id or "").format(screen=screen) or None)
        for b in bindings
    ]


INBOX: list[BindingType] = [
    B("slash", "search", "Search", id="inbox.search", key_display="/"),
    B("f", "filter", "Filter", id="inbox.filter"),
    B("v", "views", "Views", id="inbox.views"),
    B("b", "bulk", "Bulk…", id="inbox.bulk"),
    B("ctrl+a", "select_all", "Select all", id="inbox.select_all", show=False),
    # Says what it clears (the query typed after /, or the selection): "Clear" alone read as clearing
    # the filter or the saved view, which it leaves.
    B("escape", "clear", "Clear query/selection", id="inbox.clear", show=False),
    *_for("inbox", STATUS_KEYS),
    # tuiview: the preview beside the list or below it (remembered).
    B("L", "toggle_preview", "Preview side/below", id="inbox.toggle_preview", show=False),
]

ANNOTATION: list[BindingType] = [
    B("escape", "back", "Back", id="annotation.back"),
    *_for("annotation", STATUS_KEYS),
    B("c", "reply", "Reply…", id="annotation.reply"),
    B("e", "attach_resolution", "Resolution…", id="annotation.resolution"),
    B("p", "run_personas", "Personas", id="annotation.personas"),
    B("y", "copy_markdown", "Copy MD", id="annotation.copy"),
    B("o", "open_url", "Open URL…", id="annotation.open", show=False),
    B("right_square_bracket", "step(1)", "Next", id="annotation.next", show=False, key_display="]"),
    B("left_square_bracket", "step(-1)", "Previous", id="annotation.previous", show=False, key_display="["),
    B("j,down", "scroll(1)", "Scroll down", id="annotation.scroll_down", show=False),
    B("k,up", "scroll(-1)", "Scroll up", id="annotation.scroll_up", show=False),
    # tuiview: follow "duplicate of …" to that annotation.
    B("g", "open_duplicate", "Open the duplicated one", id="annotation.open_duplicate", show=False),
]

PERSONAS: list[BindingType] = [
    B("n", "new", "New…", id="personas.new"),
    B("e", "edit", "Edit…", id="personas.edit"),
    B("d", "delete", "Delete…", id="personas.delete"),
    B("r", "reset_one", "Reset this…", id="personas.reset_one", show=False),
    B("R", "reset_all", "Reset defaults…", id="personas.reset_all"),
    B("f", "filter", "Category", id="personas.filter"),
    # search (issue 12): / narrows the personas by words, as it searches the inbox
    B("slash", "search", "Search", id="personas.search", key_display="/"),
    B("escape", "clear_search", "Clear search", id="personas.clear_search", show=False),
]

FEEDBACK: list[BindingType] = [
    B("tab", "switch_pane", "Sessions/comments", id="feedback.switch", show=False),
    B("n", "start", "Start…", id="feedback.start"),
    B("x", "cancel", "Cancel…", id="feedback.cancel"),
    B("F", "finalize", "Finalize…", id="feedback.finalize"),
    B("w", "start_work", "Start work…", id="feedback.start_work", show=False),
    B("s", "submit_round", "Submit…", id="feedback.submit_round"),
    B("b", "return_to_review", "Back to review…", id="feedback.return_to_review", show=False),
    B("a", "approve_tasks", "Approve…", id="feedback.approve_tasks"),
    # Offline nothing else reports the builder's outcome: the user records it (processing only).
    B("D", "builder_finished", "Builder done…", id="feedback.builder_finished", show=False),
    B("E", "builder_failed", "Builder failed…", id="feedback.builder_failed", show=False),
    B("r", "resolve", "Resolve", id="feedback.resolve"),
    B("f", "filter", "Status", id="feedback.filter"),
    B("o", "open_url", "Open…", id="feedback.open", show=False),
]

TESTS: list[BindingType] = [
    B("tab", "switch_pane", "Studies/sessions", id="tests.switch", show=False),
    B("f", "filter", "Status", id="tests.filter"),
    B("c", "complete", "Complete…", id="tests.complete"),
    # Undoable (u): the tester's pause and resume, where the session's status allows them.
    B("p", "pause", "Pause", id="tests.pause", show=False),
    B("r", "resume", "Resume", id="tests.resume", show=False),
    B("z", "analyze", "Analyze…", id="tests.analyze"),
    B("C", "confirm", "Confirm…", id="tests.confirm"),
    B("N", "add_note", "Add note…", id="tests.add_note"),
    B("e", "edit_note", "Edit note…", id="tests.edit_note"),
    B("b", "feedback", "Tester feedback…", id="tests.feedback"),
]

SYNC: list[BindingType] = [
    B("tab", "switch_pane", "Conflicts/refusals", id="sync.switch", show=False),
    B("m", "keep_mine", "Keep mine", id="sync.keep_mine"),
    B("t", "take_theirs", "Take theirs", id="sync.take_theirs"),
    B("r", "retry", "Retry", id="sync.retry"),
    B("x", "discard", "Discard…", id="sync.discard"),
]

# A site's widget: the tag to paste into its pages and the origins allowed to run it (issue 11).
SITES: list[BindingType] = [
    B("a", "add_origin", "Allow origin…", id="sites.add_origin"),
    B("x", "remove_origin", "Remove origin…", id="sites.remove_origin"),
    B("y", "copy_tag", "Copy tag", id="sites.copy_tag"),
    B("B", "set_base", "Tag's base URL…", id="sites.base"),
]

# Dialogs. Their hints name these keys through ``Dialog.hint_text``, so a rebound key reads right.
FORM: list[BindingType] = [
    B("escape", "cancel", "Cancel", id="form.cancel"),
    B("ctrl+s", "submit", "Save", id="form.save"),
    B("ctrl+o", "browse", "Browse files", id="form.browse", show=False),
    # priority: the app moves focus the moment tab arrives. Unbound, tab first went to the field
    # and bubbled back up, while the keys typed after it were already sent to that same field.
    B("tab", "app.focus_next", "Next field", id="form.next", show=False, priority=True),
    B("shift+tab", "app.focus_previous", "Previous field", id="form.previous", show=False, priority=True),
    # tuiview: write the focused text (a reply, a summary) in $EDITOR. priority: the fields' own ctrl+e is "end of line".
    B("ctrl+e", "editor", "Write in $EDITOR", id="form.editor", show=False, priority=True),
]

CONFIRM: list[BindingType] = [
    B("y,enter", "answer(True)", "Yes", id="confirm.yes"),
    B("n,escape", "answer(False)", "No", id="confirm.no"),
]

CHOICE: list[BindingType] = [B("escape", "cancel", "Cancel", id="choice.cancel")]

FILES: list[BindingType] = [
    B("escape", "cancel", "Cancel", id="files.cancel"),
    B("backspace", "up", "Parent folder", id="files.parent", show=False),
]

VIEWS: list[BindingType] = [
    B("escape", "cancel", "Cancel", id="views.cancel"),
    B("s", "save", "Save current as…", id="views.save"),
    B("delete,x", "delete", "Delete view", id="views.delete"),
]

BULK: list[BindingType] = [
    B("escape", "close", "Close", id="bulk.close"),
    B("y", "apply", "Apply", id="bulk.apply", show=False),
]

PERSONA_PICK: list[BindingType] = [
    B("escape", "cancel", "Cancel", id="pick.cancel"),
    B("ctrl+s", "run", "Run", id="pick.run"),
]

DUPLICATE: list[BindingType] = [
    B("escape", "cancel", "Cancel", id="duplicate.cancel"),
    B("down", "focus_list", "To list", id="duplicate.to_list", show=False),
]


def _groups() -> dict[str, list[BindingType]]:
    from workbench.tui.widgets.virtual_list import VirtualList

    return {"app": APP, "list": VirtualList.BINDINGS, "inbox": INBOX, "annotation": ANNOTATION,
            "feedback": FEEDBACK, "tests": TESTS, "personas": PERSONAS, "sync": SYNC, "sites": SITES, "form": FORM,
            "confirm": CONFIRM, "choice": CHOICE, "files": FILES, "views": VIEWS, "bulk": BULK, "duplicate": DUPLICATE,
            "pick": PERSONA_PICK}


def all_binding_ids() -> set[str]:
    return {b.id for group in _groups().values() for b in group if isinstance(b, Binding) and b.id}


def keys_of(binding_id: str, overrides: dict[str, str] | None = None) -> list[str]:
    """The keys bound to ``binding_id`` now: the user's keys.toml, else the default."""
    if overrides and binding_id in overrides:
        return overrides[binding_id].split(",")
    for group in _groups().values():
        for b in group:
            if isinstance(b, Binding) and b.id == binding_id:
                return b.key.split(",")
    raise KeyError(binding_id)


def config_path() -> Path:
    explicit = os.environ.get("WORKBENCH_KEYS")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("workbench", appauthor=False)) / "keys.toml"


@dataclass
class Keymap:
    bindings: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    path: Path | None = None


def load_keymap(path: Path | None = None) -> Keymap:
    """Read overrides from ``path`` (default: ``config_path()``); a missing file means none."""
    path = path or config_path()
    result = Keymap(path=path)
    if not path.is_file():
        return result
    import tomllib  # only when there is a file: most starts have none

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        result.problems.append(f"{path}: {exc}")
        return result
    table = data.get("keys", data)
    known = all_binding_ids()
    for binding_id, keys in table.items():
        if isinstance(keys, list):
            keys = ",".join(str(k) for k in keys)
        if not isinstance(keys, str) or not keys.strip():
            result.problems.append(f"{binding_id}: expected a key string")
        elif binding_id not in known:
            result.problems.append(f"unknown binding id '{binding_id}'")
        else:
            names = [k.strip() for k in keys.split(",")]
            bad = [k for k in names if key_name(k) is None]
            if bad:
                result.problems.append(f"{binding_id}: '{bad[0]}' is not a key name (e.g. j, ctrl+f, f5, down, question_mark); default kept")
            else:
                result.bindings[binding_id] = ",".join(str(key_name(k)) for k in names)
    _drop_clashes(result)
    return result


_MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}


def key_name(text: str) -> str | None:
    """The key name Textual matches for ``text`` ("?" → "question_mark"), or None if no key sends it."""
    from textual.keys import Keys, _character_to_key, key_to_character

    *mods, last = text.split("+")
    if not last or any(m not in _MODIFIERS for m in mods) or len(set(mods)) != len(mods):
        return None
    if len(last) == 1:
        if not last.isprintable() or last.isspace():
            return None
        last = _character_to_key(last)
    elif last not in {k.value for k in Keys} and key_to_character(last) is None:
        return None
    return "+".join([*mods, last])


# The screens whose lists (``VirtualList``) take keys beside the screen's own; the app's keys
# are live everywhere.
_LIST_SCREENS = ("inbox", "feedback", "tests", "personas", "sync", "sites", "duplicate", "views")


def _drop_clashes(result: Keymap) -> None:
    """Keep the default of an override whose key another binding live at the same time uses."""
    groups = _groups()

    def keys_in(group: str, overrides: dict[str, str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for b in groups[group]:
            if isinstance(b, Binding) and b.id:
                for k in overrides.get(b.id, b.key).split(","):
                    out.setdefault(k, set()).add(b.id)
        return out

    for name in groups:
        if name in ("app", "list"):
            continue
        together = ["app", name] + (["list"] if name in _LIST_SCREENS else [])
        merged: dict[str, set[str]] = {}
        default: dict[str, set[str]] = {}
        for g in together:
            for k, ids in keys_in(g, result.bindings).items():
                merged.setdefault(k, set()).update(ids)
            for k, ids in keys_in(g, {}).items():
                default.setdefault(k, set()).update(ids)
        for k, ids in merged.items():
            # Only clashes an override made: the defaults share some keys on purpose (escape).
            new = sorted(i for i in ids if i in result.bindings and i not in default.get(k, set()))
            if len(ids) > 1 and new and new[0] in result.bindings:
                others = sorted(ids - {new[0]})
                result.bindings.pop(new[0])
                result.problems.append(f"{new[0]}: '{k}' is already {others[0]}; default kept")


def describe_bindings() -> str:
    """Every rebindable id with its default keys and what it does (``workbench tui --keys``)."""
    lines = [f"# {config_path()}", "[keys]"]
    for name, bindings in _groups().items():
        lines.append(f"# {name}")
        for b in bindings:
            if isinstance(b, Binding) and b.id:
                lines.append(f'# "{b.id}" = "{b.key}"'.ljust(48) + f"  {b.description}")
    return "\n".join(lines)
