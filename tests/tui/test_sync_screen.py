"""The TUI side of sync against an in-process server: the sync line, the sync key, the sync screen.

The server is the real app (``workbench.server``) behind a Starlette TestClient, reached
through the httpx transport the sync tests use (``tests.sync.conftest.Bridge``); the app
gets it through ``sync_options``. Credentials live in an in-memory keyring, as a user's
would in the system keyring.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS
from tests.sync.conftest import Bridge, Hub, Replica
from tests.sync.keyring_backend import MemoryKeyring
from tests.tui.conftest import FIXED_MS, SIZE, errors, make_app, paste, press, screen_text, told, wait_for
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, RunPersonasRequest, WidgetAnnotationCreate
from workbench.server.app import create_app
from workbench.services import annotations as ann_svc
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.tui.help import binding_rows
from workbench.tui.screens.forms import ChoiceDialog, FormDialog
from workbench.tui.screens.sync import SyncScreen
from workbench.tui.widgets.virtual_list import VirtualList


class ClockHub(Hub):
    """The sync tests' hub, with one clock for the server and its replicas (a snapshot needs fixed times and ids)."""

    def __init__(self, tmp: Path, clock=None) -> None:
        self.tmp = tmp
        self.clock = clock
        self.wb = Workbench.open(str(tmp / "server"), mailer=None, **({"clock": clock} if clock else {}))
        self.creds = bootstrap(self.wb)
        self.tc = TestClient(create_app(self.wb, TEST_SETTINGS))
        self.tc.__enter__()
        self.replicas: list[Replica] = []

    def replica(self, name: str | None = None, token: str | None = None, *, sessions: bool = False) -> Replica:
        r = Replica.__new__(Replica)
        r.wb = Workbench.open(str(self.tmp / f"replica{len(self.replicas)}"), mailer=None, **({"clock": self.clock} if self.clock else {}))
        r.bridge, r.token, r.store_key, r.jwt, r.name = Bridge(self.tc), token or self.creds["member_token"], None, None, "origin"
        remotes.add(r.wb, "origin", "http://testserver")
        self.replicas.append(r)
        return r


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ClockHub]:
    h = ClockHub(tmp_path)
    yield h
    h.close()


def seed(hub: Hub, n: int) -> list[str]:
    return [
        ann_svc.submit_from_widget(
            hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None,
            WidgetAnnotationCreate(page_url=f"https://shop.acme.example/p{i}", body=f"Feedback number {i}"),
        ).id
        for i in range(n)
    ]


def status_of(wb: Workbench, ann_id: str) -> str:
    return wb.store.db.execute("SELECT status FROM annotations WHERE id = ?", [ann_id]).fetchone()[0]


def app_for(r: Replica, **kwargs):
    """The app over a replica, syncing through the in-process server; its token is in the keyring."""
    remotes.save_secrets(r.wb, r.name, {"token": r.token})
    return make_app(r.wb, sync_options={"transport": r.bridge, "sleep": lambda s: None}, **kwargs)


