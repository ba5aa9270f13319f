"""The inbox, driven through keys: navigation, search, filters, views, triage of the cursor row, selection."""

from __future__ import annotations

from textual.widgets import Input, Select

from tests.found import found
from tests.tui.conftest import SIZE, errors, press, screen_text, told, type_text, wait_for
from workbench.services import annotations as annotations_service
from workbench.services import inbox
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.forms import FormDialog
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.widgets.virtual_list import VirtualList


def inbox_list(app) -> VirtualList:
    return app.screen.query_one("#inbox-list", VirtualList)


def first_annotation_index(vlist: VirtualList) -> int:
    for i in range(vlist.total):
        if found(vlist.row_at(i)).source == "annotation":
            return i
    raise AssertionError("no annotation in the inbox")


async def test_inbox_lists_everything_awaiting_attention(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, InboxScreen)
        vlist = inbox_list(app)
        await wait_for(pilot, lambda: not app.screen.counting)  # the exact count comes from a worker
        assert vlist.total == inbox.count(demo_wb, principal, inbox.InboxFilter())
        sources = {found(vlist.row_at(i)).source for i in range(vlist.total)}
        assert sources == {"annotation", "comment", "test"}
        rows = [found(vlist.row_at(i)) for i in range(vlist.total)]
        assert all(r.status not in ("resolved", "won_t_fix", "duplicate") for r in rows if r.source == "annotation")
        await press(pilot, "j", "j", "k")
        assert vlist.cursor == 1
        await press(pilot, "G")
        assert vlist.cursor == vlist.total - 1
        await press(pilot, "g")
        assert vlist.cursor == 0
        status = app.screen.query_one("#statusbar").render()
        assert f"{vlist.total:,} shown" in str(status)


