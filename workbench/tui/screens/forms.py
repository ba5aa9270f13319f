"""Dialogs: a generic form with inline validation, a confirmation, a choice list and a file picker.

A form never loses what was typed: ``submit`` runs the use case and, when a rule refuses it,
the dialog stays open with the refusal under the fields. Only success dismisses it. The use
case runs off the UI thread (``workbench.tui.writes``): meanwhile the dialog stays open, says
"saving…" and ignores another submit or a cancel, since the write is already on its way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DirectoryTree, Input, Label, OptionList, Select, Static, Switch, TextArea
from textual.widgets.option_list import Option

from workbench.domain.images import TYPE_OF_EXTENSION
from workbench.tui import keys
from workbench.tui.screens.base import Dialog
from workbench.tui.writes import submit_write

IMAGE_SUFFIXES = {f".{ext}" for ext in TYPE_OF_EXTENSION}


@dataclass
class Field:
    """One form field. ``kind``: input | password (masked) | text (multi-line) | select | switch | file."""

    name: str
    label: str
    kind: str = "input"
    value: Any = ""
    options: list[tuple[str, Any]] = field(default_factory=list)
    placeholder: str = ""


def _widget_id(name: str) -> str:
    return f"field-{name}"


class FormDialog(Dialog[Any]):
    """A modal form. ``submit(values)`` raises to refuse (the message shows inline) or returns to close."""

    BINDINGS: ClassVar[list[BindingType]] = keys.FORM
    HELP_SECTION = "Dialog"

    def __init__(
        self,
        title: str,
        fields: list[Field],
        *,
        submit: Callable[[dict[str, Any]], Any],
        validate: Callable[[dict[str, Any]], str | None] | None = None,
        hint: str = "",
        submit_label: str = "Save",
        cancel_label: str = "Cancel",
        wide: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.submit_fn = submit
        self.validate_fn = validate
        self.hint = hint
        self.submit_label = submit_label
        self.cancel_label = cancel_label  # what leaving does: "Close" where nothing typed is dropped
        self.wide = wide
        self.result_value: Any = None
        self.saving = False  # a submit is running in a worker
        self.opened_with: dict[str, Any] = {}  # the values it opened with: any other is typed, not yet sent

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog" + (" -wide" if self.wide else "")):
            yield Static(self.title_text, classes="title")
            for f in self.fields:
                wid = _widget_id(f.name)
                if f.kind == "text":
                    # A multi-line field takes the full width under its label.
                    yield Label(f.label, classes="form-label -above")
                    yield TextArea(str(f.value or ""), id=wid, soft_wrap=True, show_line_numbers=False, compact=True)
                    continue
                with Horizontal(classes="form-row"):
                    yield Label(f.label, classes="form-label")
                    if f.kind == "select":
                        yield Select(f.options, value=f.value, allow_blank=False, id=wid, compact=True)
                    elif f.kind == "switch":
                        yield Switch(value=bool(f.value), id=wid)
                    elif f.kind == "file":
                        yield Input(str(f.value or ""), placeholder=f.placeholder or "path to an image file", id=wid, compact=True)
                        browse = Button("Browse… ^o", id=f"browse-{f.name}", compact=True)
                        browse.can_focus = False  # tab goes field to field; ctrl+o browses for the focused one
                        yield browse
                    elif f.kind == "password":
                        yield Input(str(f.value or ""), placeholder=f.placeholder, password=True, id=wid, compact=True)
                    else:
                        yield Input(str(f.value or ""), placeholder=f.placeholder, id=wid, compact=True)
            yield Static("", id="form-check", classes="hint")
            yield Static("", id="form-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(self.cancel_label, id="cancel", compact=True)
                yield Button(self.submit_label, id="submit", variant="primary", compact=True)
            browse = " · {form.browse}: browse" if any(f.kind == "file" for f in self.fields) else ""
            editor = " · {form.editor}: write in $EDITOR" if self._editable() is not None else ""
            # Named as the buttons are ("^s: confirm" under Confirm), as ? and the palette name them;
            # "key: what" as every other hint line says it.
            named = f"{{form.save}}: {self.submit_label.lower()} · {{form.cancel}}: {self.cancel_label.lower()}"
            yield Static(self.hint_text((self.hint or named + browse) + editor), classes="hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Browse only where there is a file to pick, $EDITOR only where there is text to write:
        ? listed both on every form."""
        if action == "browse":
            return any(f.kind == "file" for f in self.fields)
        if action == "editor":
            return self._editable() is not None
        return True

    def help_description(self, binding: Binding) -> str | None:
        """The shared form keys as this form's buttons name them (``?``, the palette): esc in the
        reply dialog closes and keeps the draft, where "Cancel" would say it is dropped."""
        return {"cancel": self.cancel_label, "submit": self.submit_label}.get(binding.action)

    def on_mount(self) -> None:
        self.opened_with = self.values()
        self._check()
        if self.fields:
            self.query_one(f"#{_widget_id(self.fields[0].name)}").focus()

    def keep_for_later(self) -> None:
        """Queue what is typed where a quit does not lose it, for a form that can (a reply's draft)."""

    def unsent(self) -> bool:
        """Something typed here that no submit has taken yet (one on its way is the write queue's)."""
        return not self.saving and self.values() != self.opened_with

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            widget = self.query_one(f"#{_widget_id(f.name)}")
            if isinstance(widget, TextArea):
                out[f.name] = widget.text
            elif isinstance(widget, (Select, Switch, Input)):
                out[f.name] = widget.value
        return out

    def set_value(self, name: str, value: Any) -> None:
        widget = self.query_one(f"#{_widget_id(name)}")
        if isinstance(widget, TextArea):
            widget.text = str(value)
        elif isinstance(widget, (Input, Select, Switch)):
            widget.value = value
        else:
            raise TypeError(f"{name}: a {type(widget).__name__} holds no value")

    def _check(self) -> None:
        if self.validate_fn is None:
            return
        from workbench.tui.app import refusal_text

        try:
            message = self.validate_fn(self.values())
        except Exception as exc:  # noqa: BLE001 - a validator that trips shows why; typing goes on
            message = Text(refusal_text(exc), style="bold #e05561")
        self.query_one("#form-check", Static).update(message or "")

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    def _changed(self) -> None:
        self.query_one("#form-error", Static).update("")
        self._check()

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed)
    def _browse_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("browse-"):
            self._browse(event.button.id.removeprefix("browse-"))

    def action_browse(self) -> None:
        focused = self.focused
        names = [f.name for f in self.fields if f.kind == "file"]
        if not names:
            return
        name = names[0]
        if focused is not None and focused.id and focused.id.startswith("field-") and focused.id[6:] in names:
            name = focused.id[6:]
        self._browse(name)

    def _browse(self, name: str) -> None:
        current = self.values().get(name) or ""

        def picked(path: Path | None) -> None:
            if path is not None:
                self.set_value(name, str(path))

        self.app.push_screen(FilePicker(Path(current).expanduser().parent if current else None), picked)

    def _editable(self, focused: object = None) -> Field | None:
        """The text field ``ctrl+e`` edits: the focused one, else the first multi-line one."""
        texts = [f for f in self.fields if f.kind == "text" or (f.kind == "input" and len(self.fields) == 1)]
        focused_id = getattr(focused, "id", None)
        for f in texts:
            if focused_id == _widget_id(f.name):
                return f
        return texts[0] if texts else None

    def action_editor(self) -> None:
        """Write the field in $VISUAL/$EDITOR; what was saved there comes back into it."""
        from workbench.tui import editor
        from workbench.tui.app import refusal_text

        target = self._editable(self.focused)
        if target is None:
            self.notify("No text field here to write in an editor", severity="warning")
            return
        try:
            text = editor.edit(self.app, str(self.values()[target.name]))
        except Exception as exc:  # noqa: BLE001 - unset, missing or failed editor: said, the field kept
            self.query_one("#form-error", Static).update(Text(refusal_text(exc)))
            self.app.notify(refusal_text(exc), title="Editor", severity="warning", timeout=8)
            return
        if target.kind == "input":
            text = " ".join(text.split("\n")).strip()  # one line: a summary
        self.set_value(target.name, text)
        widget = self.query_one(f"#{_widget_id(target.name)}")
        widget.focus()
        if isinstance(widget, TextArea):
            widget.move_cursor(widget.document.end)

    def action_submit(self) -> None:
        if self.saving:
            return
        values = self.values()
        self._saving(True)

        def done(result: Any) -> None:
            self.result_value = result
            # What submit returned (e.g. the created record), or the values when it returned nothing.
            self.dismiss(result if result is not None else values)

        def refused(reason: str) -> None:  # shown inline, the dialog keeps the input
            self._saving(False)
            self.query_one("#form-error", Static).update(Text(reason))

        submit_write(self, self.submit_fn, values, done=done, refused=refused)

    def _saving(self, saving: bool) -> None:
        self.saving = saving
        button = self.query_one("#submit", Button)
        button.disabled = saving
        button.label = "Saving…" if saving else self.submit_label

    def action_cancel(self) -> None:
        if self.saving:  # the write is on its way; its outcome closes the dialog or shows here
            self.app.bell()
            return
        self.dismiss(None)