def conflicted_and_refused(hub: ClockHub) -> tuple[list[str], Replica]:
    """A replica with one conflict (status: won't fix here, resolved on the server) and one refusal."""
    ids = seed(hub, 2)
    r = hub.replica()
    assert r.sync().ok
    me = r.me
    ann_svc.patch(r.wb, me, ids[0], AnnotationPatch(status="won_t_fix"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(status="resolved"))
    ann_svc.patch(r.wb, me, ids[1], AnnotationPatch(assignee_id="not-a-member"))
    rep = r.sync()
    assert rep.ok and rep.conflicts == 1 and rep.refused == 1
    return ids, r


def line(app) -> str:
    """The sync line of the current screen."""
    from workbench.tui.widgets.sync_line import SyncLine

    return str(app.screen.query_one(SyncLine).render())


async def run_sync_key(pilot) -> None:
    await press(pilot, "S")
    await wait_for(pilot, lambda: not pilot.app.sync_running, timeout=20)
    await pilot.pause()


async def test_the_sync_notice_says_how_many_pictures_came(hub):
    """The pictures of a pull were fetched without a word: the notice counts them."""
    import base64

    from tests.images import PNG

    ann_svc.submit_from_widget(hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None, WidgetAnnotationCreate(
        page_url="https://shop.acme.example/p", body="with a picture",
        screenshot="data:image/png;base64," + base64.b64encode(PNG).decode()))
    app = app_for(hub.replica())
    async with app.run_test(size=SIZE) as pilot:
        await run_sync_key(pilot)
        assert errors(app) == []
        assert any("· 1 picture fetched" in m for m in told(app)), told(app)


async def test_sources_left_unsynced_for_want_of_a_credential_are_said_in_the_tuis_words(hub):
    """The notice named `workbench remote login origin --only store_key` and WORKBENCH_STORE_KEY, one
    long line per source: in the TUI the remedy is its credentials form, and one sentence says so."""
    app = app_for(hub.replica())  # an API token only: feedback and test sessions cannot be pulled
    async with app.run_test(size=SIZE) as pilot:
        await run_sync_key(pilot)
        [notice] = [m for m in told(app) if "sent 0" in m]
        assert notice.splitlines()[-1] == (
            "Feedback sessions and test sessions were not synced, for want of a credential: K opens the credentials form.")
        assert "remote login" not in notice and "WORKBENCH_" not in notice
        await press(pilot, "K")  # the form, though a credential is saved (it came up only with none or a rejected one)
        await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
        assert "Credentials for origin" in screen_text(app)
    # The CLI keeps its words, for a shell.
    report = sync_svc.run_sync(hub.replicas[0].wb, "origin", credentials={"token": hub.creds["member_token"]},
                               transport=hub.replicas[0].bridge, sleep=lambda s: None)
    assert any("remote login origin --only store_key" in note for note in report.notes)


async def test_a_sync_that_cannot_reach_the_server_does_not_blame_a_missing_credential(demo_wb, memory_keyring):
    import httpx

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    remotes.add(demo_wb, "origin", "http://127.0.0.1:9", {"token": "gfat_" + "x" * 43})
    app = make_app(demo_wb, sync_options={"transport": httpx.MockTransport(refused), "sleep": lambda s: None})
    async with app.run_test(size=SIZE) as pilot:
        from workbench.tui.screens.workspaces import FirstSyncDialog

        await press(pilot, "S")
        if isinstance(app.screen, FirstSyncDialog):  # the first sync over the demo's work: keep it separate
            await press(pilot, "s")
        await wait_for(pilot, lambda: any("cannot reach" in m for m in told(app)), timeout=20)
        [notice] = [m for m in told(app) if "cannot reach" in m]
    assert "want of a credential" not in notice, notice


# -- the sync line ------------------------------------------------------------------------


async def test_without_a_remote_the_line_says_how_to_add_one(demo_wb):
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("1", "2", "3", "4", "5"):
            await press(pilot, key)
            assert "no remote — `workbench remote add NAME URL`" in screen_text(app)
        await press(pilot, "S")
        assert any("no remote yet" in m for m in told(app))
        assert not app.sync_running


async def test_sync_key_sends_pending_changes_and_the_line_counts_them(hub):
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    ann_svc.reply(r.wb, r.me, ids[0], ReplyCreate(body="seen on iOS too"))
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="triaged"))
    seed(hub, 2)  # someone else's work, to bring down
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "origin · synced" in line(app) and "2 pending · 0 conflicts · 0 refused" in line(app)
        await run_sync_key(pilot)
        assert errors(app) == []
        assert any("sent 2 · received" in m and "0 conflicts · 0 refused" in m for m in told(app)), told(app)
        assert "0 pending · 0 conflicts · 0 refused" in line(app)
        assert "origin · synced just now" in line(app)
    assert status_of(hub.wb, ids[0]) == "triaged"
    n = hub.wb.store.db.execute("SELECT count(*) FROM replies WHERE body = 'seen on iOS too'").fetchone()[0]
    assert n == 1
    assert r.wb.store.db.execute("SELECT count(*) FROM annotations").fetchone()[0] == 3


async def test_progress_shows_on_the_line_while_syncing(hub):
    seed(hub, 3)
    r = hub.replica()
    app = app_for(r)
    seen: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        original = app._draw_sync_lines

        def draw() -> None:
            original()
            if app.sync_progress is not None:
                seen.append(line(app))

        app._draw_sync_lines = draw  # type: ignore[method-assign]
        await run_sync_key(pilot)
    assert seen and all("origin · syncing" in s for s in seen)
    assert any("annotations" in s for s in seen), seen


