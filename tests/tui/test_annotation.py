"""The annotation detail screen: every action through its key, checked in the store afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Input, SelectionList, TextArea

from tests.found import found
from tests.images import PNG
from tests.tui.conftest import SIZE, errors, paste, press, resized, screen_text, told, type_text, wait_for
from workbench.domain.annotations import BLANK_RESOLVE_SUMMARY, WidgetAnnotationCreate
from workbench.services import annotations as annotations_service
from workbench.services import inbox
from workbench.services import sites as sites_service
from workbench.tui import format as fmt
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.forms import ChoiceDialog, FormDialog
from workbench.tui.screens.persona_picker import PersonaPicker
from workbench.tui.screens.triage import DuplicatePicker
from workbench.tui.widgets.virtual_list import VirtualList


def open_annotations(demo_wb, principal, n: int = 2) -> list:
    return inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, n)


async def open_detail(app, pilot, ann_id: str) -> AnnotationScreen:
    screen = AnnotationScreen(ann_id)
    await app.push_screen(screen)
    await pilot.pause()
    return screen


async def test_detail_shows_everything_about_the_annotation(app, demo_wb, principal):
    # One with computed styles, a thread and a resolution, so every section has content.
    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="resolved"), 0, 400)
    target = None
    for row in rows:
        d = annotations_service.detail(demo_wb, principal, row.id)
        if d["resolutions"] and d["replies"]:
            target = d
            break
    assert target is not None
    async with app.run_test(size=(120, 70)) as pilot:
        await open_detail(app, pilot, target["id"])
        text = screen_text(app)
        assert target["body"] in text
        assert target["page_url"] in text
        assert "Thread (" in text and target["replies"][0]["body"] in text
        assert "Resolutions (1)" in text and target["resolutions"][0]["diff_url"] in text
        assert "History" in text


async def test_one_key_per_status(app, demo_wb, principal):
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        for key, status in (("a", "ack"), ("t", "triaged"), ("i", "in_progress"), ("n", "new")):
            await press(pilot, key)
            assert annotations_service.get(demo_wb, principal, ann.id).status == status
        await press(pilot, "w")
        assert isinstance(app.screen, FormDialog)
        await paste(pilot, "Working as intended")
        await press(pilot, "enter")
        got = annotations_service.get(demo_wb, principal, ann.id)
        assert (got.status, got.summary) == ("won_t_fix", "Working as intended")
        # The history shows the changes.
        app.screen.query_one("#detail").scroll_end(animate=False)
        await pilot.pause()
        assert "status: new → won't fix" in screen_text(app)


async def test_the_status_keys_wrap_between_keys_never_inside_one(app, demo_wb, principal):
    """At 80 columns the status keys wrapped at any space: "w" ended one line and "won't fix" began the next."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(app, pilot, ann.id)
        for width in (80, 64, 120):
            lines = [line.strip() for line in await resized(app, pilot, width, "#ann-keys")]
            start = next(i for i, line in enumerate(lines) if line.startswith("set status"))
            shown = lines[start:start + 3]
            for hint in ("n new", "a ack", "t triaged", "i in progress", "r resolved", "w won't fix", "d duplicate"):
                assert any(hint in line for line in shown), (width, shown)
            assert ("d duplicate" in lines[start]) == (width >= 120), (width, lines[start:start + 3])


async def test_the_head_wraps_between_its_facts_never_inside_one(app, demo_wb, principal):
    """At 60 columns the head broke inside "1h ago": "1h" ended one line and "ago" began the next."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(app, pilot, ann.id)
        for width in (80, 60, 48):
            lines = await resized(app, pilot, width, "#ann-head")
            start = next(i for i, line in enumerate(lines) if ann.kind in line)
            shown = lines[start:start + 3]
            ago = next(line for line in shown if " ago" in line)
            assert re.search(r"\b\d+[smhdw] ago\b", ago), (width, shown)
            assert sum(f"…{fmt.short_id(ann.id)}" in line for line in shown) == 1, (width, shown)


async def test_resolve_with_a_blank_summary_keeps_the_dialog_open(app, demo_wb, principal):
    """QA 10: r, then enter on an empty or whitespace-only Summary, resolved the annotation."""
    ann = next(a for a in (annotations_service.get(demo_wb, principal, r.id) for r in open_annotations(demo_wb, principal, 20))
               if not a.summary)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "r")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        for blank in ("", "   "):
            await type_text(pilot, blank)
            await press(pilot, "enter")
            assert app.screen is dialog
            assert BLANK_RESOLVE_SUMMARY in str(dialog.query_one("#form-error").render())
            assert annotations_service.get(demo_wb, principal, ann.id).status == ann.status
        await type_text(pilot, "Fixed in v2.4")
        await press(pilot, "enter")
        got = annotations_service.get(demo_wb, principal, ann.id)
        assert app.screen is not dialog and (got.status, got.summary) == ("resolved", "Fixed in v2.4")


@pytest.mark.parametrize(("key", "said"), [("r", "Resolved: "), ("w", "Won't fix: ")])
async def test_resolve_and_won_t_fix_say_what_was_done(app, demo_wb, principal, key, said):
    """QA: once resolved, the notice read "Resolve: <its text>", the button's word, as if it still asked;
    it says what the annotation now is, as a status key's "Status → ack" does."""
    ann = annotations_service.get(demo_wb, principal, open_annotations(demo_wb, principal, 1)[0].id)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, key)
        await paste(pilot, "Fixed in v2.4")
        await press(pilot, "ctrl+s")
        assert annotations_service.get(demo_wb, principal, ann.id).status == ("resolved" if key == "r" else "won_t_fix")
        assert told(app)[-1] == said + fmt.first_line(ann.body)[:60], told(app)


