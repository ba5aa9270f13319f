"""The Line-API list on its own: only visible pages are fetched, the cursor follows its item across reloads."""

from __future__ import annotations

from textual.app import App, ComposeResult

from workbench.tui.widgets.virtual_list import Column, VirtualList


class Numbers:
    """100,000 rows that only exist when asked for; records every fetch."""

    def __init__(self, total: int = 100_000) -> None:
        self.items = list(range(total))
        self.fetches: list[tuple[int, int]] = []

    def count(self) -> int:
        return len(self.items)

    def fetch(self, offset: int, limit: int) -> list[int]:
        self.fetches.append((offset, limit))
        return self.items[offset : offset + limit]

    def key(self, row: int) -> int:
        return row

    def cells(self, row: int) -> list[str]:
        return [f"#{row}", f"row number {row}"]


class ListApp(App[None]):
    def __init__(self, source: Numbers) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield VirtualList(self.source, [Column("ID", 8), Column("TEXT")], page_size=50, id="vl")

    def on_mount(self) -> None:
        self.query_one(VirtualList).reload(keep_cursor=False)
        self.query_one(VirtualList).focus()


async def test_only_the_visible_pages_are_read():
    source = Numbers()
    app = ListApp(source)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        vlist = app.query_one(VirtualList)
        assert vlist.total == 100_000
        assert source.fetches == [(0, 50)]
        await pilot.press("end")
        await pilot.pause()
        assert vlist.cursor == 99_999
        assert source.fetches[-1] == (99_950, 50)
        assert len(source.fetches) <= 3
        await pilot.press("home", "pagedown")
        await pilot.pause()
        assert vlist.cursor == vlist.page_height


async def test_reload_keeps_the_cursor_on_its_item_and_its_line():
    source = Numbers(1_000)
    app = ListApp(source)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        vlist = app.query_one(VirtualList)
        vlist.move_cursor(500)
        await pilot.pause()
        line = vlist.cursor - int(vlist.scroll_y)
        source.items = [-1, -2, -3, *source.items]  # three rows arrive above
        vlist.reload()
        await pilot.pause()
        assert vlist.current == 500 and vlist.cursor == 503
        assert vlist.cursor - int(vlist.scroll_y) == line
        source.items.remove(500)  # the item itself goes: the cursor stays at its index
        vlist.reload()
        assert vlist.current == 501


async def test_space_selects_and_selection_survives_reload():
    source = Numbers(100)
    app = ListApp(source)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        vlist = app.query_one(VirtualList)
        await pilot.press("space", "space", "j", "space")
        assert set(vlist.selection) == {0, 1, 3}
        vlist.reload()
        assert set(vlist.selection) == {0, 1, 3}
        vlist.clear_selection()
        assert not vlist.selection


async def test_empty_list_says_so():
    source = Numbers(0)
    app = ListApp(source)
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        vlist = app.query_one(VirtualList)
        assert vlist.current is None
        await pilot.press("j", "enter", "space")
        assert "Nothing here." in vlist.render_line(1).text


async def test_a_failing_source_is_reported_not_fatal():
    class Broken(Numbers):
        def fetch(self, offset: int, limit: int) -> list[int]:
            from workbench.domain.errors import NotFound

            raise NotFound("Annotation not found")

    app = ListApp(Broken(10))
    async with app.run_test(size=(60, 10), notifications=True) as pilot:
        await pilot.pause()
        vlist = app.query_one(VirtualList)
        assert vlist.current is None
        assert any(n.message == "Annotation not found" for n in app._notifications)