async def test_a_rejected_token_is_asked_for_kept_and_the_sync_runs_again(hub, memory_keyring):
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    ann_svc.reply(r.wb, r.me, ids[0], ReplyCreate(body="waiting"))
    good = r.token
    r.token = "gfat_" + "x" * 43
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "S")
        await wait_for(pilot, lambda: isinstance(app.screen, FormDialog), timeout=20)
        assert any("Unknown API token" in m for m in told(app))
        assert "1 pending" in str(app.screen_stack[-2].query_one("SyncLine").render())
        await paste(pilot, good)  # a token is pasted, not typed
        await press(pilot, "enter")
        await wait_for(pilot, lambda: not app.sync_running and not isinstance(app.screen, FormDialog), timeout=20)
        await pilot.pause()
        assert any("Synced" in m or "sent 1" in m for m in told(app)), told(app)
        assert "0 pending" in line(app)
    assert remotes.load_secrets(r.wb, "origin", env={})[0]["token"] == good
    assert hub.wb.store.db.execute("SELECT count(*) FROM replies WHERE body = 'waiting'").fetchone()[0] == 1


async def test_a_failed_sync_is_told_never_a_crash(hub):
    r = hub.replica()
    app = app_for(r)
    r.bridge.offline = True
    async with app.run_test(size=SIZE) as pilot:
        await run_sync_key(pilot)
        assert app.is_running
        assert any("offline" in m.lower() or "connect" in m.lower() or "stopped" in m.lower() for m in told(app)), told(app)


def sync_ended(monkeypatch) -> threading.Event:
    """Set when the app's sync thread leaves ``run_sync``, however it ends."""
    ended = threading.Event()
    run_sync = sync_svc.run_sync

    def tracked(*args, **kwargs):
        try:
            return run_sync(*args, **kwargs)
        finally:
            ended.set()

    monkeypatch.setattr(sync_svc, "run_sync", tracked)
    return ended


async def test_quitting_during_a_sync_stops_it_at_its_next_wait(hub, monkeypatch):
    """The server down, the sync waits to retry (here 12 to 24 s a wait, four of them): quitting
    cleared the screen, then the app's exit waited out every wait of the sync's thread."""
    from sync import client as sync_client

    monkeypatch.setattr(sync_client, "BACKOFF_BASE", 24.0)
    monkeypatch.setattr(sync_client, "BACKOFF_CAP", 24.0)
    ended = sync_ended(monkeypatch)
    r = hub.replica()
    remotes.save_secrets(r.wb, r.name, {"token": r.token})
    app = make_app(r.wb, sync_options={"transport": r.bridge})  # no test sleep: the app's own waits
    r.bridge.offline = True
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "S")
        await wait_for(pilot, lambda: app.sync_running)
        asked = time.monotonic()
        await press(pilot, "q")
    assert await asyncio.to_thread(ended.wait, 10)
    assert time.monotonic() - asked < 10
    assert not any("Sync failed" in m for m in told(app))


