"""Workspaces in the TUI: the switcher (``W``), the first sync's choice, and the credentials prompt.

- ``WorkspaceSwitcher`` lists the local workspaces and each remote's replica by name (the
  remote's and the server's), with counts; choosing one switches every screen.
- ``FirstSyncDialog`` says what a first sync over local work will do before it runs, and
  offers to send the local work up (merge) or keep it as a separate workspace.
- ``credentials_form`` asks for every credential a remote's sources use (API token, store
  key, JWT). Without a keyring backend it says so at the top, before anything is typed, and
  offers to keep what is typed for this run only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from workbench.tui import format as fmt
from workbench.tui.screens.base import Dialog
from workbench.tui.screens.forms import ChoiceDialog, Field, FormDialog
from workbench.tui.widgets.key_line import Parts


class WorkspaceSwitcher(ChoiceDialog):
    """Every workspace of the store, by name, with its counts; enter opens the highlighted one."""

    HELP_SECTION = "Workspaces"

    def __init__(self, views: list[Any], current: str) -> None:
        self.views = views
        options = [(self.option_text(v, current), v.id) for v in views]
        super().__init__(
            "Workspaces — enter opens one on every screen; nothing is moved or deleted", options, highlighted=current,
            hint="enter: open · {choice.cancel}: cancel",
        )

    @staticmethod
    def option_text(view: Any, current: str) -> Group:
        mark = "[b]●[/] " if view.id == current else "  "
        where = f"replica of {fmt.esc(view.remote_url or '')}" if view.remote else "local (this machine only)"
        default = "  [dim](the CLI's default)[/]" if view.is_default else ""
        # The counts break between counts: word wrap ended a line at 80 columns with "21 test".
        counts = Parts(Text("    "), [Text(c) for c in view.counts], sep=" · ")
        return Group(fmt.markup_text(f"{mark}[b]{fmt.esc(view.label)}[/]  [dim]{where}[/]{default}"), counts)


class FirstSyncDialog(Dialog[str | None]):
    """The first sync over local work: what will happen, then merge, separate or cancel."""

    HELP_SECTION = "First sync"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "answer('merge')", "Send mine up (merge)"),
        Binding("s", "answer('separate')", "Keep separate"),
        Binding("escape", "answer(None)", "Cancel"),
    ]

    def __init__(self, plan: Any) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -wide"):  # scrolls on a small terminal; m, s and esc work anyway
            yield Static(f"Before the first sync with {fmt.esc(self.plan.remote)}", classes="title")
            yield Static(self.plan_text(), id="first-sync-text")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Keep separate (s)", id="separate", compact=True)
                yield Button("Send mine up (m)", id="merge", variant="primary", compact=True)
            yield Static("m: send mine up and open the server's workspace · s: keep separate · esc: cancel (nothing synced)",
                         classes="hint")

    def plan_text(self) -> Group:
        """The plan's words; a workspace's counts break between counts, as in the switcher (at 80
        columns a line began with "· 21 test sessions")."""
        return Group(
            fmt.plain(self.plan.intro),
            *(Parts(fmt.plain(f"  • {w.label}: "), [fmt.plain(c) for c in w.counts], sep=" · ") for w in self.plan.local),
            *(fmt.plain(line) for line in self.plan.outcome.split("\n")),
        )

    def on_mount(self) -> None:
        self.query_one("#separate", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_answer(self, value: str | None) -> None:
        self.dismiss(value)


def credentials_form(
    remote: str, url: str, saved: dict[str, str | None], *, rejected: str | None, keyring_problem: str | None,
    submit: Callable[[dict[str, str]], Any],
) -> FormDialog:
    """One form for every credential of ``remote``; ``submit`` gets the non-empty ones typed.

    A blank field keeps what is saved; the credential the server rejected must be typed
    again; with nothing saved, at least one is needed.
    """
    from workbench.domain.errors import Invalid
    from workbench.services import remotes

    fields = []
    for kind, (var, what) in remotes.SECRETS.items():
        state = "rejected by the server" if kind == rejected else ("saved" if saved.get(kind) else "not set")
        fields.append(Field(kind, f"{what[:1].upper()}{what[1:]} ({state})", "password",
                            placeholder=f"blank: {'keep the saved one' if saved.get(kind) and kind != rejected else 'skip'} ({var})"))

    def check(values: dict[str, Any]) -> Any:
        typed = {k: str(v).strip() for k, v in values.items() if str(v or "").strip()}
        if rejected is not None and rejected not in typed:
            raise Invalid(f"Enter a new {remotes.SECRETS[rejected][1]}: the server rejected the saved one")
        if not typed and not any(saved.values()):
            raise Invalid("Enter at least one credential (the API token syncs annotations), or press esc to cancel")
        return submit(typed)

    if keyring_problem is None:
        title = f"Credentials for {fmt.esc(remote)}"
        where = "kept in the system keyring"
        label = "Save and sync"
    else:
        title = (f"Credentials for {fmt.esc(remote)} — [b]no keyring[/]: {fmt.esc(keyring_problem)}. "
                 "What you type is kept for this run only (in memory), never written anywhere.")
        where = "kept for this run only"
        label = "Use for this run and sync"
    return FormDialog(
        title, fields, submit=check, submit_label=label, wide=True,
        hint=f"[dim]{fmt.esc(url)} · API token: sites and annotations · store API key: feedback sessions · JWT: test sessions; "
             f"{where}. {{form.save}}: {label.lower()} · {{form.cancel}}: cancel[/]",
    )
