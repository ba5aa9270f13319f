"""Sites: each site's widget tag, to paste into its pages, and the origins allowed to run the widget.

What ``workbench sites snippet`` and ``workbench sites origins`` do, in the terminal (issue 11): the
list of the workspace's sites, and for the highlighted one its tag (with the base pages reach
``workbench serve`` at, remembered once set) and its allowed origins, which ``a`` and ``x`` change.
A replica's sites are the server's: their tag and origins are kept there, so the screen says so and
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.two_pane import RowsSource, TwoPaneScreen
from workbench.tui.widgets.virtual_list import Column, VirtualList

COLUMNS = [Column("NAME", 24, grow=1, max_width=40, min_width=16), Column("URL", 0, min_width=20),
           Column("ORIGINS", 7, justify="right"), Column("SITE ID", 36, drop=1)]


@dataclass(slots=True)
class SiteRow:
    """A site with what the screen shows of its widget (``origins``: None on a replica, where the server keeps them)."""

    id: str
    name: str
    url: str
    origins: list[str] | None


class SiteSource(RowsSource):
    def load(self) -> Sequence[SiteRow]:
        from workbench.services import sites as sites_svc
        from workbench.services import widget as widget_svc

        screen = self.screen
        replica = isinstance(screen, SitesScreen) and screen.remote is not None
        return [SiteRow(s.id, s.name, s.url, None if replica else widget_svc.list_origins(self.wb, screen.principal, s.id))
                for s in sites_svc.list_sites(self.wb, screen.principal)]

    def cells(self, row: SiteRow) -> list[Text | str]:
        origins = Text("server", style="dim") if row.origins is None else Text(str(len(row.origins)),
                                                                                style="" if row.origins else "bold #e05561")
        return [Text(fmt.safe(row.name), style="bold"), fmt.safe(row.url), origins, Text(row.id, style="dim")]


class SitesScreen(TwoPaneScreen):
    """Sites"""

    BINDINGS: ClassVar[list[BindingType]] = keys.SITES
    HELP_SECTION = "Sites"
    AUTO_FOCUS = "#site-list"
    PANES = ("site-list",)

    def __init__(self) -> None:
        super().__init__()
        self.remote: tuple[str, str] | None = None  # (name, URL) of the server a replica's sites belong to
        self.base = ""  # the tag's base: where pages reach `workbench serve`

    def compose_panes(self) -> ComposeResult:
        yield VirtualList(SiteSource(self), COLUMNS, selectable=False, openable=False, id="site-list",
                          empty_text="No sites in this workspace. `workbench sites create NAME URL` adds one.")

    @property
    def list(self) -> VirtualList:
        return self.query_one("#site-list", VirtualList)

    def refresh_data(self) -> None:
        from workbench.domain.errors import NotFound
        from workbench.services import widget as widget_svc
        from workbench.services import workspaces

        try:
            view = workspaces.get(self.wb, self.principal.workspace_id, with_counts=False)
            self.remote = (view.remote, view.remote_url or "") if view.remote else None
        except NotFound:
            self.remote = None
        self.base = widget_svc.tag_base(self.wb)
        self.list.reload(keep_cursor=True)
        self.show_preview()
        rows = self.list.source_as(SiteSource).rows
        if self.remote is not None:
            name, url = self.remote
            self.set_bar("filterbar", f"[b]Sites of the replica {fmt.esc(name)}[/]  [dim]their widget tag and origins are "
                                      f"kept on {fmt.esc(url)}[/]")
        else:
            self.set_bar("filterbar", f"[b]Sites[/]  [dim]the widget's tag (base {fmt.esc(self.base)}) and the origins allowed "
                                      "to run it[/]")
        closed = sum(1 for r in rows if r.origins == [])
        self.set_bar("statusbar", f"[b]{len(rows)}[/] sites" + (f"  │  [b]{closed}[/] with no allowed origin" if closed else ""))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers what the highlighted site allows (dimmed otherwise): nothing on a replica's, where the
        preview says why, and no removal where no origin is allowed."""
        if action in ("add_origin", "remove_origin", "copy_tag", "set_base"):
            row = self.list.current if self.is_mounted else None
            if row is None or self.remote is not None or (action == "remove_origin" and not row.origins):
                return None
        return True

    def preview_of(self, pane: VirtualList, row: SiteRow) -> RenderableType:
        head = Text()
        head.append(fmt.safe(row.name), style="bold")
        head.append(f"  {fmt.safe(row.url)}  · site {row.id}", style="dim")
        if self.remote is not None:
            name, url = self.remote
            return Group(head, Text(f"A replica of {fmt.safe(name)}: this site's widget tag and allowed origins are kept on "
                                    f"{fmt.safe(url)}. Change them there (`workbench sites origins` on its store).", style="dim"))
        tag = self._tag(row)
        parts: list[RenderableType] = [head, Text("Widget tag", style="bold #6fb3d2") + Text(
            f"  y copies it · B sets its base ({fmt.safe(self.base)})", style="dim"), Text(fmt.safe(tag or "—"))]
        title = Text(f"Allowed origins ({len(row.origins or [])})", style="bold #6fb3d2")
        title.append("  a allows one more" + (" · x removes one" if row.origins else ""), style="dim")
        parts.append(title)
        if row.origins:
            parts.extend(Text(f"  {fmt.safe(origin)}") for origin in row.origins)
        else:
            parts.append(Text("  none: no page can run this site's widget", style="bold #e05561"))
        return Group(*parts)

    def _tag(self, row: SiteRow) -> str | None:
        from workbench.services import widget as widget_svc

        ok, tag = self.attempt(widget_svc.snippet, self.wb, self.principal, row.id, self.base, quiet=True)
        return tag if ok else None

    def _site(self) -> SiteRow | None:
        """The highlighted site, if this screen may change it (else said why)."""
        row = self.list.current
        if row is None:
            self.notify("No site here", severity="warning")
            return None
        if self.remote is not None:
            self.notify(f"This site's widget is kept on {fmt.safe(self.remote[1])}: change it there", severity="warning")
            return None
        return row

    # -- actions ---------------------------------------------------------------------------
    def _said(self, words: Callable[[Any], str]) -> Callable[[Any], None]:
        """A dialog's close: what its change did, in ``words(result)``, and the screen read again (nothing if cancelled)."""

        def closed(result: Any) -> None:
            if result is not None:
                self.notify(words(result))
                self.refresh_data()

        return closed

    def action_copy_tag(self) -> None:
        row = self._site()
        if row is None:
            return
        tag = self._tag(row)
        if tag is None:
            self.notify("Only the workspace's owner may see the widget tag", severity="error")
            return
        self.app.copy_to_clipboard(tag)
        self.notify(f"Copied the widget tag of {fmt.safe(row.name)}: paste it into the site's pages")

    def action_add_origin(self) -> None:
        from workbench.services import widget as widget_svc
        from workbench.tui.screens.forms import Field, FormDialog

        row = self._site()
        if row is None:
            return

        def submit(values: dict[str, Any]) -> Any:
            return widget_svc.add_origin(self.wb, self.principal, row.id, values["origin"])

        said = self._said(lambda origins: f"{fmt.safe(row.name)} now allows {fmt.plural(len(origins), 'origin')}")
        self.app.push_screen(FormDialog(
            f"Allow an origin to run {fmt.safe(row.name)}'s widget",
            [Field("origin", "Origin", placeholder="https://shop.example or http://localhost:5173")],
            submit=submit, submit_label="Allow", wide=True,
            hint="scheme://host[:port], no path · {form.save}: allow · {form.cancel}: cancel"), said)

    def action_remove_origin(self) -> None:
        from workbench.services import widget as widget_svc
        from workbench.tui.screens.forms import ChoiceDialog

        row = self._site()
        if row is None:
            return
        if not row.origins:
            self.notify("This site allows no origin", severity="warning")
            return

        said = self._said(lambda origin: f"{fmt.safe(origin)} no longer runs {fmt.safe(row.name)}'s widget")
        self.app.push_screen(ChoiceDialog(
            "Stop allowing which origin? Its pages' widget can no longer send",
            [(Text(fmt.safe(origin)), origin) for origin in row.origins],
            choose=lambda origin: widget_svc.remove_origin(self.wb, self.principal, row.id, origin)), said)

    def action_set_base(self) -> None:
        from workbench.services import widget as widget_svc
        from workbench.tui.screens.forms import Field, FormDialog

        if self._site() is None:
            return

        def submit(values: dict[str, Any]) -> Any:
            return widget_svc.set_tag_base(self.wb, self.principal, values["base"])

        said = self._said(lambda base: f"The widget tag now loads from {fmt.safe(base)}")
        self.app.push_screen(FormDialog(
            "Where pages reach `workbench serve`",
            [Field("base", "Base URL", value=self.base, placeholder="https://feedback.example")],
            submit=submit, submit_label="Save", wide=True,
            hint="an http(s) URL, remembered for this store · {form.save}: save · {form.cancel}: cancel"), said)
