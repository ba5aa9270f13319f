"""Search in the TUI, driven through keys: the query language across statuses, "no matches", refusals, personas, views, help.

Queries are typed key by key where searching as you type is what a test checks; longer ones are
pasted, since each typed key runs a search and waits for the app to settle."""

from __future__ import annotations

from textual.widgets import Input, Static

from storage import inbox_filters as filters_repo
from tests.found import found
from tests.tui.conftest import SIZE, errors, paste, press, screen_text, type_text, wait_for
from workbench.services import inbox
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.widgets.virtual_list import VirtualList


def inbox_list(app) -> VirtualList:
    return app.screen.query_one("#inbox-list", VirtualList)


async def search(pilot, app, text: str, *, typed: bool = True) -> None:
    """/, the query, enter. ``typed``: key by key, each key searching as you type; else pasted
    (a long query whose typing is not what the test checks: each key would run a search)."""
    await press(pilot, "slash")
    await (type_text if typed else paste)(pilot, text)
    await press(pilot, "enter")


async def test_a_typed_query_searches_every_status(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await search(pilot, app, "checkout")
        await wait_for(pilot, lambda: app.screen.filter.text == "checkout" and not app.screen.counting)
        vlist = inbox_list(app)
        expected = inbox.count(demo_wb, principal, inbox.InboxFilter(text="checkout", status=inbox.ALL))
        assert vlist.total == expected
        statuses = {found(vlist.row_at(i)).status for i in range(vlist.total)}
        assert statuses & {"resolved", "won_t_fix", "duplicate"}, statuses  # closed ones too
        assert "status: any" in str(app.screen.query_one("#filterbar").render())
        # A status named in the query narrows it again.
        await press(pilot, "slash", "end")
        await paste(pilot, " status:resolved kind:bug")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: app.screen.filter.text == "checkout status:resolved kind:bug" and not app.screen.counting)
        rows = [found(vlist.row_at(i)) for i in range(vlist.total)]
        assert rows and all(r.status == "resolved" and r.kind == "bug" for r in rows)


async def test_an_empty_result_says_no_matches_for_the_query(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await search(pilot, app, "zzyzx -coupon")
        await wait_for(pilot, lambda: app.screen.filter.text == "zzyzx -coupon")
        assert inbox_list(app).total == 0
        assert "No matches for zzyzx -coupon" in screen_text(app)


async def test_at_80_columns_an_empty_result_says_all_of_it(app):
    """QA: the empty list's words were one line cut at the list's width: at 80 columns "No matches for …"
    ended "? lists t", losing where the syntax is. They wrap under the header, the list's edge cutting none."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await search(pilot, app, "zzyzx -coupon")
        await wait_for(pilot, lambda: app.screen.filter.text == "zzyzx -coupon" and inbox_list(app).total == 0)
        await pilot.pause()
        region = inbox_list(app).region
        lines = [line[region.x : region.right] for line in screen_text(app).splitlines()[region.y : region.bottom]]
    said = " ".join(" ".join(lines).split())
    assert "No matches for zzyzx -coupon (any status unless the query names one; ? lists the syntax)" in said, lines


async def test_a_query_that_does_not_read_says_why_and_keeps_the_list(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = inbox_list(app).total
        await search(pilot, app, "colour:red")
        bar = str(app.screen.query_one("#filterbar").render())
        assert 'Unknown qualifier "colour:"' in bar and "status:" in bar  # and what is known
        # The list stays on the last query that read: the word typed before the colon, as far as
        # the search-as-you-type had applied it when the colon came ("colou" on a loaded machine).
        assert "colour".startswith(app.screen.filter.text) and inbox_list(app).total <= before
        await press(pilot, "slash", "ctrl+u")
        await paste(pilot, "updated:>2026-13-45")
        await wait_for(pilot, lambda: "cannot read '2026-13-45' as a date" in str(app.screen.query_one("#filterbar").render()))
        await press(pilot, "slash", "ctrl+u")
        await paste(pilot, "updated:2026-11-05..2026-11-01")  # the CLI's parser: a reversed range is said, not an empty list
        await wait_for(pilot, lambda: "is reversed: '2026-11-05' is after" in str(app.screen.query_one("#filterbar").render()))
        assert not errors(app)  # told in the bar, not as a failure
        await press(pilot, "escape")  # clears the search: the bar reads again
        assert "Unknown" not in str(app.screen.query_one("#filterbar").render())


async def test_a_refused_query_keeps_the_box_its_text_and_the_keys(app):
    """QA 6: after Enter on a query that does not read, what is typed edits it (a "q" quit the app)."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen: InboxScreen = app.screen  # type: ignore[assignment]
        box = screen.query_one("#search", Input)
        await search(pilot, app, "foo:bar")
        before = inbox_list(app).total  # the last query that read ("foo", as typed so far)
        assert 'Unknown qualifier "foo:"' in str(screen.query_one("#filterbar").render())
        assert app.focused is box and box.value == "foo:bar"
        await type_text(pilot, "zzzqqqrw")  # quit, resolve and won't-fix on the list
        await pilot.pause()
        assert app.is_running and app.screen is screen and box.value == "foo:barzzzqqqrw"
        assert inbox_list(app).total == before and not errors(app)
        # Focus leaves the box (a click, tab): / brings the refused query back to edit, not an empty box.
        screen.list.focus()
        await press(pilot, "slash")
        assert app.focused is box and box.value == "foo:barzzzqqqrw"
        await press(pilot, "ctrl+u")
        await type_text(pilot, "checkout")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: screen.filter.text == "checkout")
        assert screen.query_error is None and app.focused is screen.list  # a query that reads goes to the list


