"""Issue 12's "no surprises" rules and numbered bugs, each proved through the keys a user presses."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from tests.found import found
from tests.tui.conftest import SIZE, make_app, press, screen_text, told, type_text, wait_for
from workbench.tui import keys
from workbench.tui.screens.feedback import SessionSource
from workbench.tui.widgets.virtual_list import VirtualList


def inbox_list(app) -> VirtualList:
    return app.screen.query_one("#inbox-list", VirtualList)


# -- 1. keys.toml: a bad name or a clash keeps the default, with a warning -------------------
async def test_bad_or_clashing_keys_keep_their_defaults(demo_wb, tmp_path: Path):
    config = tmp_path / "keys.toml"
    config.write_text('[keys]\n"list.down" = "jj"\n"app.quit" = "j"\n"list.up" = "ctrl-k"\n"inbox.search" = "?"\n')
    keymap = keys.load_keymap(config)
    assert "list.down" not in keymap.bindings and "app.quit" not in keymap.bindings and "list.up" not in keymap.bindings
    assert any("'jj' is not a key name" in p for p in keymap.problems)
    assert any("app.quit: 'j' is already list.down" in p for p in keymap.problems)
    app = make_app(demo_wb, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("not a key name" in m for m in told(app))
        vlist = inbox_list(app)
        await press(pilot, "j", "down")
        assert vlist.cursor == 2
        await press(pilot, "k", "up")
        assert vlist.cursor == 0
        await press(pilot, "q")
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)


# -- 2. the light theme repaints the inbox list too ----------------------------------------
async def test_light_theme_repaints_the_inbox_list(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        dark = vlist.styles.background.rich_color
        assert dark in {seg.style.bgcolor for seg in vlist.render_line(3) if seg.style}  # painted (and cached) dark
        app.theme = "textual-light"
        await pilot.pause()
        light = vlist.styles.background.rich_color
        assert light != dark
        for y in (0, 1, 3):
            backgrounds = {seg.style.bgcolor for seg in vlist.render_line(y) if seg.style and seg.style.bgcolor}
            assert dark not in backgrounds, f"line {y} still painted in the dark theme's colours"


# -- 7. the annotation's help names sections in words, not widget classes ------------------
async def test_annotation_help_has_no_widget_class_names(app):
    from workbench.tui.screens.annotation import AnnotationScreen
    from workbench.tui.screens.help import HelpScreen

    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation"))
        await press(pilot, "enter")
        assert isinstance(app.screen, AnnotationScreen)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "VerticalScroll" not in text and "Scroll" + "able" not in text
        assert "Scrolling" in text and "Page Down" in text


# -- 3. enter on a feedback comment opens it (as the footer says), never toggles it ---------
async def test_enter_on_a_comment_opens_it_without_changing_it(app, demo_wb):
    from workbench.services import feedback_sessions as fs_service
    from workbench.tui.screens.feedback import FeedbackScreen
    from workbench.tui.screens.forms import ReadDialog

    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        i = next(i for i, r in enumerate(screen.sessions.source_as(SessionSource).rows) if r.session.status == "in_progress")
        screen.sessions.move_cursor(i)
        await press(pilot, "tab")
        row = found(screen.sessions.current)
        comment = found(screen.comments.current)
        assert "Open" in screen_text(app)  # what the footer promises for enter
        await press(pilot, "enter")
        assert isinstance(app.screen, ReadDialog)
        assert comment.content.strip()[:40] in screen_text(app)
        await press(pilot, "escape")
        assert app.screen is screen
        after = {c.id: c.status for c in fs_service.list_comments(demo_wb, row.store, row.session.id)}
        assert after[comment.id] == comment.status and not told(app)


# -- bulk: no default action; the preview counts --------------------------------------------
async def test_bulk_never_defaults_to_an_action(app, demo_wb, principal):
    from workbench.services import annotations as annotations_service
    from workbench.tui.screens.bulk import BulkDialog

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        anns = [i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation"][:3]
        for index in anns:
            vlist.move_cursor(index)
            await press(pilot, "space")
        before = {r.id: annotations_service.get(demo_wb, principal, r.id).status for r in vlist.selected_rows}
        await press(pilot, "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        assert dialog.query_one("#bulk-actions", OptionList).highlighted is None
        await press(pilot, "enter", "y")  # what once set 5,000 rows to "new"
        assert dialog.stage == "choose" and app.screen is dialog
        assert "Choose an action first" in screen_text(app)
        assert {i: annotations_service.get(demo_wb, principal, i).status for i in before} == before
        await press(pilot, "down", "down", "enter")  # an explicit choice: the second option (ack)
        assert dialog.stage == "preview" and dialog.action is not None and dialog.action.status == "ack"
        will = sum(1 for s in before.values() if s != "ack")
        assert f"{will} row{'s' if will != 1 else ''} will change" in screen_text(app)


# -- a value already set changes nothing, and says so ---------------------------------------
async def test_setting_the_same_status_twice_says_nothing_changed(app, demo_wb, principal):
    from storage import audit as audit_repo
    from workbench.services import annotations as annotations_service

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation" and found(vlist.row_at(i)).status != "ack"))
        ann_id = found(vlist.current).id
        await press(pilot, "a")
        assert told(app)[-1] == "Status → Ack" or told(app)[-1].startswith("Status →")
        version = annotations_service.get(demo_wb, principal, ann_id).version
        trail = len(audit_repo.history(demo_wb.store.db, "annotation", ann_id))
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).id == ann_id))
        await press(pilot, "a")
        assert "nothing changed" in told(app)[-1] and "Status →" not in told(app)[-1]
        assert annotations_service.get(demo_wb, principal, ann_id).version == version
        assert len(audit_repo.history(demo_wb.store.db, "annotation", ann_id)) == trail


# -- 6. duplicate → new: the row no longer says "duplicate of …" ---------------------------
async def test_duplicate_back_to_new_drops_the_duplicate_summary(app, demo_wb, principal):
    from workbench.domain.annotations import AnnotationPatch
    from workbench.services import annotations as annotations_service
    from workbench.services import inbox

    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 2)
    dup, target = rows[0].id, rows[1].id
    annotations_service.patch(demo_wb, principal, dup, AnnotationPatch(status="duplicate", summary=f"duplicate of {target}"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.apply_filter(inbox.InboxFilter(sources=("annotation",), status=inbox.ALL))
        await wait_for(pilot, lambda: not app.screen.counting)
        vlist = inbox_list(app)
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).id == dup))
        await pilot.pause()
        assert "duplicate of" in screen_text(app)
        await press(pilot, "n")
        got = annotations_service.get(demo_wb, principal, dup)
        assert (got.status, got.summary) == ("new", None)
        await pilot.pause()
        assert f"duplicate of {target}" not in screen_text(app)


# -- 5. palette → screenshot saves, even with no Downloads folder ---------------------------
async def test_palette_screenshot_saves_without_a_downloads_folder(app, demo_wb, tmp_path: Path, monkeypatch):
    from textual.command import CommandPalette

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # a fresh account: no ~/Downloads
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await type_text(pilot, "screenshot")
        await wait_for(pilot, lambda: palette.has_class("-ready") and "Screenshot" in screen_text(app))
        await press(pilot, "enter")
        await wait_for(pilot, lambda: any("screenshot" in m.lower() for m in told(app)))
        assert not any("Failed" in m for m in told(app)), told(app)
        shots = list((demo_wb.store.path.parent / "screenshots").glob("*.svg"))
        assert len(shots) == 1 and "<svg" in shots[0].read_text()


# -- 8. the demo's test sessions do not stay "analysis running…" -----------------------------
async def test_analyses_left_running_finish_by_themselves(demo_wb, principal):
    from workbench.services import test_sessions as ts_service
    from workbench.tui.screens.test_sessions import TestSessionsScreen

    left = ts_service.pending_analyses(demo_wb)
    assert left  # the demo ships sessions mid-analysis, as a stopped process leaves them
    app = make_app(demo_wb, resume_jobs=True)  # as `workbench` runs it
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        screen = app.screen
        assert isinstance(screen, TestSessionsScreen)
        await wait_for(pilot, lambda: not ts_service.pending_analyses(demo_wb), timeout=20)
        assert all(ts_service.get(demo_wb, principal, s).status == "analyzed" for s in left)
        await wait_for(pilot, lambda: all(found(screen.sessions.row_at(i)).status != "analyzing" for i in range(screen.sessions.total)))
        assert "analysis running" not in screen_text(app).lower()


# -- 9. keys typed right after tab land in the next field -----------------------------------
async def test_fast_typing_after_tab_lands_in_the_next_field(app):
    """A terminal delivers keys faster than a field can pass an unhandled tab back up: post them at once."""
    from textual import events

    from workbench.tui.screens.forms import FormDialog

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation"))
        await press(pilot, "enter", "e")  # the resolution form: before, after, diff URL, explanation
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        for key, char in [("a", "a"), ("tab", "\t"), ("b", "b"), ("tab", "\t"), ("c", "c"), ("shift+tab", None)]:
            app.post_message(events.Key(key, char))  # no pause between keys, as a fast typist's arrive
        await wait_for(pilot, lambda: len("".join(str(v) for v in dialog.values().values())) == 3)
        values = dialog.values()
        assert (values["before"], values["after"], values["diff_url"]) == ("a", "b", "c")
        await wait_for(pilot, lambda: app.focused is dialog.query_one("#field-after"))


def test_bulk_preview_does_not_count_rows_already_at_the_value(demo_wb, principal):
    from workbench.services import bulk, inbox

    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 50)
    assigned = [r for r in rows if r.assignee_id][:1] + [r for r in rows if not r.assignee_id][:1]
    assert len(assigned) == 2
    items = bulk.preview(bulk.BulkAction("assign", assignee_id=assigned[0].assignee_id), assigned)
    assert [i.ok for i in items] == [False, True] and items[0].message == "Already assigned to them"
    items = bulk.preview(bulk.BulkAction("assign", assignee_id=None), assigned)
    assert [i.ok for i in items] == [True, False] and items[1].message == "Already unassigned"
