"""A Line-API virtual list: renders only the visible rows, asking a data source for one page at a time.

Never a widget (or a DataTable row) per item: at 100,000 rows that costs 17-28 s and 120 MB
on this machine, while reading the visible page from SQLite paints in milliseconds. The list
keeps a few pages of rows and the rendered strips of what was on screen; ``reload`` drops
them and recounts, keeping the cursor on the same item and that item on the same screen line.

Line 0 is a sticky column header; row ``i`` of the source is virtual line ``i + 1``.

The list only posts messages (``Highlighted``, ``Activated``, ``SelectionChanged``); its
parent decides what they mean ("attributes down, messages up"). Empty, it says so itself: its
``empty_text`` in place of rows, and again in a notice when enter finds nothing to open.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.domain.safe_text import screen_safe

S = TypeVar("S")


class ListSource(Protocol):
    """What a VirtualList reads: a count, pages of rows, a key per row and its cells."""

    def count(self) -> int: ...

    def fetch(self, offset: int, limit: int) -> Sequence[Any]: ...

    def key(self, row: Any) -> Hashable: ...

    def cells(self, row: Any) -> Sequence[Text | str]: ...


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    width: int = 0  # 0: takes the remaining width (at most one flex column per list)
    justify: str = "left"
    min_width: int = 8
    # Wide terminals: once the flex column has ``SHARE_FROM`` cells, the space beyond goes to
    # the columns with ``grow``, by weight, each up to ``max_width``; the flex column takes what
    # is left. Long site names and page paths are then not cut.
    grow: int = 0
    max_width: int = 0
    # Narrow terminals: when the flex column would get less than its ``min_width``, growing
    # columns give back cells down to their own ``min_width``, then columns with ``drop`` are
    # hidden, highest first, so the text column stays readable at 80 columns and below.
    drop: int = 0


SHARE_FROM = 40  # cells the flex column keeps before the others grow (then it takes what they leave)


GUTTER = 2  # the selection mark "● " before the first column


class VirtualList(ScrollView, can_focus=True):
    """A keyboard-and-mouse list over a ``ListSource`` of any size."""

    ALLOW_MAXIMIZE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("home,g", "first", "First", show=False, id="list.first"),
        Binding("end,G", "last", "Last", show=False, id="list.last"),
        Binding("enter", "activate", "Open", id="list.open"),
        Binding("space", "toggle_select", "Select", id="list.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-list--header",
        "virtual-list--cursor",
        "virtual-list--selected",
        "virtual-list--empty",
        "virtual-list--mark",
    }

    DEFAULT_CSS = """
    VirtualList {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .virtual-list--header { color: $text-muted; text-style: bold; background: $panel; }
        /* Focus must show at any colour depth: the two tints of $primary (30 %, 45 %) became one
           colour in 256 colours (textual-dark, dracula, tokyo-night…), leaving only bold. A neutral
           grey for the list without focus stays apart from the tinted one in 256 colours, and the
           "›" mark (render_line) follows focus, which no palette can merge. */
        & > .virtual-list--cursor { background: $surface-lighten-2; }
        &:focus > .virtual-list--cursor { background: $block-cursor-background 45%; text-style: bold; }
        & > .virtual-list--selected { background: $accent 25%; }
        & > .virtual-list--mark { color: $accent; text-style: bold; }
        & > .virtual-list--empty { color: $text-muted; text-style: italic; }
    }
    """

    class _RowMessage(Message):
        """A message about one row: which list, the row's index and the row."""

        def __init__(self, vlist: VirtualList, index: int, row: Any) -> None:
            super().__init__()
            self.vlist = vlist
            self.index = index
            self.row = row

        @property
        def control(self) -> VirtualList:
            return self.vlist

    class Highlighted(_RowMessage):
        """The cursor moved to another row (or the row under it changed)."""

    class Activated(_RowMessage):
        """Enter or a double click on a row."""

    class SelectionChanged(Message):
        def __init__(self, vlist: VirtualList, count: int) -> None:
            super().__init__()
            self.vlist = vlist
            self.count = count

        @property
        def control(self) -> VirtualList:
            return self.vlist

    def __init__(
        self,
        source: ListSource | None = None,
        columns: Sequence[Column] = (),
        *,
        page_size: int = 100,
        max_pages: int = 8,
        selectable: bool = True,
        openable: bool = True,
        empty_text: str = "Nothing here.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.source = source
        self.columns = list(columns)
        self.page_size = page_size
        self.max_pages = max_pages
        self.selectable = selectable
        # Whether its screen opens a row on enter: a list whose rows are acted on by keys of their
        # own (the sync screen's m/t/r/x, a test session's c/z/C) offered "⏎ Open" and did nothing.
        self.openable = openable
        self.empty_text = empty_text
        self.total = 0
        self.cursor = 0
        self.selection: dict[Hashable, Any] = {}
        self._pages: OrderedDict[int, Sequence[Any]] = OrderedDict()
        self._strips: dict[tuple, Strip] = {}
        self._last_highlight: Hashable | None = None
        self.paint_listeners: list[Callable[[], None]] = []
        self._widths: tuple[int, list[int]] | None = None

    def source_as(self, kind: type[S]) -> S:
        """The source, as the screen that set it knows it to be (a mismatch is a bug: it raises)."""
        if not isinstance(self.source, kind):
            raise TypeError(f"{self.id}: the source is a {type(self.source).__name__}, not a {kind.__name__}")
        return self.source

    def _guard(self, call: Callable[..., Any], fallback: Any, *args: Any) -> Any:
        """A source that fails (a row deleted under us, a refused read) shows as empty, never crashes."""
        try:
            return call(*args)
        except Exception as exc:  # noqa: BLE001 - see the docstring: an empty list, never a crash
            from workbench.tui.app import refusal_text

            self.log.error(f"list source failed: {exc!r}")
            self.app.notify(refusal_text(exc), title="Could not read the list", severity="error", markup=False)
            return fallback

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not ((action == "toggle_select" and not self.selectable) or (action == "activate" and not self.openable))

    # -- data ------------------------------------------------------------------------------
    def row_at(self, index: int) -> Any | None:
        if self.source is None or not 0 <= index < self.total:
            return None
        page_no, at = divmod(index, self.page_size)
        page = self._pages.get(page_no)
        if page is None:
            page = self._guard(self.source.fetch, [], page_no * self.page_size, self.page_size)
            self._pages[page_no] = page
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_no)
        return page[at] if at < len(page) else None

    @property
    def current(self) -> Any | None:
        return self.row_at(self.cursor)

    def reload(
        self,
        *,
        keep_cursor: bool = True,
        position: Callable[[Any], int | None] | None = None,
        first_page: Sequence[Any] | None = None,
        total: int | None = None,
    ) -> None:
        """Recount and drop cached pages; the cursor stays on its item (found by key).

        ``position`` maps the old row to its new index when the item is not near the cursor
        any more (e.g. a query of the source); without it the cursor keeps its index.
        ``first_page`` (rows 0..page_size) and ``total`` let a caller paint before the count
        is known: pass a provisional total, then ``set_total`` when the count arrives.
        """
        old_row = self.current if keep_cursor else None
        old_screen_line = self.cursor - int(self.scroll_y)
        self._pages.clear()
        self._strips.clear()
        if first_page is not None:
            self._pages[0] = first_page
        if total is not None:
            self.total = total
        else:
            self.total = self._guard(self.source.count, 0) if self.source is not None else 0
        new_cursor = min(self.cursor, max(self.total - 1, 0)) if keep_cursor else 0
        if old_row is not None and self.source is not None:
            key = self.source.key(old_row)
            found = self._find_near(key, self.cursor)
            if found is None and position is not None:
                try:
                    found = position(old_row)
                except Exception:  # noqa: BLE001 - a failed lookup just keeps the index
                    found = None
                if found is not None and not (0 <= found < self.total and self._key_at(found) == key):
                    found = None
            if found is not None:
                new_cursor = found
        self.cursor = new_cursor
        self.virtual_size = Size(max(self.size.width, 1), self.total + 1)
        if keep_cursor:
            # The item keeps its line on screen, so a refresh never makes the view jump.
            target = self.cursor - old_screen_line
            self.scroll_to(y=max(0, min(target, self.max_scroll_y_for_total())), animate=False)
        self._ensure_cursor_visible()
        self.refresh()
        self._post_highlight(force=not keep_cursor)

    def set_total(self, total: int) -> None:
        """The exact row count arrived (after a provisional ``reload(total=…)``)."""
        if total == self.total:
            return
        self.total = total
        self.virtual_size = Size(max(self.size.width, 1), total + 1)
        if self.cursor >= total:
            self.move_cursor(max(total - 1, 0))
        self.refresh()

    def max_scroll_y_for_total(self) -> int:
        return max(0, self.total + 1 - self.scrollable_content_region.height)

    def _key_at(self, index: int) -> Hashable | None:
        row = self.row_at(index)
        return None if row is None or self.source is None else self.source.key(row)

    def _find_near(self, key: Hashable, index: int, radius: int = 60) -> int | None:
        if self.total == 0:
            return None
        for delta in range(radius + 1):
            for i in (index - delta, index + delta) if delta else (index,):
                if 0 <= i < self.total and self._key_at(i) == key:
                    return i
        return None

    # -- selection ---------------------------------------------------------------------------
    def clear_selection(self) -> None:
        if self.selection:
            self.selection.clear()
            self._strips.clear()
            self.refresh()
            self.post_message(self.SelectionChanged(self, 0))

    def select_rows(self, rows: Sequence[Any]) -> None:
        if self.source is None:
            return
        for row in rows:
            self.selection[self.source.key(row)] = row
        self._strips.clear()
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self.selection)))

    @property
    def selected_rows(self) -> list[Any]:
        return list(self.selection.values())

    # -- cursor ----------------------------------------------------------------------------
    def move_cursor(self, index: int) -> None:
        if self.total == 0:
            return
        index = max(0, min(index, self.total - 1))
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        self._refresh_index(old)
        self._refresh_index(index)
        self._ensure_cursor_visible()
        self._post_highlight()

    def _refresh_index(self, index: int) -> None:
        self.refresh_line(index + 1)

    def _ensure_cursor_visible(self) -> None:
        height = self.scrollable_content_region.height - 1  # minus the header line
        if height <= 0:
            return
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def _post_highlight(self, force: bool = False) -> None:
        row = self.current
        key = None if row is None or self.source is None else self.source.key(row)
        if force or key != self._last_highlight:
            self._last_highlight = key
            self.post_message(self.Highlighted(self, self.cursor, row))

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self.page_height)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self.page_height)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.total - 1)

    def action_activate(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Activated(self, self.cursor, row))
        elif self.total == 0:
            # The footer offers "⏎ Open" on every list: on an empty one enter did nothing, silently.
            self.notify(self.empty_text, title="Nothing to open", severity="warning")

    def action_toggle_select(self) -> None:
        row = self.current
        if row is None or self.source is None or not self.selectable:
            return
        key = self.source.key(row)
        if key in self.selection:
            del self.selection[key]
        else:
            self.selection[key] = row
        self._strips.clear()
        self._refresh_index(self.cursor)
        self.post_message(self.SelectionChanged(self, len(self.selection)))
        self.move_cursor(self.cursor + 1)

    # -- mouse -----------------------------------------------------------------------------
    async def _on_click(self, event: events.Click) -> None:
        if event.y <= 0:
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < self.total:
            self.move_cursor(index)
            if event.chain >= 2:
                self.action_activate()

    # -- rendering ---------------------------------------------------------------------------
    def layout_widths(self, width: int) -> list[int]:
        """Cell widths of the columns for a line ``width`` cells wide (one space between)."""
        cached = self._widths
        if cached is not None and cached[0] == width:
            return cached[1]
        inner = max(width - GUTTER, 0)
        fixed = sum(c.width for c in self.columns if c.width) + max(len(self.columns) - 1, 0)
        flex = max(inner - fixed, 0)
        widths = [c.width if c.width else max(flex, c.min_width) for c in self.columns]
        flex_at = next((i for i, c in enumerate(self.columns) if not c.width), None)
        if flex_at is not None and inner - fixed < self.columns[flex_at].min_width:
            short = self.columns[flex_at].min_width - (inner - fixed)
            for i, c in enumerate(self.columns):
                if c.grow and c.width and short > 0:
                    give = min(c.width - min(c.min_width, c.width), short)
                    widths[i] -= give
                    short -= give
            for i in sorted((i for i, c in enumerate(self.columns) if c.drop), key=lambda i: -self.columns[i].drop):
                if short <= 0:
                    break
                short -= widths[i] + 1  # its separator goes with it (``_cells_strip`` skips both)
                widths[i] = 0
            widths[flex_at] = self.columns[flex_at].min_width - min(short, 0)
        spare = flex - SHARE_FROM
        growing = [i for i, c in enumerate(self.columns) if c.grow and c.width and c.max_width > c.width]
        if flex_at is not None and spare > 0:
            given = 0
            while growing and spare - given > 0:
                # Shared by weight; a column at its max leaves its share to the others next round.
                left = spare - given
                weight = sum(self.columns[i].grow for i in growing)
                for i in growing:
                    c = self.columns[i]
                    extra = min(max(left * c.grow // weight, 1), c.max_width - widths[i], spare - given)
                    widths[i] += extra
                    given += extra
                growing = [i for i in growing if widths[i] < self.columns[i].max_width]
            widths[flex_at] -= given
        self._widths = (width, widths)
        return widths

    def column_width(self, index: int) -> int:
        """The cell width of column ``index`` as last laid out (0 before the first paint)."""
        cached = self._widths
        return cached[1][index] if cached is not None and index < len(cached[1]) else 0

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        self.virtual_size = Size(max(self.size.width, 1), self.total + 1)
        self._ensure_cursor_visible()

    def _cells_strip(self, cells: Sequence[Text | str], width: int, base: Style, mark: str, mark_style: Style) -> Strip:
        """One row as segments: each cell cut or padded to its column width (about 0.1 ms a row).

        Plain strings and single-style Text take a fast path (no Rich layout); Text with spans
        (e.g. a progress bar) is cut with Rich and rendered.
        """
        widths = self.layout_widths(width)
        segments: list[Segment] = [Segment(mark.ljust(GUTTER)[:GUTTER], base + mark_style)]
        total = GUTTER
        console = self.app.console
        columns = self.columns
        for i, (cell, cell_width) in enumerate(zip(cells, widths, strict=False)):
            if not cell_width:
                continue  # a dropped column (``layout_widths``)
            if total > GUTTER:
                segments.append(Segment(" ", base))
                total += 1
            right = columns[i].justify == "right" if i < len(columns) else False
            if isinstance(cell, Text) and cell.spans:
                text = cell.copy()
                text.no_wrap = True
                text.truncate(cell_width, overflow="ellipsis", pad=not right)
                if right and text.cell_len < cell_width:
                    text = Text(" " * (cell_width - text.cell_len)) + text
                cell_segments = [seg for seg in text.render(console) if seg.text != "\n"]
                segments.extend(Segment.apply_style(cell_segments, base))
            else:
                # Cells are mostly user text, and not every source remembers to sanitise it: shown
                # here, an escape reads "\x1b" as in the inbox instead of vanishing in the line
                # filter ("wipe[2J"). Already-visible escapes pass unchanged.
                plain = screen_safe(cell.plain if isinstance(cell, Text) else str(cell))
                style = base
                if isinstance(cell, Text) and cell.style:
                    cell_style = cell.style
                    style = base + (Style.parse(cell_style) if isinstance(cell_style, str) else cell_style)
                if "\n" in plain:
                    plain = plain.replace("\n", " ")
                length = cell_len(plain)
                if length > cell_width:
                    plain = set_cell_size(plain, max(cell_width - 1, 0)) + ("…" if cell_width else "")
                    length = cell_width
                pad = " " * (cell_width - length)
                segments.append(Segment(pad + plain if right else plain + pad, style))
            total += cell_width
        return Strip(segments, total).adjust_cell_length(width, base)

    def render_lines(self, crop: Any) -> list[Strip]:
        lines = super().render_lines(crop)
        for listener in list(self.paint_listeners):
            listener()
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header_style = base + self.get_component_rich_style("virtual-list--header")
            return self._cells_strip([c.label for c in self.columns], width, header_style, "", header_style)
        index = int(self.scroll_y) + y - 1
        if self.total == 0:
            # Wrapped, not cut: at 80 columns an empty search's "No matches for …" lost the end of its
            # line, the "? lists the syntax" that says where to look next.
            said = Text(screen_safe(self.empty_text)).wrap(self.app.console, max(width - 2, 1))
            if 1 <= y <= len(said):
                style = base + self.get_component_rich_style("virtual-list--empty")
                return Strip([Segment("  " + said[y - 1].plain.rstrip(), style)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None or self.source is None:
            return Strip.blank(width, base)
        selected = self.source.key(row) in self.selection
        is_cursor = index == self.cursor
        cache_key = (index, width, is_cursor, selected, self.has_focus)
        strip = self._strips.get(cache_key)
        if strip is not None:
            return strip
        style = base
        if selected:
            style = style + self.get_component_rich_style("virtual-list--selected")
        if is_cursor:
            style = style + self.get_component_rich_style("virtual-list--cursor")
        mark_style = style + self.get_component_rich_style("virtual-list--mark")
        # The cursor's mark only where keys act (the focused list): a blurred list's cursor is its grey bar.
        mark = "●" if selected else ("›" if is_cursor and self.has_focus else "")
        strip = self._cells_strip(self.source.cells(row), width, style, mark, mark_style)
        if len(self._strips) > 512:
            self._strips.clear()
        self._strips[cache_key] = strip
        return strip

    def notify_style_update(self) -> None:
        # A theme change restyles the widget: strips painted in the old colours must go.
        super().notify_style_update()
        self._strips.clear()

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()