async def test_editing_back_to_the_query_in_force_clears_the_refusal(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen: InboxScreen = app.screen  # type: ignore[assignment]
        await search(pilot, app, "checkout")
        await wait_for(pilot, lambda: screen.filter.text == "checkout")
        await press(pilot, "slash")
        box = screen.query_one("#search", Input)
        box.value = "checkout foo:bar"  # at once, as a paste: typed, "checkout foo" would apply on the way
        await press(pilot, "enter")
        assert screen.query_error is not None and screen.filter.text == "checkout"
        box.value = "checkout"
        await press(pilot, "enter")
        assert screen.query_error is None and "search: checkout" in str(screen.query_one("#filterbar").render())
        # esc on a refused query clears it and the refusal with it.
        await press(pilot, "slash", "end")
        await paste(pilot, " colour:red")
        await press(pilot, "enter", "escape")
        assert screen.query_error is None and "Unknown" not in str(screen.query_one("#filterbar").render())


async def test_slash_searches_the_personas(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "4")
        screen = app.screen
        vlist = screen.query_one("#persona-list", VirtualList)
        everyone = vlist.total
        await press(pilot, "slash")
        await paste(pilot, "contrast OR keyboard")
        await wait_for(pilot, lambda: 0 < vlist.total < everyone)
        for i in range(vlist.total):
            p = vlist.row_at(i)
            hay = " ".join([p.name, p.category, p.description or "", *p.focus, p.voice or ""]).lower()
            assert "contrast" in hay or "keyboard" in hay
        await press(pilot, "ctrl+u")
        await paste(pilot, "nosuchpersonaword")
        await wait_for(pilot, lambda: vlist.total == 0)
        assert "No matches for nosuchpersonaword" in screen_text(app)
        await press(pilot, "ctrl+u")
        await type_text(pilot, "status:new")
        assert "searched by words only" in str(screen.query_one("#filterbar").render())
        await press(pilot, "escape")
        await wait_for(pilot, lambda: vlist.total == everyone)


async def test_a_saved_view_keeps_its_query_and_old_views_still_open(app, demo_wb, principal):
    with demo_wb.store.write() as db:  # a view saved before the query language: plain words, no qualifier
        filters_repo.save_views(db, principal.workspace_id, {"Old coupons": {"sources": [], "status": "awaiting", "kind": None,
                                                                           "place": None, "assignee": None, "auto_fix": None,
                                                                           "text": "coupon"}})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen: InboxScreen = app.screen  # type: ignore[assignment]
        query = 'checkout -"coupon" status:resolved,duplicate'
        await search(pilot, app, query, typed=False)
        await wait_for(pilot, lambda: screen.filter.text == query and not screen.counting)
        total = inbox_list(app).total
        assert total > 0
        await press(pilot, "v", "s")
        await paste(pilot, "Closed checkout")
        await press(pilot, "enter")
        assert inbox.list_views(demo_wb, principal)["Closed checkout"].text == query
        screen.apply_filter(inbox.InboxFilter(), "Awaiting attention")
        await pilot.pause()
        # Saved views follow the built-ins, by name: "Closed checkout", then "Old coupons".
        await press(pilot, "v", "end", "up", "enter")
        await wait_for(pilot, lambda: screen.filter.text == query and not screen.counting)
        assert screen.view_name == "Closed checkout" and inbox_list(app).total == total
        assert screen.query_one("#search", Input).value == query
        await press(pilot, "v", "end", "enter")
        await wait_for(pilot, lambda: screen.filter.text == "coupon" and not screen.counting)
        assert inbox_list(app).total == inbox.count(demo_wb, principal, inbox.InboxFilter(text="coupon")) > 0
        assert not errors(app)


async def test_help_and_the_palette_document_the_syntax(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "question_mark")
        from rich.console import Console

        console = Console(width=200, record=True, file=__import__("io").StringIO())
        console.print(app.screen.query_one("#search-syntax", Static).content)
        shown = console.export_text()
        for part in ("assignee:", "is:autofix", "age:<7d", "updated:>2026-11-01", '"payment step"', "coupon OR voucher"):
            assert part in shown, part
        await press(pilot, "escape", "ctrl+p")
        await paste(pilot, "query syntax")
        await wait_for(pilot, lambda: "Search: query syntax" in screen_text(app))
        await press(pilot, "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SearchSyntax")
        assert "kind:" in screen_text(app)


async def test_a_live_refresh_under_a_search_counts_in_the_worker(app, demo_wb, principal):
    """A change from elsewhere repaints a search at once; its matches are counted off the UI thread."""
    from workbench.domain.annotations import ReplyCreate
    from workbench.services import annotations as annotations_service

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen: InboxScreen = app.screen  # type: ignore[assignment]
        await search(pilot, app, "zebracrossing OR checkout", typed=False)
        await wait_for(pilot, lambda: not screen.counting and screen.filter.text == "zebracrossing OR checkout")
        before = inbox_list(app).total
        quiet = next(r for r in inbox.window(demo_wb, principal, inbox.InboxFilter(status=inbox.ALL, text="-checkout"), 0, 5))
        annotations_service.reply(demo_wb, principal, quiet.id, ReplyCreate(body="zebracrossing again"))
        ran: list[str] = []
        db = demo_wb.store.db  # this (the UI) thread's connection
        db.set_trace_callback(ran.append)
        try:
            screen.refresh_data()
        finally:
            db.set_trace_callback(None)
        assert not [sql for sql in ran if "count(*)" in sql], ran
        await wait_for(pilot, lambda: not screen.counting and inbox_list(app).total == before + 1)


async def test_a_refusal_is_shown_whole_at_80_columns(app):
    """The filter bar was one line: at 80 columns "quote it: "foo:bar"", what to do instead, was cut off."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen: InboxScreen = app.screen  # type: ignore[assignment]
        await search(pilot, app, "foo:bar", typed=False)
        await wait_for(pilot, lambda: screen.query_error is not None)
        await pilot.pause()
        bar = screen.query_one("#filterbar")
        shown = " ".join(line.strip() for line in screen_text(app).splitlines()[bar.region.y:bar.region.bottom])
        assert f"Search: {screen.query_error}" == shown
        assert screen.list.region.height >= 5  # the list keeps rows under it
        await press(pilot, "escape")  # the query dropped, the bar is one line again
        assert screen.query_error is None and bar.region.height == 1
        # The personas' bar alike: "… -mobile", the example, was past the 80th column.
        await press(pilot, "4", "slash")
        await paste(pilot, "kind:bug")
        personas = app.screen
        bar = personas.query_one("#filterbar")
        await wait_for(pilot, lambda: "Search:" in str(bar.render()))
        await pilot.pause()
        shown = " ".join(line.strip() for line in screen_text(app).splitlines()[bar.region.y:bar.region.bottom])
        assert shown.startswith("Search: Personas are searched by words only") and shown.endswith("-mobile"), shown