@pytest.fixture
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """A real TCP listener that accepts connections and never answers: its URL, and set once one is accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted, held, done = threading.Event(), [], threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            accepted.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    done.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


async def test_quitting_ends_a_sync_request_in_flight_and_keeps_the_change(hub, silent_server, monkeypatch):
    """A server that took the connection and never answers: the request waited out its whole
    timeout (30 s) before the sync's thread reached a wait it could stop at, the process's exit with it."""
    url, accepted = silent_server
    [ann_id] = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    ann_svc.patch(r.wb, r.me, ann_id, AnnotationPatch(status="ack"))
    synced_at = sync_svc.status(r.wb, r.name).last_sync_at
    ended = sync_ended(monkeypatch)
    with r.wb.store.write() as db:
        db.execute("UPDATE sync_remotes SET url = ? WHERE name = ?", [url, r.name])
    remotes.save_secrets(r.wb, r.name, {"token": r.token})
    app = make_app(r.wb)  # the real transport, as users run it
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "S")
        await wait_for(pilot, accepted.is_set, timeout=10)
        asked = time.monotonic()
        await press(pilot, "q")
    assert await asyncio.to_thread(ended.wait, 5)
    assert time.monotonic() - asked < 5
    status = sync_svc.status(r.wb, r.name)
    assert status.pending == 1  # not acknowledged: still in the outbox, its key kept for the retry
    assert status.last_sync_at == synced_at and status.last_error is None  # a stop is no sync, nor a failure
    assert not any("Sync failed" in m for m in told(app))


# -- the sync screen ----------------------------------------------------------------------


async def test_the_sync_lists_offer_no_open_which_they_do_not_have(demo_wb):
    """QA: the footer offered "⏎ Open" on the conflicts and the refusals, and enter did nothing, on a row
    or on none: their rows are acted on by m/t/r/x. Neither the footer nor the help offers it now, and
    enter changes nothing. A list that opens its rows still offers it, and says so when it is empty."""
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5")
        screen = app.screen
        assert isinstance(screen, SyncScreen) and app.focused is screen.conflict_list and screen.conflict_list.total == 0
        for pane in (screen.conflict_list, screen.refusal_list):
            pane.focus()
            await pilot.pause()
            assert "⏎ Open" not in screen_text(app).splitlines()[-1]
            assert not [k for _, k, _, _, action in binding_rows(screen) if action == "activate"]
            await press(pilot, "enter")
            assert app.screen is screen and told(app) == [] and not errors(app)
        await press(pilot, "1")
        assert "⏎ Open" in screen_text(app).splitlines()[-1]
        await press(pilot, "slash")
        await paste(pilot, "qqqqzzzz")
        await press(pilot, "enter")
        inbox_list = app.screen.query_one("#inbox-list", VirtualList)
        await wait_for(pilot, lambda: inbox_list.total == 0)
        inbox_list.focus()
        await press(pilot, "enter")
        assert told(app)[-1:] == [inbox_list.empty_text]
        assert [n.title for n in app._notifications if n.message == told(app)[-1]] == ["Nothing to open"]


async def test_sync_screen_lists_conflicts_and_refusals_with_the_servers_reason(hub):
    _ids, r = conflicted_and_refused(hub)
    [refusal] = sync_svc.refusals(r.wb)
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # the sync line is read just after the first frame
        assert "1 conflict · 1 refused" in line(app)
        await press(pilot, "5")
        assert isinstance(app.screen, SyncScreen)
        text = screen_text(app)
        assert "Conflicts (1)" in text and "Refused changes (1)" in text
        row = next(ln for ln in text.splitlines() if "Feedback number 0" in ln)
        assert "status" in row and "new" in row and "won't fix" in row and "resolved" in row
        assert "change assignee of annotation" in text
        await press(pilot, "tab")  # the refusal's full reason, verbatim, in the preview
        assert refusal.reason and refusal.reason in " ".join(screen_text(app).split())


async def test_at_80_columns_both_sides_of_a_conflict_and_a_refusals_time_are_on_the_row(hub):
    """The columns were wider than 80: the screen's edge cut THEIRS (the server's side of a conflict) and WHEN."""
    _ids, r = conflicted_and_refused(hub)
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "5")
        lines = screen_text(app).splitlines()
        assert any(ln.split()[-2:] == ["MINE", "THEIRS"] for ln in lines), lines
        row = next(ln for ln in lines if "Feedback number 0" in ln)
        assert row.rstrip().endswith("resolved"), row  # theirs, last, not cut
        assert any(ln.split()[-1:] == ["WHEN"] for ln in lines), lines


async def test_keep_mine_then_sync_sends_mine(hub):
    ids, r = conflicted_and_refused(hub)
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5", "m")
        assert errors(app) == []
        assert sync_svc.conflicts(r.wb) == []
        assert "Conflicts (0)" in screen_text(app)
        assert "0 conflicts" in line(app) and "1 pending" in line(app)
        await run_sync_key(pilot)
        assert "0 pending · 0 conflicts · 1 refused" in line(app)
    assert status_of(r.wb, ids[0]) == "won_t_fix" and status_of(hub.wb, ids[0]) == "won_t_fix"


async def test_take_theirs_takes_the_servers_value(hub):
    ids, r = conflicted_and_refused(hub)
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5", "t")
        assert errors(app) == []
        assert sync_svc.conflicts(r.wb) == [] and status_of(r.wb, ids[0]) == "resolved"
        assert "0 conflicts" in line(app) and "0 pending" in line(app)
        await press(pilot, "t")  # nothing left: told, not a crash
        assert any("No conflict" in m for m in told(app))
    assert status_of(hub.wb, ids[0]) == "resolved"


async def test_retry_and_discard_refusals(hub):
    ids = seed(hub, 2)
    guest = hub.replica(token=hub.creds["guest_token"])
    assert guest.sync().ok
    me = guest.me
    replies = ann_svc.run_personas(guest.wb, me, ids[0], RunPersonasRequest())
    ann_svc.patch(guest.wb, me, ids[1], AnnotationPatch(assignee_id="not-a-member"))
    assert guest.sync().refused == 2
    app = app_for(guest)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5")
        text = screen_text(app)
        assert "Refused changes (2)" in text and "Insufficient role" in text and "403" in text
        # What x does to these (annotations' changes), in README's words; not "(undo here)", which read as u.
        assert "x discard: undoes it here at once" in text and "undo here" not in text
        assert "2 refused" in line(app)
        # Retry the first (persona run): pending again, refused again by the next sync.
        assert isinstance(app.screen, SyncScreen)
        first = app.screen.refusal_list.current if app.screen.refusal_list.total else None
        assert first is not None
        await press(pilot, "r")
        assert [x.seq for x in sync_svc.refusals(guest.wb)] != [] and first.seq not in {x.seq for x in sync_svc.refusals(guest.wb)}
        assert "1 pending" in line(app) and "1 refused" in line(app)
        await run_sync_key(pilot)
        assert "0 pending" in line(app) and "2 refused" in line(app)
        # Discard both (after a confirmation): undone here.
        for _ in range(2):
            await press(pilot, "x")
            assert app.screen.__class__.__name__ == "ConfirmDialog"
            await press(pilot, "y")
        assert errors(app) == []
        assert sync_svc.refusals(guest.wb) == [] and "0 refused" in line(app)
        assert "Refused changes (0)" in screen_text(app)
    gdb = guest.wb.store.db
    assert gdb.execute(f"SELECT count(*) FROM replies WHERE id IN ({','.join('?' for _ in replies)})", [x.id for x in replies]).fetchone()[0] == 0
    assert gdb.execute("SELECT assignee_id FROM annotations WHERE id = ?", [ids[1]]).fetchone()[0] is None


async def test_a_refused_choice_is_told_not_a_crash(hub):
    _ids, r = conflicted_and_refused(hub)
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5")
        [c] = sync_svc.conflicts(r.wb)
        sync_svc.take_theirs(r.wb, c.id)  # settled elsewhere (another window) before this one refreshed
        await press(pilot, "m")
        assert any("No open conflict" in m for m in errors(app))
        assert app.is_running and "Conflicts (0)" in screen_text(app)


def test_sync_keys_are_rebindable_and_in_the_palette():
    from workbench.tui import keys

    ids = keys.all_binding_ids()
    assert {"app.sync", "app.sync_screen", "sync.keep_mine", "sync.take_theirs", "sync.retry", "sync.discard"} <= ids
    assert '"app.sync" = "S"' in keys.describe_bindings()


async def test_sync_is_a_palette_command_on_every_screen(demo_wb):
    from workbench.tui.help import binding_rows

    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("1", "5"):
            await press(pilot, key)
            assert any(action == "app.sync" for *_, action in binding_rows(app.screen))
        assert {action for *_, action in binding_rows(app.screen)} >= {"keep_mine", "take_theirs", "retry", "discard"}


# -- snapshot -----------------------------------------------------------------------------


def test_snapshot_sync_screen(snap_compare, tmp_path, seeded_ids, monkeypatch):
    monkeypatch.setenv("WORKBENCH_KEYS", "/home/you/.config/workbench/keys.toml")
    ticks = itertools.count(FIXED_MS)
    h = ClockHub(tmp_path, clock=lambda: next(ticks))
    try:
        _, r = conflicted_and_refused(h)
        app = app_for(r, cursor_blink=False)
        assert snap_compare(app, press=["5"], terminal_size=SIZE)
    finally:
        h.close()


async def test_keep_mine_reopening_drops_the_servers_stale_summary(hub):
    """Issue 12 bug 6: kept "ack" over the server's "resolved": its summary no longer holds."""
    [ann_id] = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    ann_svc.patch(r.wb, r.me, ann_id, AnnotationPatch(status="ack"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ann_id, AnnotationPatch(status="resolved", summary="Fixed on the server"))
    assert r.sync().conflicts == 1
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5", "m")
        assert errors(app) == []
        got = ann_svc.get(r.wb, r.me, ann_id)
        assert (got.status, got.summary) == ("ack", None)
        await run_sync_key(pilot)
    server = ann_svc.get(hub.wb, local_user(hub.wb), ann_id)
    assert (server.status, server.summary) == ("ack", None)


async def test_assign_on_a_replica_offers_the_servers_members(hub):
    """Issue 12 bug 14: not the local "me" the server refuses, but the members the server has."""

    [ann_id] = seed(hub, 1)
    owner = local_user(hub.wb)
    r = hub.replica()
    assert r.sync().ok
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "A")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        assert [v for _, v in dialog.options] == [""]  # no server member seen yet: only unassign
        assert any("No members of the server's workspace are known here yet" in m for m in told(app))
        await press(pilot, "escape")
        ann_svc.reply(hub.wb, owner, ann_id, ReplyCreate(body="Looking into it"))  # the owner shows up
        await run_sync_key(pilot)
        await press(pilot, "A")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        values = [v for _, v in dialog.options]
        assert values == ["", owner.user_id] and app.principal.user_id not in values
        assert owner.display_name in " ".join(str(label) for label, _ in dialog.options)
        await press(pilot, "down", "enter")
        assert ann_svc.get(r.wb, app.principal, ann_id).assignee_id == owner.user_id
        await run_sync_key(pilot)
        assert "0 refused" in line(app) or "refused" not in line(app)
    assert ann_svc.get(hub.wb, owner, ann_id).assignee_id == owner.user_id
    assert sync_svc.refusals(r.wb) == []