async def test_duplicate_asks_which_annotation(app, demo_wb, principal):
    ann, other = open_annotations(demo_wb, principal, 2)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "d")
        picker = app.screen
        assert isinstance(picker, DuplicatePicker)
        # Pasting its own id is refused with the reason; the picker stays open.
        picker.query_one("#dup-search", Input).value = ann.id
        await press(pilot, "enter")
        assert app.screen is picker
        assert "cannot duplicate itself" in str(picker.query_one("#form-error").render())
        # Search for the other one and choose it from the list.
        picker.query_one("#dup-search", Input).value = ""
        await pilot.pause()
        await type_text(pilot, other.first_line.split()[1])
        await pilot.pause()
        vlist = picker.query_one("#dup-list", VirtualList)
        index = next(i for i in range(vlist.total) if found(vlist.row_at(i)).id == other.id)
        await press(pilot, "down")
        vlist.move_cursor(index)
        await press(pilot, "enter")
        got = annotations_service.get(demo_wb, principal, ann.id)
        assert (got.status, got.summary) == ("duplicate", f"duplicate of {other.id}")
        assert isinstance(app.screen, AnnotationScreen)


async def test_reply(app, demo_wb, principal):
    ann = open_annotations(demo_wb, principal, 1)[0]
    before = len(annotations_service.detail(demo_wb, principal, ann.id)["replies"])
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        assert isinstance(app.screen, FormDialog)
        # An empty reply is refused by the domain (body is required); the dialog stays.
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, FormDialog)
        assert "body" in str(app.screen.query_one("#form-error").render())
        await type_text(pilot, "Looking into it")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, AnnotationScreen)
        replies = annotations_service.detail(demo_wb, principal, ann.id)["replies"]
        assert len(replies) == before + 1 and replies[-1]["body"] == "Looking into it"
        assert "Looking into it" in screen_text(app)


async def test_assign(app, demo_wb, principal):
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "A")
        assert isinstance(app.screen, ChoiceDialog)
        await press(pilot, "home", "down", "enter")  # the first member
        members = inbox.facets(demo_wb, principal).members
        assert annotations_service.get(demo_wb, principal, ann.id).assignee_id == members[0][0]
        await press(pilot, "A", "home", "enter")  # unassigned
        assert annotations_service.get(demo_wb, principal, ann.id).assignee_id is None


async def test_attach_resolution_with_inline_validation(app, demo_wb, principal, tmp_path: Path, monkeypatch):
    ann = open_annotations(demo_wb, principal, 1)[0]
    (tmp_path / "before.png").write_bytes(PNG)
    (tmp_path / "after.png").write_bytes(PNG)
    # Paths relative to where the TUI was started, as people type them: the check runs on every
    # key, so a tmp path's 85 characters each cost a keystroke and a check.
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "e")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        check = dialog.query_one("#form-check")
        assert "At least one" in str(check.render())
        await type_text(pilot, "before.png")
        await press(pilot, "tab")
        await type_text(pilot, "after.png")
        await press(pilot, "tab")
        await type_text(pilot, "http://acme.dev/9")
        # The form's words ("Diff URL" is its label), not the API's field name.
        assert "diff URL must be an https:// URL" in str(check.render()) and "diff_url" not in str(check.render())
        await press(pilot, "ctrl+s")
        assert app.screen is dialog  # refused: nothing typed is lost
        assert "diff URL must be an https:// URL" in str(dialog.query_one("#form-error").render())
        dialog.query_one("#field-diff_url", Input).value = "https://github.com/acme/shop/pull/9"
        await pilot.pause()
        dialog.query_one("#field-explanation", TextArea).text = "Raised the contrast to 4.5:1."
        await pilot.pause()
        assert "ready to attach" in str(check.render())
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, AnnotationScreen)
        await wait_for(pilot, lambda: any("submitter notified" in m for m in told(app)))
        res = annotations_service.detail(demo_wb, principal, ann.id)["resolutions"][-1]
        assert res["diff_url"] == "https://github.com/acme/shop/pull/9"
        assert res["before_key"].startswith(f"resolutions/{ann.id}/before-") and res["after_key"].endswith(".png")
        assert res["explanation"] == "Raised the contrast to 4.5:1."
        assert res["notification_status"] in ("replied", "emailed")
        assert (demo_wb.store.uploads_dir / res["before_key"]).read_bytes() == PNG