def text_prompt(
    title: str, label: str, *, submit: Callable[[str], Any], value: str = "", placeholder: str = "", multiline: bool = False,
    submit_label: str = "Save", hint: str = "",
) -> FormDialog:
    """A one-field form (a summary, a reply, a note)."""
    return FormDialog(
        title,
        [Field("text", label, "text" if multiline else "input", value, placeholder=placeholder)],
        submit=lambda values: submit(values["text"]),
        submit_label=submit_label,
        hint=hint,
    )


class ConfirmDialog(Dialog[bool]):
    """Yes or no; ``y``/enter confirm, ``n``/esc cancel."""

    BINDINGS: ClassVar[list[BindingType]] = keys.CONFIRM
    HELP_SECTION = "Dialog"

    def __init__(self, title: str, message: str, *, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.yes = yes
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield Static(self.message)
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", compact=True)
                yield Button(self.yes, id="yes", variant="error" if self.danger else "primary", compact=True)
            yield Static(self.hint_text("{confirm.yes}: yes · {confirm.no}: no"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ChoiceDialog(Dialog[Any]):
    """Pick one option (enter) or cancel (esc). ``choose(value)`` may raise to refuse inline."""

    BINDINGS: ClassVar[list[BindingType]] = keys.CHOICE
    HELP_SECTION = "Dialog"

    def __init__(
        self, title: str, options: Iterable[tuple[RenderableType, Any]], *, choose: Callable[[Any], Any] | None = None,
        hint: str = "enter: choose · {choice.cancel}: cancel", highlighted: Any = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.options = list(options)
        self.choose_fn = choose
        self.hint = hint
        self.highlighted = highlighted
        self.saving = False  # ``choose`` is running in a worker

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield OptionList(*[Option(label, id=str(i)) for i, (label, _) in enumerate(self.options)], id="choices")
            yield Static("", id="form-error", classes="error")
            yield Static(self.hint_text(self.hint), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        options.focus()
        for i, (_, value) in enumerate(self.options):
            if value == self.highlighted:
                options.highlighted = i

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        value = self.options[int(event.option.id or 0)][1]
        if self.choose_fn is None:
            self.dismiss(value)
            return
        if self.saving:
            return
        self.saving = True

        def refused(reason: str) -> None:  # shown inline
            self.saving = False
            self.query_one("#form-error", Static).update(Text(reason))

        def chosen(_: Any) -> None:
            self.dismiss(value)

        submit_write(self, self.choose_fn, value, done=chosen, refused=refused)

    def action_cancel(self) -> None:
        if self.saving:  # the choice is being written; its outcome closes the dialog
            self.app.bell()
            return
        self.dismiss(None)


class ReadDialog(Dialog[None]):
    """Something to read in full (a comment): no action, esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = keys.CHOICE
    HELP_SECTION = "Dialog"

    def __init__(self, title: str, body: Any) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Static(self.title_text, classes="title")
            yield Static(self.body, id="read-body")
            yield Static(self.hint_text("{choice.cancel}: close"), classes="hint")

    def action_cancel(self) -> None:
        self.dismiss(None)


class _ImageTree(DirectoryTree):
    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES)]


class FilePicker(Dialog[Path | None]):
    """Pick an image file: browse the tree (enter opens folders and picks files) or type a path."""

    BINDINGS: ClassVar[list[BindingType]] = keys.FILES
    HELP_SECTION = "Files"

    def __init__(self, start: Path | None = None) -> None:
        super().__init__()
        start = start if start is not None and start.is_dir() else Path.cwd()
        self.start = start.resolve()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Static("Pick an image (.png .jpg .webp .gif)", classes="title")
            yield Input(str(self.start), id="path", placeholder="type a path and press enter")
            yield _ImageTree(self.start, id="tree")
            yield Static("", id="form-error", classes="error")
            yield Static(self.hint_text("enter: open folder / pick file · {files.parent}: parent folder · {files.cancel}: cancel"),
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#tree").focus()

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(Path(event.path))

    @on(Input.Submitted, "#path")
    def _typed(self, event: Input.Submitted) -> None:
        path = Path(event.value).expanduser()
        if path.is_dir():
            self.query_one("#tree", _ImageTree).path = path
            self.query_one("#tree").focus()
        elif path.is_file():
            self.dismiss(path)
        else:
            self.query_one("#form-error", Static).update(f"No such file or folder: {path}")

    def action_up(self) -> None:
        tree = self.query_one("#tree", _ImageTree)
        if self.focused is tree:
            parent = Path(tree.path).parent
            tree.path = parent
            self.query_one("#path", Input).value = str(parent)

    def action_cancel(self) -> None:
        self.dismiss(None)
