"""Workspaces without surprises, in the TUI, against a real `workbench serve` over TCP.

The first sync of a store with local work (the demo's triage, replies and sessions) says
what will happen and lets the user choose; the switcher (``W``) lists every workspace by
its real name; the credentials prompt asks for all of a remote's credentials, and says so
first when no keyring can keep them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import keyring
import keyring.backends.fail
import pytest
from textual.widgets import OptionList

from storage import workspaces as workspaces_repo
from tests.conftest import ServerProcess, bearer
from tests.found import found
from tests.helpers import every_page
from tests.sync.keyring_backend import MemoryKeyring
from tests.tui.conftest import SIZE, errors, make_app, paste, press, screen_text, told, wait_for
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.domain.personas import PersonaCreate
from workbench.services import annotations as ann_svc
from workbench.services import personas as personas_svc
from workbench.services import remotes, workspaces
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.screens.forms import FormDialog
from workbench.tui.screens.workspaces import FirstSyncDialog, WorkspaceSwitcher

SERVER_NAME = "Acme Production"


class Served:
    def __init__(self, proc: ServerProcess, creds: dict) -> None:
        self.proc = proc
        self.url = proc.url
        self.creds = creds

    def personas(self) -> list[dict]:
        return every_page(httpx.get, f"{self.url}/api/personas/mine", bearer(self.creds["member_token"]))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A real server whose workspace is named differently from the local demo's, with three annotations."""
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    with wb.store.write() as db:
        workspaces_repo.rename(db, creds["workspace_id"], SERVER_NAME)
    for i in range(3):
        ann_svc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None,
                                   WidgetAnnotationCreate(page_url=f"https://shop.acme.example/p{i}", body=f"Server feedback {i}"))
    wb.store.close()
    proc = ServerProcess(data)
    yield Served(proc, creds)
    proc.stop()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


def as_text(renderable) -> str:
    """What a dialog's renderable says, laid out on one wide line per line."""
    import io

    from rich.console import Console

    console = Console(width=300, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def local_ws(wb: Workbench) -> str:
    return local_user(wb).workspace_id


async def sync_key_until_dialog(pilot, kind: type) -> None:
    await press(pilot, "S")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), timeout=20)


async def until_synced(pilot) -> None:
    await wait_for(pilot, lambda: not pilot.app.sync_running and pilot.app.sync_progress is None, timeout=60)
    await pilot.pause()


async def choose_workspace(pilot, label: str) -> None:
    """W, move the highlight to the workspace labelled ``label``, enter; wait until every screen shows it."""
    app = pilot.app
    await press(pilot, "W")
    assert isinstance(app.screen, WorkspaceSwitcher)
    target = next(v for v in app.screen.views if v.label == label)
    while app.screen.views[found(app.screen.query_one("#choices", OptionList).highlighted)].id != target.id:
        await press(pilot, "down")
    await press(pilot, "enter")
    mode = app.current_mode
    await wait_for(pilot, lambda: app.principal.workspace_id == target.id and not isinstance(app.screen, WorkspaceSwitcher)
                   and app.title.endswith(label))
    await wait_for(pilot, lambda: app.current_mode == mode and app.screen.is_mounted)
    await pilot.pause()


