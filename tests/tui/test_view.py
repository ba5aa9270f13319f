"""Seeing more, reading less: the side preview, shared column widths, every screen at 80×24,
markdown, human words, the duplicate link, the full history and writing in $EDITOR."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tests.sync.conftest import Hub
from tests.tui.conftest import errors, make_app, press, screen_text, type_text, wait_for
from workbench.domain.annotations import AnnotationPatch, ReplyCreate
from workbench.services import annotations as annotations_service
from workbench.services import inbox, preferences
from workbench.services.local import local_user
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.forms import FormDialog
from workbench.tui.screens.inbox import InboxScreen

SMALL = (80, 24)


def annotation_rows(wb, principal, **kwargs):
    return inbox.window(wb, principal, inbox.InboxFilter(sources=("annotation",), **kwargs), 0, 400)


# -- the preview beside the list ---------------------------------------------------------------
async def test_wide_terminals_put_the_preview_beside_the_list_and_L_toggles_it_for_good(demo_wb, principal):
    app = make_app(demo_wb)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        vlist, preview = screen.list, screen.query_one("#preview")
        assert preview.region.x >= vlist.region.right and preview.region.y == vlist.region.y  # beside
        assert "Should the wishlist be visible" in screen_text(app)
        await press(pilot, "L")
        assert preview.region.y >= vlist.region.bottom and preview.region.x == vlist.region.x  # below
        assert preferences.load(demo_wb, principal, "inbox.preview") == "below"
    again = make_app(demo_wb)
    async with again.run_test(size=(200, 50)) as pilot:  # remembered across runs
        await pilot.pause()
        assert isinstance(again.screen, InboxScreen)
        vlist, preview = again.screen.list, again.screen.query_one("#preview")
        assert preview.region.y >= vlist.region.bottom
        await press(pilot, "L")
        assert preview.region.x >= vlist.region.right
        assert preferences.load(demo_wb, principal, "inbox.preview") == "side"


async def test_narrow_terminals_keep_the_preview_below(app):
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        vlist, preview = app.screen.list, app.screen.query_one("#preview")
        assert preview.region.y >= vlist.region.bottom


async def test_at_250_columns_sites_pages_and_source_names_are_not_cut(demo_wb, principal):
    preferences.save(demo_wb, principal, "inbox.preview", "below")  # the full width for the list
    app = make_app(demo_wb)
    async with app.run_test(size=(250, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Checkout usability study " in text and "/products/trail-runner-2 " in text
        assert " annotation " in text and " accessibility " in text  # source and kind spelled out
        assert "Checkout usab…" not in text
    preferences.save(demo_wb, principal, "inbox.preview", "side")  # beside the preview: still whole
    app = make_app(demo_wb)
    async with app.run_test(size=(250, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Checkout usability study " in text and "/products/trail-runner-2 " in text
    preferences.save(demo_wb, principal, "inbox.preview", "below")
    app = make_app(demo_wb)
    async with app.run_test(size=(120, 36)) as pilot:  # where there is no room, the short forms
        await pilot.pause()
        assert " ann " in screen_text(app) and "Checkout usab…" in screen_text(app)


# -- 80×24 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["1", "2", "3", "4", "5"])
async def test_every_screen_at_80x24_shows_its_summary_the_sync_line_and_help_and_quit(app, mode):
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await press(pilot, mode)
        await app.workers.wait_for_complete()
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert "? Keys" in lines[-1] and "q Quit" in lines[-1] and "palette" in lines[-1]
        assert "no remote" in lines[-2]  # the sync line
        assert app.screen.query_one("#statusbar").region.bottom <= 22  # the summary line, on screen
        assert app.screen.query_one("#statusbar").region.height == 1
        if mode == "1":  # the inbox's summary whole: every count, the last one included
            assert re.search(r"│ cmt \d+ tests \d+\s*$", lines[-3])
        if mode == "2":  # the feedback screen's comments keep rows of their own
            assert app.screen.query_one("#fs-comments").region.height >= 5


async def test_the_footer_follows_a_resize_and_keeps_help_and_quit(app):
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        wide = screen_text(app).splitlines()[-1]
        assert "Won't fix…" in wide and "? Keys" in wide
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "Won't fix…" not in screen_text(app).splitlines()[-1])
        narrow = screen_text(app).splitlines()[-1]
        assert "? Keys" in narrow and "q Quit" in narrow and "palette" in narrow and "…  " not in narrow
        assert app.screen.query_one("#preview").region.y >= app.screen.list.region.bottom  # and the preview went below


async def test_the_inbox_list_fits_80_columns(app):
    """Site and page give back cells and the assignee column goes, so age and auto-fix still show."""
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        header = next(ln for ln in screen_text(app).splitlines() if "FEEDBACK" in ln)
        assert header.rstrip().endswith("AGE AUTO") and "ASSIGNEE" not in header
        assert any(ln.rstrip().endswith(" fix") for ln in screen_text(app).splitlines())


async def test_annotation_screen_at_80x24_keeps_help_and_quit(app, demo_wb, principal):
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(annotation_rows(demo_wb, principal)[0].id))
        await pilot.pause()
        last = screen_text(app).splitlines()[-1]
        assert "? Keys" in last and "q Quit" in last


async def reach_submit(pilot, app) -> None:
    """Tab through the dialog to its submit button; it must then be on screen."""
    for _ in range(12):
        if getattr(app.focused, "id", None) == "submit":
            break
        await press(pilot, "tab")
    button = app.focused
    assert button is not None and button.id == "submit"
    width, height = app.size
    region = button.region
    assert region.height > 0 and region.y >= 0 and region.bottom <= height and region.right <= width
    dialog = app.screen.query_one(".dialog")
    assert dialog.region.contains_region(region)


@pytest.mark.parametrize(
    ("keys_", "title"),
    [
        (["enter", "e"], "Attach a resolution"),  # four fields and a text area
        (["enter", "c"], "Reply"),
        (["4", "n"], "New persona"),
        (["3", "j", "C"], "Confirm"),
        (["f"], "Filter the inbox"),
    ],
)
async def test_every_form_button_is_reachable_at_80x24(app, keys_, title):
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await press(pilot, *keys_)
        await pilot.pause()
        assert isinstance(app.screen, FormDialog) and app.screen.title_text.startswith(title)
        await reach_submit(pilot, app)


async def test_choice_dialogs_fit_at_80x24(app):
    """A long choice list (bulk, personas) shrinks; its hint line stays on screen."""
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await press(pilot, "space", "b")
        text = screen_text(app)
        assert "esc: cancel" in text and "Bulk action on 1 row" in text
        await press(pilot, "escape", "escape", "k", "enter", "p")
        await pilot.pause()
        assert "esc: cancel" in screen_text(app)


# -- markdown ----------------------------------------------------------------------------------
async def test_bodies_and_replies_render_markdown_with_indentation_and_no_control_characters(app, demo_wb, principal):
    target = annotation_rows(demo_wb, principal)[0].id
    annotations_service.reply(demo_wb, principal, target, ReplyCreate(
        body="Steps **to check**:\n\n- open the cart\n  - then pay\n\n```\nif x:\n    return 1\n```\n\nbell \x1b[2J here"))
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(target))
        await pilot.pause()
        lines = screen_text(app).splitlines()
        item = next(ln for ln in lines if "open the cart" in ln)
        nested = next(ln for ln in lines if "then pay" in ln)
        code = next(ln for ln in lines if "return 1" in ln)
        assert "•" in item and "•" in nested and nested.index("•") > item.index("•")  # nesting kept
        assert code.index("return") > next(ln for ln in lines if "if x:" in ln).index("if")  # code indentation kept
        assert "**" not in "\n".join(lines) and "Steps to check:" in "\n".join(lines)
        assert "bell \\x1b[2J here" in "\n".join(lines)  # shown, never sent


# -- human words -------------------------------------------------------------------------------
async def test_copied_markdown_says_wont_fix_and_the_assignees_name(app, demo_wb, principal):
    target = annotation_rows(demo_wb, principal)[0].id
    max_id = next(uid for uid, name in inbox.facets(demo_wb, principal).members if name == "Max Member")
    annotations_service.patch(demo_wb, principal, target, AnnotationPatch(status="won_t_fix", summary="Intended", assignee_id=max_id))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(target))
        await press(pilot, "y")
        copied = app.clipboard
        assert "- **Status:** won't fix" in copied and "- **Assignee:** Max Member" in copied
        assert "won_t_fix" not in copied and max_id not in copied
        text = screen_text(app)
        assert "won_t_fix" not in text and "Max Member" in text


async def test_form_refusals_read_as_words_not_pydantic(app, demo_wb, principal):
    target = annotation_rows(demo_wb, principal)[0].id
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(target))
        await press(pilot, "c", "ctrl+s")  # an empty reply
        said = str(app.screen.query_one("#form-error").render())
        assert "body: cannot be empty" in said and "String should" not in said


async def test_duplicate_of_is_a_link_to_that_annotation(app, demo_wb, principal):
    rows = annotation_rows(demo_wb, principal)
    dup, original = rows[0].id, rows[1].id
    annotations_service.patch(demo_wb, principal, dup, AnnotationPatch(status="duplicate", summary=f"duplicate of {original}"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(dup))
        await pilot.pause()
        first_line = annotations_service.get(demo_wb, principal, original).body.splitlines()[0]
        text = screen_text(app)
        assert f"duplicate of “{first_line[:40]}" in text and "g: open it" in text
        await press(pilot, "g")
        assert isinstance(app.screen, AnnotationScreen) and app.screen.annotation_id == original
        await press(pilot, "escape")
        assert app.screen.annotation_id == dup
        await press(pilot, "g")  # the click target is the same action: the mouse works too
        await press(pilot, "escape")
        body = app.screen.query_one("#ann-body")
        link = next(y for y, line in enumerate(screen_text(app).splitlines()) if "duplicate of “" in line)
        await pilot.click(offset=(body.region.x + 25, link))
        await pilot.pause()
        assert app.screen.annotation_id == original


# -- history -----------------------------------------------------------------------------------
@pytest.fixture
def hub(tmp_path: Path):
    h = Hub(tmp_path)
    yield h
    h.close()


async def test_history_shows_changes_that_came_by_sync_with_who_and_when(hub):
    from workbench.domain.annotations import WidgetAnnotationCreate

    ann = annotations_service.submit_from_widget(
        hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None,
        WidgetAnnotationCreate(page_url="https://shop.acme.example/cart", body="The total is wrong"),
    )
    replica = hub.replica()
    replica.sync()
    owner = local_user(hub.wb)
    annotations_service.patch(hub.wb, owner, ann.id, AnnotationPatch(status="ack"))
    annotations_service.reply(hub.wb, owner, ann.id, ReplyCreate(body="Looking at it"))
    annotations_service.patch(hub.wb, owner, ann.id, AnnotationPatch(status="won_t_fix", summary="By design"))
    replica.sync()
    history = annotations_service.history(replica.wb, replica.me, ann.id)
    pulled = [e for e in history if e["action"] == "annotation.pulled"]
    assert pulled and pulled[-1]["detail"]["changes"]["status"] == ["new", "won_t_fix"]
    app = make_app(replica.wb)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(ann.id))
        await pilot.pause()
        text = screen_text(app)
        history_part = text[text.index("History"):]
        assert "submitted" in history_part  # the server's row, by its submitter
        assert "Olive Owner" in history_part and "replied" in history_part  # a reply by someone else, by name
        assert "someone on origin (via sync)" in history_part
        assert "status: new → won't fix" in history_part and "on the server" in history_part
        assert not errors(app)


async def test_an_assignee_the_replica_never_saw_reply_is_named_as_unknown_here_until_they_reply(hub):
    """The server lists no members and an annotation carries only ``assignee_id``: a guest assigned
    on the server has no name on a replica until a reply of theirs brings one. Until then the TUI says
    so, with the id's end to tell two apart, rather than a bare "user …e592eb"."""
    from workbench.domain.annotations import WidgetAnnotationCreate
    from workbench.domain.roles import Principal, PrincipalKind, Role
    from workbench.services import accounts

    ann = annotations_service.submit_from_widget(
        hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None,
        WidgetAnnotationCreate(page_url="https://shop.acme.example/cart", body="The total is wrong"),
    )
    ws = hub.creds["workspace_id"]
    guest = accounts.add_member(hub.wb, ws, "gil@example.com", "Gil Guest", Role.GUEST)
    annotations_service.patch(hub.wb, local_user(hub.wb), ann.id, AnnotationPatch(assignee_id=guest.id))
    replica = hub.replica()
    replica.sync()
    unknown = f"…{guest.id[-6:]} (name unknown here)"
    app = make_app(replica.wb)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await wait_for(pilot, lambda: "The total is wrong" in screen_text(app))
        assert f"…{guest.id[-6:]} (na" in screen_text(app)  # the inbox's assignee column, cut
        assert f"assigned to {unknown}" in screen_text(app)  # the preview, whole
        await app.push_screen(AnnotationScreen(ann.id))
        await wait_for(pilot, lambda: "Assignee" in screen_text(app))
        assignee_line = next(line for line in screen_text(app).splitlines() if "Assignee" in line)
        assert unknown in assignee_line and "user …" not in assignee_line
        # The guest replies on the server: the next sync brings their name, and the screen shows it.
        as_guest = Principal(kind=PrincipalKind.SESSION, workspace_id=ws, role=Role.GUEST, user_id=guest.id, display_name="Gil Guest")
        annotations_service.reply(hub.wb, as_guest, ann.id, ReplyCreate(body="On it"))
        replica.sync()
        assert inbox.member_names(replica.wb, replica.me).get(guest.id) == "Gil Guest"
        screen = app.screen
        assert isinstance(screen, AnnotationScreen)
        screen.refresh_data()  # as the store watch does in a running app
        await wait_for(pilot, lambda: "Gil Guest" in next(line for line in screen_text(app).splitlines() if "Assignee" in line))
        assert not errors(app)