async def test_with_two_remotes_each_row_and_its_preview_name_its_remote(tmp_path):
    """The lists hold every remote's rows: a conflict or refusal row that named no server left the
    reviewer to guess which one to settle it with."""
    from tests.sync.test_two_remotes_listings import Both, a_conflict_and_a_refusal

    both = Both(tmp_path)
    try:
        for name in both.hubs:
            a_conflict_and_a_refusal(both, name)
        app = make_app(both.wb)
        async with app.run_test(size=(160, 40)) as pilot:
            await press(pilot, "5")
            assert isinstance(app.screen, SyncScreen)
            rows = [ln for ln in screen_text(app).splitlines() if "feedback 0" in ln or "change assignee" in ln]
            for name in both.hubs:  # "origin · origin feedback 0", "backup · change assignee of …"
                assert any(f"{name} · {name} feedback 0" in ln for ln in rows), rows
                assert sum(f"{name} · change assignee" in ln for ln in rows) == 1, rows
            await press(pilot, "tab")
            await wait_for(pilot, lambda: "refused by " in screen_text(app))
    finally:
        both.close()


async def test_at_80_columns_the_sync_line_still_says_a_sync_failed(demo_wb):
    """QA: after a failed sync the line read "… · 0 refused · last sync" at 80 columns: cut in the failure's
    reason, it no longer said the sync had failed, and the "S sync" hint after it was gone. Where the reason
    does not fit, "sync failed" takes the last sync's place and the hint stays; wide, the reason is back."""
    from storage import sync_state

    remotes.add(demo_wb, "origin", "http://127.0.0.1:9")
    sync_state.update_remote(demo_wb.store.db, "origin", last_error="cannot reach http://127.0.0.1:9: connection refused (ConnectError)")
    app = make_app(demo_wb)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "origin" in line(app))
        await pilot.pause()
        shown = next(ln for ln in screen_text(app).splitlines() if "⇅" in ln).strip()
        assert shown == "⇅ origin · sync failed · 0 pending · 0 conflicts · 0 refused   S sync", shown
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: "connection refused" in screen_text(app))
        shown = next(ln for ln in screen_text(app).splitlines() if "⇅" in ln).strip()
        assert shown.endswith("· last sync failed: cannot reach http://127.0.0.1:9: connection refused (ConnectError)   S sync"), shown