async def test_first_sync_explains_then_keeps_local_work_separate_and_the_switcher_names_both(served, demo_wb, memory_keyring):
    local = local_ws(demo_wb)
    before = workspaces.get(demo_wb, local)
    remotes.add(demo_wb, "origin", served.url, {"token": served.creds["member_token"]})
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await sync_key_until_dialog(pilot, FirstSyncDialog)
        said = as_text(cast("FirstSyncDialog", app.screen).plan_text())
        # Before anything happens: what the store holds, and what each choice does.
        assert "320 annotations · 383 replies · 8 feedback sessions · 21 test sessions" in said
        assert "Nothing here is deleted or hidden" in said and "merge:" in said and "separate:" in said
        assert demo_wb.store.db.execute("SELECT count(*) FROM sync_remotes WHERE workspace_id IS NOT NULL").fetchone()[0] == 0
        await press(pilot, "s")
        await until_synced(pilot)
        assert errors(app) == []
        assert app.principal.workspace_id == local  # the local work is still what every screen shows
        assert "Server feedback" not in screen_text(app)
        assert any("kept Acme Commerce as a separate local workspace" in m and f"origin · {SERVER_NAME}" in m for m in told(app))
        assert "Review Workbench — Acme Commerce" in screen_text(app)

        await press(pilot, "W")
        switcher = app.screen
        assert isinstance(switcher, WorkspaceSwitcher)
        shown = screen_text(app)
        assert f"origin · {SERVER_NAME}" in shown and "replica of " + served.url in shown
        assert "3 annotations" in shown and "320 annotations · 383 replies · 8 feedback sessions · 21 test sessions" in shown
        assert "origin store" not in shown
        await press(pilot, "escape")

        await choose_workspace(pilot, f"origin · {SERVER_NAME}")
        assert "Server feedback" in screen_text(app) and f"Review Workbench — origin · {SERVER_NAME}" in screen_text(app)
        await press(pilot, "2")  # every screen follows, not only the inbox
        assert isinstance(app.screen, WorkbenchScreen)
        assert app.screen.principal.workspace_id != local

        await choose_workspace(pilot, "Acme Commerce")
        assert app.current_mode == "feedback"  # the screen the user was on, now over the local workspace
        await press(pilot, "1")
        assert "Server feedback" not in screen_text(app)
    # Nothing was moved or deleted, and the CLI's default is still the local workspace.
    assert workspaces.get(demo_wb, local).annotations == before.annotations == 320
    assert local_user(demo_wb).workspace_id == local


async def test_first_sync_merge_sends_what_the_api_can_create_and_opens_the_servers_workspace(served, demo_wb, memory_keyring):
    local = local_ws(demo_wb)
    personas_svc.create(demo_wb, local_user(demo_wb), PersonaCreate(name="Checkout pedant", category="commerce", description="Reads every total"))
    remotes.add(demo_wb, "origin", served.url, {"token": served.creds["member_token"]})
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await sync_key_until_dialog(pilot, FirstSyncDialog)
        assert "(1 custom persona)" in as_text(cast("FirstSyncDialog", app.screen).plan_text())
        await press(pilot, "m")
        await until_synced(pilot)
        await wait_for(pilot, lambda: app.principal.workspace_id != local)
        await pilot.pause()
        assert errors(app) == []
        assert any("sent 1 custom persona(s) of Acme Commerce" in m for m in told(app)), told(app)
        assert "Server feedback" in screen_text(app)
        await press(pilot, "W")
        assert "320 annotations" in screen_text(app)  # the local work is one switch away
    assert [p["name"] for p in served.personas() if p["name"] == "Checkout pedant"] == ["Checkout pedant"]
    assert workspaces.get(demo_wb, local).annotations == 320


async def test_the_credentials_prompt_asks_for_every_credential_and_keeps_each(served, tmp_path, memory_keyring):
    wb = Workbench.open(str(tmp_path / "fresh"), mailer=None)
    remotes.add(wb, "origin", served.url)
    app = make_app(wb)
    async with app.run_test(size=SIZE) as pilot:
        await sync_key_until_dialog(pilot, FormDialog)
        form = app.screen
        assert isinstance(form, FormDialog)
        assert [f.name for f in form.fields] == ["token", "store_key", "jwt"]
        await paste(pilot, served.creds["member_token"])  # into the first field, focused: secrets are pasted, not typed
        await press(pilot, "tab")
        assert found(app.screen.focused).id == "field-store_key"
        form.set_value("store_key", served.creds["store_api_key"])
        await press(pilot, "tab")
        assert found(app.screen.focused).id == "field-jwt"
        form.set_value("jwt", served.creds["jwt"])
        await press(pilot, "ctrl+s")
        await until_synced(pilot)
        assert errors(app) == []
    saved, sources = remotes.load_secrets(wb, "origin", env={})
    assert sources == {"token": "keyring", "store_key": "keyring", "jwt": "keyring"}
    assert saved["store_key"] == served.creds["store_api_key"]
    # The store key and the JWT were used: the store (by its real name) and the study came down.
    db = wb.store.db
    assert db.execute("SELECT name FROM stores").fetchall() == [("Acme storefront (AI-built)",)]
    assert db.execute("SELECT name FROM studies").fetchall() == [("Checkout usability study",)]
    wb.store.close()