# -- $EDITOR -----------------------------------------------------------------------------------
def editor_script(tmp_path: Path, body: str, code: int = 0) -> str:
    script = tmp_path / "fake-editor"
    script.write_text(f"#!/bin/sh\nprintf '{body}' > \"$1\"\nexit {code}\n")  # printf: \\n is a line break
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


async def open_reply(pilot, app, wb, principal):
    await pilot.pause()
    await app.push_screen(AnnotationScreen(annotation_rows(wb, principal)[0].id))
    await press(pilot, "c")
    assert isinstance(app.screen, FormDialog)
    return app.screen


async def test_ctrl_e_writes_the_reply_in_the_editor(app, demo_wb, principal, tmp_path, monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "Written in my editor"))
    async with app.run_test(size=(120, 36)) as pilot:
        form = await open_reply(pilot, app, demo_wb, principal)
        await type_text(pilot, "draft")
        await press(pilot, "ctrl+e")
        assert form.values()["text"] == "Written in my editor"
        await press(pilot, "ctrl+s")
        replies = annotations_service.detail(demo_wb, principal, annotation_rows(demo_wb, principal)[0].id)["replies"]
        assert replies[-1]["body"] == "Written in my editor"
        assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("workbench-*.md"))  # the draft file is gone


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "Set $EDITOR (or $VISUAL)"),
        ({"EDITOR": "/nonexistent/editor"}, "Could not start the editor"),
        ({"EDITOR": "false"}, "exited with status 1"),
    ],
)
async def test_an_unset_or_failing_editor_is_said_and_the_text_kept(app, demo_wb, principal, monkeypatch, env, said):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    async with app.run_test(size=(120, 36)) as pilot:
        form = await open_reply(pilot, app, demo_wb, principal)
        await type_text(pilot, "keep me")
        await press(pilot, "ctrl+e")
        assert form.values()["text"] == "keep me"
        assert said in str(form.query_one("#form-error").render())
        assert isinstance(app.screen, FormDialog)


async def test_ctrl_e_writes_a_summary_on_one_line(app, demo_wb, principal, tmp_path, monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "Fixed in v2\\nby the team"))
    target = annotation_rows(demo_wb, principal)[0].id
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(target))
        await press(pilot, "r", "ctrl+e")
        await wait_for(pilot, lambda: app.screen.values()["text"] == "Fixed in v2 by the team")