async def test_the_conflicts_list_is_headed_about_what_not_annotation(hub):
    """QA: a test note's conflict sat under an "ANNOTATION" header, and its preview named its kind
    "test_note", the stored word: the list holds annotations and notes, and the CLI heads it ABOUT."""
    _ids, r = conflicted_and_refused(hub)
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "5")
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        header = next(ln for ln in screen_text(app).splitlines() if "FIELD" in ln and "MINE" in ln)
        assert header.split()[0] == "ABOUT", header
        note = sync_svc.ConflictView(1, "test_note", "note_1", "content", "was", "mine", "theirs",
                                     "a note of user_demo205's test session (Search results study)", "origin")
        assert "test note note_1" in screen.preview_of(screen.conflict_list, note).plain


async def test_discarding_a_sessions_refused_change_says_the_next_sync_brings_the_servers(tmp_path: Path):
    """QA: discarding an offline pause the server refused (the session was completed there) said "It is
    undone here, so this store matches the server again", yet the session still read paused: a
    session's discard leaves the row to the next pull. An annotation's is put back at once, as said."""
    from workbench.domain.test_sessions import CompleteRequest, TestSessionCreate
    from workbench.services import test_sessions as ts_svc

    hub = Hub(tmp_path)
    try:
        owner = local_user(hub.wb)
        sid = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=hub.creds["job_id"], testerId="tester-9")).id
        r = hub.replica(sessions=True)
        assert r.sync().ok
        ts_svc.pause(r.wb, r.me, sid)
        ts_svc.complete(hub.wb, owner, sid, CompleteRequest())
        assert r.sync().refused == 1
        app = app_for(r)
        async with app.run_test(size=(200, 50)) as pilot:
            await press(pilot, "5")
            assert isinstance(app.screen, SyncScreen)
            # The list's header says it too, before x is pressed: a session's change is not undone here.
            text = " ".join(screen_text(app).split())
            assert "x discard: it stays shown until the next sync brings the server's version" in text, text
            assert "undoes it here" not in text
            await press(pilot, "tab", "x")
            text = " ".join(screen_text(app).split())
            assert "the next sync brings the server's version here" in text and "matches the server again" not in text
            await press(pilot, "y")
            await wait_for(pilot, lambda: any(m.startswith("Discarded: pause tester-9's test session") for m in told(app)))
            assert any("(the next sync brings the server's version)" in m for m in told(app) if m.startswith("Discarded"))
    finally:
        hub.close()