async def test_enter_opens_the_annotation_and_escape_returns(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(first_annotation_index(vlist))
        row = found(vlist.current)
        await press(pilot, "enter")
        assert isinstance(app.screen, AnnotationScreen)
        assert app.screen.annotation_id == row.id
        await press(pilot, "escape")
        assert isinstance(app.screen, InboxScreen)
        assert found(inbox_list(app).current).id == row.id


async def test_slash_searches_full_text_as_you_type(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "slash")
        assert app.focused is app.screen.query_one("#search", Input)
        await type_text(pilot, "coupon")
        await wait_for(pilot, lambda: app.screen.filter.text == "coupon")
        vlist = inbox_list(app)
        expected = inbox.count(demo_wb, principal, inbox.InboxFilter(text="coupon"))
        assert 0 < vlist.total == expected
        assert all("coupon" in (found(vlist.row_at(i)).text.lower()) or found(vlist.row_at(i)).source == "annotation" for i in range(vlist.total))
        await press(pilot, "enter")
        assert app.focused is vlist
        await press(pilot, "escape")  # clears the search
        assert app.screen.filter.text == ""
        await wait_for(pilot, lambda: not app.screen.counting)
        assert vlist.total == inbox.count(demo_wb, principal, inbox.InboxFilter())


async def test_filter_dialog_narrows_by_kind_and_assignee(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        assert isinstance(app.screen, FormDialog)
        # Source, Status, then Kind: open it and pick the first kind ("bug").
        await press(pilot, "tab", "tab", "enter", "down", "enter")
        assert app.screen.query_one("#field-kind", Select).value == "bug"
        await press(pilot, "tab", "tab", "enter", "down", "enter")  # assignee: "me"
        assert app.screen.query_one("#field-assignee", Select).value == "me"
        assert "matching rows" in str(app.screen.query_one("#form-check").render())
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, InboxScreen)
        f = app.screen.filter
        assert (f.kind, f.assignee) == ("bug", "me")
        vlist = inbox_list(app)
        assert vlist.total == inbox.count(demo_wb, principal, f)
        for i in range(vlist.total):
            row = found(vlist.row_at(i))
            assert row.kind == "bug" and row.assignee_id == principal.user_id
        assert "kind: bug" in str(app.screen.query_one("#filterbar").render())


async def choose(pilot, app, name: str, value: str) -> None:
    """In the filter dialog: tab to the ``name`` select, open it (enter), arrow to ``value`` and take it (enter)."""
    dialog = app.screen
    select = dialog.query_one(f"#field-{name}", Select)
    for _ in range(len(dialog.fields) + 2):  # round past the two buttons back to an earlier field
        if app.focused is select:
            break
        await press(pilot, "tab")
    assert app.focused is select
    values = [v for _, v in next(f for f in dialog.fields if f.name == name).options]
    steps = values.index(value) - values.index(select.value)
    await press(pilot, "enter", *(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
    assert select.value == value


def option_value(app, name: str, label: str) -> str:
    """The value of the filter dialog's ``name`` option labelled ``label``."""
    return next(v for lbl, v in next(f for f in app.screen.fields if f.name == name).options if lbl == label)


async def filter_through_keys(pilot, app, choices: list[tuple[str, str]]) -> inbox.InboxFilter:
    """f, the choices, ctrl+s: the inbox's filter afterwards, once the exact count is in."""
    await press(pilot, "f")
    assert isinstance(app.screen, FormDialog)
    for name, label in choices:
        await choose(pilot, app, name, option_value(app, name, label))
    await press(pilot, "ctrl+s")
    assert isinstance(app.screen, InboxScreen)
    await wait_for(pilot, lambda: not app.screen.counting)
    return app.screen.filter


def assert_shows_exactly(app, demo_wb, principal, f: inbox.InboxFilter) -> list:
    """The list shows the service's rows for ``f``, in its order: returns them."""
    vlist = inbox_list(app)
    expected = inbox.window(demo_wb, principal, f, 0, 10_000)
    assert 0 < vlist.total == inbox.count(demo_wb, principal, f) == len(expected)
    assert [found(vlist.row_at(i)).key for i in range(vlist.total)] == [r.key for r in expected]
    assert vlist.total != inbox.count(demo_wb, principal, inbox.InboxFilter())  # it did narrow (or widen)
    return expected


async def test_filter_by_source_through_keys(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        f = await filter_through_keys(pilot, app, [("source", "session comments")])
        assert f == inbox.InboxFilter(sources=("comment",))
        rows = assert_shows_exactly(app, demo_wb, principal, f)
        assert {r.source for r in rows} == {"comment"}
        assert "source: session comment" in str(app.screen.query_one("#filterbar").render())


async def test_filter_by_status_through_keys(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        f = await filter_through_keys(pilot, app, [("status", "resolved")])
        assert f == inbox.InboxFilter(status="resolved")
        rows = assert_shows_exactly(app, demo_wb, principal, f)
        assert {r.status for r in rows} == {"resolved"}
        assert {r.source for r in rows} == {"annotation", "comment"}  # each source that has the status
        assert "status: resolved" in str(app.screen.query_one("#filterbar").render())


def matching_rows(app) -> str:
    """The filter dialog's count line ("→ 18 matching rows")."""
    return str(app.screen.query_one("#form-check").render())


async def test_the_filter_dialogs_status_choices_follow_its_source(app, demo_wb, principal):
    """QA: with Source "session comments" the Status list still offered every source's statuses, and one only
    annotations have ("won't fix") showed "→ 0 matching rows"."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        status = dialog.query_one("#field-status", Select)
        await choose(pilot, app, "status", "won_t_fix")
        # One source: only its statuses, and the one it lacks is cleared (back to the default) with the count.
        await choose(pilot, app, "source", "comment")
        assert status.value == inbox.AWAITING
        assert [v for _, v in next(f for f in dialog.fields if f.name == "status").options] == [inbox.AWAITING, inbox.ALL, "open", "resolved"]
        n = inbox.count(demo_wb, principal, inbox.InboxFilter(sources=("comment",)))
        assert matching_rows(app) == f"→ {n:,} matching rows"
        await press(pilot, "tab", "enter")  # Status open: the choices as the user sees them
        shown = screen_text(app)
        assert "resolved" in shown and "won't fix" not in shown and "paused" not in shown, shown
        await press(pilot, "escape")
        # A chosen status every source in view has stays chosen: all sources, then annotations.
        await choose(pilot, app, "status", "resolved")
        await choose(pilot, app, "source", "")
        assert status.value == "resolved"
        assert "won_t_fix" in [v for _, v in next(f for f in dialog.fields if f.name == "status").options]
        await choose(pilot, app, "source", "annotation")
        assert status.value == "resolved"
        f = inbox.InboxFilter(sources=("annotation",), status="resolved")
        assert matching_rows(app) == f"→ {inbox.count(demo_wb, principal, f):,} matching rows"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, InboxScreen)
        assert app.screen.filter == f


async def test_the_filter_dialog_opens_without_a_status_its_source_lacks(app, demo_wb, principal):
    """A filter from elsewhere (a saved view, the CLI's) may pair a source with another source's status: the
    dialog opens with it cleared, as choosing that source there would."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.apply_filter(inbox.InboxFilter(sources=("comment",), status="paused"))
        await pilot.pause()
        await press(pilot, "f")
        assert isinstance(app.screen, FormDialog)
        assert app.screen.query_one("#field-status", Select).value == inbox.AWAITING


async def test_filter_by_site_through_keys(app, demo_wb, principal):
    facets = inbox.facets(demo_wb, principal)
    site_id, site_name, _ = next(p for p in facets.places if p[2] == "annotation")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        f = await filter_through_keys(pilot, app, [("place", f"site: {site_name}")])
        assert f == inbox.InboxFilter(place=site_id)
        rows = assert_shows_exactly(app, demo_wb, principal, f)
        assert {(r.source, r.place_id) for r in rows} == {("annotation", site_id)}
        assert f"site: {site_name}" in str(app.screen.query_one("#filterbar").render())


async def test_filter_by_auto_fix_through_keys(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        f = await filter_through_keys(pilot, app, [("source", "annotations"), ("auto_fix", "authorised")])
        assert f == inbox.InboxFilter(sources=("annotation",), auto_fix=True)
        rows = assert_shows_exactly(app, demo_wb, principal, f)
        assert all(r.auto_fix for r in rows)
        assert "auto-fix: authorised" in str(app.screen.query_one("#filterbar").render())
        # And back to "not authorised": the other annotations awaiting attention.
        f = await filter_through_keys(pilot, app, [("auto_fix", "not authorised")])
        assert f == inbox.InboxFilter(sources=("annotation",), auto_fix=False)
        others = assert_shows_exactly(app, demo_wb, principal, f)
        assert not any(r.auto_fix for r in others)
        assert len(rows) + len(others) == inbox.count(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)))


async def test_views_save_and_recall_a_named_filter(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.apply_filter(inbox.InboxFilter(kind="copy", auto_fix=False))
        await pilot.pause()
        await press(pilot, "v", "s")
        await type_text(pilot, "Copy nits")
        await press(pilot, "enter")
        assert inbox.list_views(demo_wb, principal) == {"Copy nits": inbox.InboxFilter(kind="copy", auto_fix=False)}
        assert screen.view_name == "Copy nits"
        # Another view, then recall the saved one from the list (built-ins first, then saved).
        screen.apply_filter(inbox.InboxFilter(), "Awaiting attention")
        await press(pilot, "v", "end", "enter")
        assert screen.filter == inbox.InboxFilter(kind="copy", auto_fix=False)
        assert screen.view_name == "Copy nits"
        # Delete it again.
        await press(pilot, "v", "end", "delete")
        assert inbox.list_views(demo_wb, principal) == {}
        await press(pilot, "escape")


async def test_status_keys_act_on_the_cursor_row(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(first_annotation_index(vlist))
        ann_id = found(vlist.current).id
        for key, status in (("a", "ack"), ("t", "triaged"), ("i", "in_progress"), ("n", "new")):
            await press(pilot, key)
            assert annotations_service.get(demo_wb, principal, ann_id).status == status
        # Resolve asks for a summary; the row then leaves the awaiting list.
        await press(pilot, "r")
        assert isinstance(app.screen, FormDialog)
        await type_text(pilot, "Fixed in v2.4")
        await press(pilot, "enter")
        ann = annotations_service.get(demo_wb, principal, ann_id)
        assert (ann.status, ann.summary) == ("resolved", "Fixed in v2.4")
        assert isinstance(app.screen, InboxScreen)
        assert all(found(inbox_list(app).row_at(i)).id != ann_id for i in range(inbox_list(app).total))


async def test_status_key_on_a_test_session_row_says_why_not(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        index = next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "test")
        vlist.move_cursor(index)
        await press(pilot, "t")
        assert any("applies to annotations" in m for m in told(app))


async def test_resolve_key_on_a_comment_resolves_it(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        index = next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "comment")
        vlist.move_cursor(index)
        comment = found(vlist.current)
        await press(pilot, "r")
        assert "Comment resolved" in told(app)
        everything = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("comment",), status="all"), 0, 1000)
        assert next(r for r in everything if r.id == comment.id).status == "resolved"


async def test_assign_from_the_inbox(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(first_annotation_index(vlist))
        ann_id = found(vlist.current).id
        await press(pilot, "A")
        members = inbox.facets(demo_wb, principal).members
        # Options: unassigned, then the members in name order; pick the last one.
        await press(pilot, "end", "enter")
        assert annotations_service.get(demo_wb, principal, ann_id).assignee_id == members[-1][0]


async def test_space_selects_and_ctrl_a_selects_all(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        await press(pilot, "space", "space")
        assert len(vlist.selection) == 2 and vlist.cursor == 2
        await press(pilot, "k", "space")
        assert len(vlist.selection) == 1
        await press(pilot, "escape")
        assert not vlist.selection
        await press(pilot, "ctrl+a")
        assert len(vlist.selection) == vlist.total
        assert f"{vlist.total:,} selected" in str(app.screen.query_one("#statusbar").render())


async def test_refused_summary_keeps_the_typed_text(app, demo_wb, principal):
    """A summary over the 2,000-character limit is refused inline; the dialog keeps the text."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(first_annotation_index(vlist))
        ann_id = found(vlist.current).id
        await press(pilot, "w")
        dialog = app.screen
        long = "x" * 2001
        dialog.query_one("#field-text", Input).value = long
        await press(pilot, "enter")
        assert app.screen is dialog
        assert "at most 2,000 characters" in str(dialog.query_one("#form-error").render())
        assert dialog.query_one("#field-text", Input).value == long
        assert annotations_service.get(demo_wb, principal, ann_id).status != "won_t_fix"
        await press(pilot, "escape")
        assert isinstance(app.screen, InboxScreen)
        assert not errors(app)


async def test_preview_shows_visitors_text_as_typed(app, demo_wb, principal):
    """Page, selector and submitter go through markup in the preview; ":fire:" is text, not an emoji."""
    from storage import sites as sites_repo
    from workbench.domain.annotations import WidgetAnnotationCreate

    site = sites_repo.list_sites(demo_wb.store.db, principal.workspace_id)[0]
    annotations_service.submit_from_widget(
        demo_wb, site.id, site.widget_token, None,
        WidgetAnnotationCreate(page_url="https://acme.example/deals:fire:", selector="a.hot:fire:", body="b [b]x[/b]",
                               submitter_name="Dee :wave:"),
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        index = next(i for i in range(vlist.total) if found(vlist.row_at(i)).page.endswith(":fire:"))
        vlist.move_cursor(index)
        await pilot.pause()
        preview = str(app.screen.query_one("#preview").render())
        assert "/deals:fire:" in preview and "a.hot:fire:" in preview and "Dee :wave:" in preview
        assert "b [b]x[/b]" in preview


async def test_preview_names_an_unnamed_submitter_by_what_they_are(app, demo_wb, principal):
    """An unnamed stakeholder (who came with a stakeholder's token) read "by anonymous", as an
    unnamed visitor does: the preview now tells them apart, as the annotation's own screen does."""
    from storage import sites as sites_repo
    from workbench.domain.annotations import StakeholderCreate, WidgetAnnotationCreate
    from workbench.services import sites as sites_service

    site = sites_repo.list_sites(demo_wb.store.db, principal.workspace_id)[0]
    stakeholder = sites_service.create_stakeholder(demo_wb, principal, site.id, StakeholderCreate())
    for body, token in (("from a visitor", None), ("from a stakeholder", stakeholder.token)):
        annotations_service.submit_from_widget(
            demo_wb, site.id, site.widget_token, token, WidgetAnnotationCreate(page_url=f"https://acme.example/{body[7:]}", body=body),
        )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        for page, who in (("/visitor", "by anonymous"), ("/stakeholder", "by a stakeholder")):
            vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).page.endswith(page)))
            await pilot.pause()
            preview = " ".join(str(app.screen.query_one("#preview").render()).split())
            assert who in preview, (who, preview)
            assert ("anonymous" in preview) == (page == "/visitor"), preview


async def test_a_long_page_url_leaves_the_preview_room_for_the_feedback(app, demo_wb, principal):
    """QA: the preview printed a page URL and a selector whole, so a long one (tracking parameters, a
    deep path) wrapped over the preview's few lines at 80×24 and the feedback itself was out of sight.
    Each is one line, cut with "…" to the preview's width, at every width the terminal is resized to."""
    from storage import sites as sites_repo
    from tests.tui.conftest import screen_text
    from workbench.domain.annotations import WidgetAnnotationCreate

    site = sites_repo.list_sites(demo_wb.store.db, principal.workspace_id)[0]
    annotations_service.submit_from_widget(demo_wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
        page_url="https://acme.example/landing?" + "&".join(f"utm_{i}=campaign-{i}" for i in range(20)),
        selector="main > div.grid " * 12, body="The voucher field rejects valid codes", submitter_name="Dee"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        vlist.move_cursor(next(i for i in range(vlist.total) if "utm_0" in found(vlist.row_at(i)).page))
        for width in (80, 60, 200, 80):
            await pilot.resize_terminal(width, 24 if width < 200 else 50)
            preview = app.screen.query_one("#preview")
            await wait_for(pilot, lambda w=width, p=preview: p.region.right <= w and "voucher" in screen_text(app))
            await pilot.pause()
            region = preview.region
            lines = [line[region.x : region.right].strip("│ ") for line in screen_text(app).splitlines()[region.y : region.bottom]]
            assert [line for line in lines if line.startswith("page ") and line.endswith("by Dee") and "…" in line], (width, lines)
            assert [line for line in lines if line.startswith("selector ") and line.endswith("…")], (width, lines)
            assert any("The voucher field rejects valid codes" in line for line in lines), (width, lines)


async def test_a_narrow_inbox_keeps_the_feedback_text(app):
    """QA 17: at 50×15 the list dropped FEEDBACK; other columns give way to it, and under 20 rows
    the preview leaves the list its rows (resizing back brings both back)."""
    from tests.tui.conftest import screen_text
    from workbench.tui.screens.inbox import COLUMNS

    feedback = next(i for i, c in enumerate(COLUMNS) if c.label == "FEEDBACK")
    async with app.run_test(size=(50, 15)) as pilot:
        await pilot.pause()
        vlist = inbox_list(app)
        row = found(vlist.current)
        shown = screen_text(app)
        assert vlist.column_width(feedback) >= COLUMNS[feedback].min_width
        assert "FEEDBACK" in shown and row.first_line[:10] in shown and "STATUS" in shown
        assert "SITE" not in shown and "ASSIGNEE" not in shown
        assert not app.screen.query_one("#preview").display and vlist.size.height >= 8
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.query_one("#preview").display and "SITE" in screen_text(app)


async def test_the_filter_dialog_says_a_search_looks_in_every_status_as_the_filter_bar_does(app, demo_wb, principal):
    """QA: after `/ kind:copy`, the bar said "status: any" (a typed query looks in every status) while `f` showed
    Status "awaiting attention": the same filter read two ways."""
    from tests.tui.test_search import search

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await search(pilot, app, "kind:copy")
        await wait_for(pilot, lambda: "status: any" in str(app.screen.query_one("#filterbar").render()))
        await press(pilot, "f")
        assert isinstance(app.screen, FormDialog)
        await pilot.pause()
        shown = screen_text(app)
    assert "awaiting attention (searches: any)" in shown, shown


def test_a_long_test_run_reads_in_hours_as_on_the_test_sessions_screen(demo_wb, principal):
    """QA: a session completed days after it started read "4869-minute run by …" in the inbox, where the
    Test sessions screen says 81h09m for the same run."""
    import dataclasses

    from workbench.tui.screens.inbox import test_summary

    row = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("test",)), 0, 50)[0]
    long_run = dataclasses.replace(row, status="completed", extra={**row.extra, "duration_seconds": 4869 * 60 + 5})
    assert test_summary(long_run) == f"81h09m run by {row.text} finished: analyze it"
    short = dataclasses.replace(row, status="completed", extra={**row.extra, "duration_seconds": 21 * 60})
    assert test_summary(short) == f"21-minute run by {row.text} finished: analyze it"