async def test_without_a_keyring_it_says_so_before_asking_and_keeps_them_for_this_run_only(served, tmp_path, no_keyring):
    wb = Workbench.open(str(tmp_path / "fresh"), mailer=None)
    remotes.add(wb, "origin", served.url)
    app = make_app(wb)
    async with app.run_test(size=SIZE) as pilot:
        await sync_key_until_dialog(pilot, FormDialog)
        # Said at the top, before anything is typed; the button does not claim to save.
        shown = screen_text(app)
        assert "no keyring" in shown and "kept for this run only" in shown
        assert "Save and sync" not in shown and "Use for this run and sync" in shown
        await paste(pilot, served.creds["member_token"])
        await press(pilot, "enter")
        await until_synced(pilot)
        assert errors(app) == []
        assert any("Kept for this run only" in m for m in told(app))
        assert not any("system keyring" in m and "saved" in m.lower() for m in told(app))
        n = wb.store.db.execute("SELECT count(*) FROM annotations").fetchone()[0]
        assert n == 3
        # The same run syncs again without asking.
        await press(pilot, "S")
        assert not isinstance(app.screen, FormDialog)
        await until_synced(pilot)
        assert errors(app) == []
    assert remotes.load_secrets(wb, "origin", env={})[1]["token"] == "missing"  # nothing was written anywhere
    wb.store.close()


async def test_workspaces_key_is_in_help_and_palette(demo_wb):
    from workbench.tui.help import binding_rows
    from workbench.tui.keys import all_binding_ids, keys_of

    assert "app.workspaces" in all_binding_ids() and keys_of("app.workspaces") == ["W"]
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rows = [(key, description) for _, key, description, _, _ in binding_rows(app.screen)]
        assert ("W", "Workspaces…") in rows
        await press(pilot, "W")
        assert isinstance(app.screen, WorkspaceSwitcher)
        assert "Acme Commerce" in screen_text(app) and "local (this machine only)" in screen_text(app)


@pytest.mark.parametrize("width", [80, 60])
async def test_the_switcher_breaks_a_workspaces_counts_between_counts_never_inside_one(demo_wb, width):
    """At 80 columns the demo's counts ended one line with "21 test" and the next with "sessions"."""
    counts = workspaces.get(demo_wb, local_ws(demo_wb)).counts_text.split(" · ")
    app = make_app(demo_wb)
    async with app.run_test(size=(width, 24)) as pilot:
        await press(pilot, "W")
        assert isinstance(app.screen, WorkspaceSwitcher)
        await pilot.pause()
        lines = screen_text(app).splitlines()
        for count in counts:
            assert any(count in line for line in lines), (count, lines)


async def test_the_first_sync_dialog_breaks_the_counts_between_counts(demo_wb):
    """At 80 columns the first sync's explanation ended a line with "9 feedback sessions" and began
    the next with "· 21 test sessions", the separator first, under no indent."""
    from workbench.services.first_sync import Plan

    view = workspaces.get(demo_wb, local_ws(demo_wb))
    app = make_app(demo_wb)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(FirstSyncDialog(Plan("origin", "http://127.0.0.1:9", [view])))
        await wait_for(pilot, lambda: isinstance(app.screen, FirstSyncDialog))
        await pilot.pause()
        lines = [line.strip(" █") for line in screen_text(app).splitlines()]
        for count in view.counts:
            assert any(count in line for line in lines), (count, lines)
        assert not any(line.startswith("·") for line in lines), [line for line in lines if "·" in line]
        assert any(line.startswith(f"• {view.label}: {view.counts[0]}") for line in lines), lines


def test_the_credentials_form_names_each_credential_as_its_field_does() -> None:
    # One name per concept: the hint under the fields said "store key" of the field labelled
    # "Store API key for feedback sessions".
    from workbench.tui.screens.workspaces import credentials_form

    form = credentials_form("origin", "http://team:11001", {}, rejected=None, keyring_problem=None, submit=lambda _: None)
    for _, what in remotes.SECRETS.values():
        name = what.split(" for ")[0].split(" (")[0]  # "API token", "store API key", "JWT"
        assert f"{name}: " in form.hint, (name, form.hint)