async def test_at_160_columns_a_reason_a_little_too_long_is_cut_not_dropped(demo_wb):
    """QA: at 160 columns, offline, the line said only "sync failed": the reason (a refused connection to
    the remote's URL) ran a few cells past the line, so all of it was dropped. Now it is cut with "…"."""
    from storage import sync_state

    url = "http://127.0.0.1:11411"
    remotes.add(demo_wb, "origin", url)
    sync_state.update_remote(demo_wb.store.db, "origin", last_error=f"cannot reach {url}: connection refused (ConnectError) " + "x" * 12)
    app = make_app(demo_wb)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: "origin" in line(app))
        await pilot.pause()
        shown = next(ln for ln in screen_text(app).splitlines() if "⇅" in ln).strip()
        assert f"· last sync failed: cannot reach {url}: connection refused" in shown, shown
        assert "…" in shown and shown.endswith("   S sync"), shown


async def test_the_hint_to_screen_5_says_settle_the_glossarys_word_not_resolve(hub):
    """QA: after a sync with a conflict, the notice said "5: resolve conflicts and refusals" and the line
    "5 resolve", where `r Resolve…` sets an annotation's status: conflicts are settled (README's glossary)."""
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="won_t_fix"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(status="triaged"))
    app = app_for(r)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await run_sync_key(pilot)
        assert any("5: settle conflicts and refusals" in m for m in told(app)), told(app)
        assert line(app).endswith("S sync · 5 settle"), line(app)
        assert not any("resolve" in m for m in told(app))


def test_the_refusals_header_says_what_x_does_to_the_rows_listed():
    """Each op's discard as README words it: an annotation's undone here at once, a session's kept
    until the next sync; a list holding both, or none yet, says both."""
    from types import SimpleNamespace

    from workbench.tui.screens.sync import discard_says

    annotation, session = SimpleNamespace(op="annotation.patch"), SimpleNamespace(op="test.pause")
    assert discard_says([annotation]) == "x discard: undoes it here at once"
    assert "until the next sync brings the server's version" in discard_says([session])
    both = discard_says([annotation, session])
    assert discard_says([]) == both  # an empty list: what x would do to each kind
    assert "an annotation's is undone here at once" in both and both.endswith("a session's when the next sync brings the server's version")