@pytest.mark.parametrize("name", ["notes.txt", "after.png"])  # the bytes decide, not the name (issue 12 bug 4)
async def test_attach_refuses_a_file_that_is_not_an_image(app, demo_wb, principal, tmp_path: Path, monkeypatch, name: str):
    ann = open_annotations(demo_wb, principal, 1)[0]
    (tmp_path / name).write_text("hello")
    monkeypatch.chdir(tmp_path)  # typed relative to where the TUI was started: a few keys, not a tmp path's 85
    assert annotations_service.detail(demo_wb, principal, ann.id)["resolutions"] == []
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "e")
        dialog = app.screen
        await type_text(pilot, name)  # into "Before", the first field
        reason = "before: not a PNG, JPEG, WebP or GIF image"
        assert f"✗ {reason}" in str(dialog.query_one("#form-check").render())
        await press(pilot, "ctrl+s")
        assert app.screen is dialog  # refused: the dialog stays open with the reason
        assert str(dialog.query_one("#form-error").render()) == reason
        # Nothing was attached, and the text file was not copied into the store.
        assert annotations_service.detail(demo_wb, principal, ann.id)["resolutions"] == []
        assert not (demo_wb.store.uploads_dir / "resolutions" / ann.id).exists()
        await press(pilot, "escape")
        assert isinstance(app.screen, AnnotationScreen)
        assert str(app.screen.query_one("#res-title").render()) == "Resolutions (0)"


async def test_run_personas_in_a_worker(app, demo_wb, principal):
    ann = open_annotations(demo_wb, principal, 1)[0]
    before = len(annotations_service.detail(demo_wb, principal, ann.id)["replies"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(app, pilot, ann.id)
        await press(pilot, "p")  # the picker, the three most relevant ticked (issue 12 bug 13)
        picker = app.screen
        assert isinstance(picker, PersonaPicker)
        _, default = annotations_service.default_personas(demo_wb, principal, ann.id)
        assert sorted(picker.query_one(SelectionList).selected) == sorted(p.id for p in default) and len(default) == 3
        await press(pilot, "enter")  # untick the first (most relevant), keep the other two
        await press(pilot, "ctrl+s")
        await wait_for(pilot, lambda: not screen.personas_running)
        replies = annotations_service.detail(demo_wb, principal, ann.id)["replies"]
        added = replies[before:]
        assert [r["author"]["name"] for r in added] == [p.name for p in default[1:]]
        assert all(r["author"]["type"] == "persona" for r in added)
        assert any("persona review" in m for m in told(app))
        screen.query_one("#detail").scroll_end(animate=False)
        await pilot.pause()
        assert added[-1]["author"]["name"] in screen_text(app)


async def test_copy_markdown(app, demo_wb, principal):
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "y")
        assert app.clipboard == annotations_service.render_markdown(demo_wb, principal, ann.id)
        assert app.clipboard.startswith(f"# Annotation {ann.id}")


async def test_brackets_step_through_the_inbox(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        first = next(i for i in range(vlist.total) if vlist.row_at(i).source == "annotation")
        vlist.move_cursor(first)
        await press(pilot, "enter")
        start = app.screen.annotation_id
        await press(pilot, "right_square_bracket")
        nxt = app.screen.annotation_id
        assert nxt != start
        await press(pilot, "left_square_bracket")
        assert app.screen.annotation_id == start


async def test_a_deleted_annotation_is_reported_not_crashed(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, "01900000-0000-7000-8000-000000000000")
        assert "not available" in screen_text(app)
        await press(pilot, "a")  # refused: Annotation not found
        assert "Annotation not found" in errors(app)


async def test_browse_picks_an_image_file(app, demo_wb, principal, tmp_path: Path):
    from workbench.tui.screens.forms import FilePicker

    image = tmp_path / "shot.png"
    image.write_bytes(PNG)
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "e")
        dialog = app.screen
        await press(pilot, "ctrl+o")
        picker = app.screen
        assert isinstance(picker, FilePicker)
        picker.query_one("#path", Input).value = str(image)
        picker.query_one("#path", Input).focus()
        await pilot.pause()
        await press(pilot, "enter")
        assert app.screen is dialog
        assert dialog.query_one("#field-before", Input).value == str(image)
        assert "ready to attach" in str(dialog.query_one("#form-check").render())


async def test_an_unnamed_visitor_is_said_once_and_a_named_one_with_their_kind(app, demo_wb, principal):
    site = sites_service.list_sites(demo_wb, principal)[0]
    unnamed = annotations_service.submit_from_widget(demo_wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
        page_url="https://shop.example/", body="No name", submitter_email="v@example.com",
    ))
    async with app.run_test(size=(160, 60)) as pilot:
        await app.push_screen(AnnotationScreen(unnamed.id))
        await pilot.pause()
        text = screen_text(app)
    assert "anonymous visitor (no name given, email on file)" in text
    assert "anonymous (anonymous" not in text