async def test_at_80_columns_the_header_names_the_replicas_workspace_whole(hub):
    """At 80 columns the header (remote, URL, last sync, workspace) was cut by the screen's edge in the
    workspace's name ("workspace origin · Acme"), the one part that says which replica the lists are
    of; the URL (in `workbench remote list`) gives its cells first."""
    _ids, r = conflicted_and_refused(hub)
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "5")
        header = next(ln for ln in screen_text(app).splitlines() if "last sync" in ln)
        assert header.rstrip().endswith("origin · Acme Commerce"), header
        assert "http://testserver" not in header
    wide = app_for(r)
    async with wide.run_test(size=(120, 30)) as pilot:  # wide enough: the URL is there too
        await press(pilot, "5")
        header = next(ln for ln in screen_text(wide).splitlines() if "last sync" in ln)
        assert "http://testserver" in header and header.rstrip().endswith("origin · Acme Commerce"), header


async def test_at_200_columns_both_sides_of_a_conflict_are_whole(hub):
    """At 200 columns the conflict's ABOUT took 130 cells while MINE and THEIRS stayed at 18, so two
    summaries (or a test note's two edits) were cut to "Hesitated for a w…" with the width to show
    them there; they grow now, as the inbox's columns do. At 80 columns they keep their cells."""
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    mine, theirs = "Hidden for guests, evidence attached on the plane", "Guests keep the wishlist, by design, says product"
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(summary=mine))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(summary=theirs))
    assert r.sync().conflicts == 1
    wide, narrow = app_for(r), app_for(r)
    async with wide.run_test(size=(200, 50)) as pilot:
        await press(pilot, "5")
        row = next(ln for ln in screen_text(wide).splitlines() if "Feedback number 0" in ln)
        assert mine in row and theirs in row, row
    async with narrow.run_test(size=(80, 24)) as pilot:
        await press(pilot, "5")
        lines = screen_text(narrow).splitlines()
        assert any(ln.split()[-2:] == ["MINE", "THEIRS"] for ln in lines), lines


async def test_at_80_columns_a_line_with_a_conflict_and_a_refusal_keeps_its_whole_hint(hub):
    """QA: at 80 columns, with changes pending, a conflict and a refusal, the line was cut in its
    hint ("S sync · 5 set…"). Too wide, it says less (the counts at zero, then "synced") first."""
    ids, r = conflicted_and_refused(hub)
    ann_svc.reply(r.wb, r.me, ids[0], ReplyCreate(body="pending until the next sync"))
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "refused" in line(app))
        await pilot.pause()
        shown = next(ln for ln in screen_text(app).splitlines() if "⇅" in ln).strip()
        assert shown.endswith("· 1 pending · 1 conflict · 1 refused  S sync · 5 settle"), shown
        assert "…" not in shown


def test_a_line_too_wide_says_less_a_step_at_a_time():
    from types import SimpleNamespace

    from workbench.tui.widgets.sync_line import sync_text

    def at(width: int, pending: int, conflicts: int, refused: int) -> str:
        status = SimpleNamespace(remote="origin", last_error=None, last_sync_at=FIXED_MS - 180_000,
                                 pending=pending, conflicts=conflicts, refused=refused)
        return sync_text(status, FIXED_MS, None, width).plain

    everything = "⇅ origin · synced 3m ago · 0 pending · 1 conflict · 0 refused   S sync · 5 settle"
    assert at(200, 0, 1, 0) == everything
    assert at(78, 0, 1, 0) == "⇅ origin · synced 3m ago · 1 conflict   S sync · 5 settle"  # the zeros go first
    assert at(78, 2, 1, 1) == "⇅ origin · 3m ago · 2 pending · 1 conflict · 1 refused  S sync · 5 settle"
    assert at(78, 0, 0, 0) == "⇅ origin · synced 3m ago · 0 pending · 0 conflicts · 0 refused   S sync"  # it fits
    # Past the tersest, the widget cuts the line at its end ("…", text-overflow: ellipsis).
    assert at(60, 1234, 12, 3) == "⇅ origin · 3m ago · 1,234 pending · 12 conflicts · 3 refused  S sync · 5 settle"
