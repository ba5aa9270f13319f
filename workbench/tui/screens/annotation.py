"""One annotation: body, page, selector, computed styles, screenshot, thread, resolutions and history.

Keys: one per status (n a t i r w d), reply (c), assign (A), attach a resolution (e), run
personas (p, in a worker), copy the markdown rendering (y), open the page or a diff URL in the
browser (o), previous/next in the inbox ([ ]). Pictures (screenshot, before/after) and the
capture's console errors and failed requests appear when the annotation has them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalScroll, VerticalScroll
from textual.widgets import Header, Static

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.messages import ActionRefused, ActionSucceeded, PersonasReviewed
from workbench.tui.screens.base import DETAIL_CSS, WorkbenchScreen
from workbench.tui.screens.forms import Field, FormDialog
from workbench.tui.widgets.footer import Footer
from workbench.tui.widgets.key_line import KeyLine, Parts
from workbench.tui.widgets.sync_line import SyncLine


def _iso_ms(value: str | None) -> int | None:
    if not value:
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


AUTHOR_STYLE = {"user": "bold #6fb3d2", "agent": "bold #c792ea", "persona": "bold #f0a36b", "system": "bold #8c8c8c"}
# Said in the place of a picture this store has no file for (services.resolutions.Evidence.missing).
MISSING_PICTURE = {"removed": "missing from this store's uploads (its file was removed)",
                   "not_fetched": "not in this store yet (a sync fetches it)"}


class AnnotationScreen(WorkbenchScreen):
    """Annotation"""

    BINDINGS: ClassVar[list[BindingType]] = keys.ANNOTATION
    HELP_SECTION = "Annotation"
    CSS_PATH = DETAIL_CSS

    def __init__(self, annotation_id: str, *, neighbours: Callable[[str, int], str | None] | None = None) -> None:
        super().__init__()
        self.annotation_id = annotation_id
        self.neighbours = neighbours
        self.ann: Any = None
        self.personas_running = False
        self.shown_pictures: tuple[Any, ...] | None = None
        self.duplicate_of: str | None = None  # the annotation a "duplicate of …" summary names

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with VerticalScroll(id="detail"):
            yield Static("", id="ann-head")
            yield KeyLine(id="ann-keys")
            yield Static("", id="ann-body")
            yield Static("Details", classes="section-title")
            yield Static("", id="ann-facts")
            yield Static("Pictures", classes="section-title", id="pics-title")
            yield HorizontalScroll(id="ann-pictures")
            yield Static("Console errors and failed requests", classes="section-title", id="logs-title")
            yield Static("", id="ann-logs")
            yield Static("Computed styles", classes="section-title", id="styles-title")
            yield Static("", id="ann-styles")
            yield Static("", classes="section-title", id="thread-title")
            yield Static("", id="ann-thread")
            yield Static("", classes="section-title", id="res-title")
            yield Static("", id="ann-resolutions")
            yield Static("History", classes="section-title")
            yield Static("", id="ann-history")
        yield SyncLine()
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Annotation"
        self.refresh_data()
        self.query_one("#detail").focus()

    # -- data ------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        from workbench.services import annotations as service
        from workbench.services import inbox, resolutions

        wb, principal = self.wb, self.principal
        ok, ann = self.attempt(service.get, wb, principal, self.annotation_id, quiet=True)
        if not ok:
            self.query_one("#ann-head", Static).update(Text(f"This annotation is not available: {ann}", style="bold red"))
            return
        self.ann = ann
        detail = service.detail(wb, principal, ann.id)
        history = service.history(wb, principal, ann.id)
        facets = inbox.facets(wb, principal)
        # member_names, not facets.members: on a replica the local user is no assignee the server
        # knows, yet its own changes in the history must read as its name, not as its id.
        members = inbox.member_names(wb, principal)
        now = self.now()
        site = facets.place_name(ann.site_id) or ann.site_id

        lead = Text.assemble((f" {fmt.status_label(ann.status)} ", f"bold reverse {fmt.STATUS_COLORS.get(ann.status, '')}"), "  ")
        facts = [
            Text(ann.kind, style="bold"),
            Text(fmt.safe(site)),
            Text(fmt.safe(fmt.page_path(ann.page_url))),
            Text(fmt.ago(now, ann.created_at), style="dim"),
            Text(f"…{fmt.short_id(ann.id)}", style="dim"),
        ]
        if ann.auto_fix:
            facts.append(Text("auto-fix authorised", style="bold #e6c84f"))
        if self.personas_running:
            facts.append(Text("running personas…", style="italic #f0a36b"))
        self.query_one("#ann-head", Static).update(Parts(lead, facts, sep="  ·  "))
        self.query_one("#ann-keys", KeyLine).show(Text("set status  ", style="dim"), self._status_keys(ann.status))

        body: list[Any] = [Text(""), fmt.markdown(ann.body)]
        self.duplicate_of = None
        if ann.summary:
            body.append(self._summary(ann.summary))
        self.query_one("#ann-body", Static).update(Group(*body))

        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="dim", no_wrap=True)
        facts.add_column()
        kind = "stakeholder" if ann.stakeholder_token else "anonymous visitor"
        # Unnamed, the kind says it alone: "anonymous (anonymous visitor)" said it twice.
        submitter = f"{ann.submitter_name} ({kind}" if ann.submitter_name else f"{kind} (no name given"
        # Rich parses str cells as markup: every user value goes in as a plain Text.
        facts.add_row("Page", fmt.plain(ann.page_url))
        facts.add_row("Selector", fmt.plain(ann.selector or "—", style="bold" if ann.selector else "dim"))
        facts.add_row("Submitted by", fmt.plain(f"{submitter}{', email on file' if ann.submitter_email else ''})"))
        facts.add_row("Assignee", fmt.plain(inbox.member_name(ann.assignee_id, members) if ann.assignee_id else "—"))
        facts.add_row("Auto-fix", "authorised" if ann.auto_fix else "not authorised")
        pictures = resolutions.picture_facts(wb, principal, ann.id)
        facts.add_row("Screenshot", fmt.picture(ann.screenshot_key, pictures))
        facts.add_row("Created", f"{fmt.ago(now, ann.created_at)}  ({detail['created_at']})")
        facts.add_row("Updated", f"{fmt.ago(now, ann.updated_at)}  (version {ann.version})")
        self.query_one("#ann-facts", Static).update(facts)

        self._pictures(ann)

        styles = ann.computed_styles or {}
        self.query_one("#styles-title").display = bool(styles)
        self.query_one("#ann-styles").display = bool(styles)
        if styles:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="#6fb3d2", no_wrap=True)
            table.add_column()
            for key in sorted(styles):
                value = str(styles[key])
                swatch = Text("■ ", style=value) if value.startswith("#") and len(value) in (4, 7) else Text("")
                table.add_row(fmt.plain(key), swatch + fmt.plain(value))
            self.query_one("#ann-styles", Static).update(table)

        replies = detail["replies"]
        self.query_one("#thread-title", Static).update(f"Thread ({len(replies)})")
        if replies:
            parts = []
            for r in replies:
                author = r["author"]
                line = Text()
                line.append(fmt.safe(author["name"]), style=AUTHOR_STYLE.get(author["type"], "bold"))
                line.append(f"  {author['type']} · {fmt.ago(now, _iso_ms(r['created_at']))}", style="dim")
                if parts:
                    parts.append(Text(""))
                parts.append(line)
                parts.append(fmt.markdown(r["body"], indent=2))
            self.query_one("#ann-thread", Static).update(Group(*parts))
        else:
            self.query_one("#ann-thread", Static).update(Text("No replies yet. Press c to reply, p to ask personas.", style="dim"))

        resolutions = detail["resolutions"]
        self.query_one("#res-title", Static).update(f"Resolutions ({len(resolutions)})")
        if resolutions:
            parts = []
            for i, res in enumerate(resolutions, 1):
                line = Text()
                line.append(f"#{i}", style="bold")
                line.append(f"  {fmt.ago(now, _iso_ms(res['created_at']))}  ·  notification: ", style="dim")
                status = res["notification_status"]
                line.append(status, style="bold #4fbf67" if status in ("emailed", "replied") else "bold #e6c84f")
                parts.append(line)
                for label in ("before", "after"):
                    if res.get(f"{label}_key"):
                        parts.append(Text(f"  {label:<8}") + fmt.picture(res[f"{label}_key"], pictures))
                if res.get("diff_url"):
                    parts.append(fmt.plain(f"  {'diff':<8}{res['diff_url']}"))
                if res.get("explanation"):
                    parts.append(fmt.markdown(res["explanation"], indent=2))
            self.query_one("#ann-resolutions", Static).update(Group(*parts))
        else:
            self.query_one("#ann-resolutions", Static).update(
                Text("None yet. Press e to attach before/after evidence, a diff URL or an explanation.", style="dim"))

        rows = Table.grid(padding=(0, 2))
        rows.add_column(style="dim", no_wrap=True, justify="right")
        rows.add_column(no_wrap=True)
        rows.add_column()
        for entry in history:
            rows.add_row(fmt.ago(now, entry["at"]), fmt.plain(_who(entry, members)), fmt.plain(_describe(entry, members)))
        self.query_one("#ann-history", Static).update(rows if history else Text("No recorded changes.", style="dim"))

    def _summary(self, text: str) -> Text:
        """The summary; "duplicate of <id>" becomes a link (a click, or the key) to that annotation."""
        from workbench.domain.duplicates import duplicate_target
        from workbench.services import annotations as service

        summary = Text("\nSummary: ", style="bold")
        target = duplicate_target(text)
        ok, other = self.attempt(service.get, self.wb, self.principal, target, quiet=True) if target else (False, None)
        if not ok or other is None:
            summary.append(fmt.safe(text))
            return summary
        self.duplicate_of = other.id
        summary.append("duplicate of ")
        link = Style(underline=True, bold=True, meta={"@click": "screen.open_duplicate"})
        summary.append(fmt.safe(f"“{fmt.first_line(other.body)[:70]}”"), style=link)
        summary.append(f" ({fmt.status_label(other.status)}, …{fmt.short_id(other.id)})", style="dim")
        key = self.app.get_key_display(Binding(keys.keys_of("annotation.open_duplicate", self._overrides())[0], ""))
        summary.append(f"   {key}: open it", style="dim")
        return summary

    def _overrides(self) -> dict[str, str] | None:
        return getattr(getattr(self.app, "keymap_info", None), "bindings", None)

    def action_open_duplicate(self) -> None:
        """Follow "duplicate of …" to the annotation it names (esc comes back here)."""
        if self.duplicate_of is None:
            self.notify("This annotation is not a duplicate of another one", severity="warning")
            return
        self.app.push_screen(AnnotationScreen(self.duplicate_of))

    def _pictures(self, ann: Any) -> None:
        """The screenshot and evidence images, rebuilt only when the files change (live refresh is frequent).

        A picture the record names but this store has no file for is said in its place: not fetched
        yet by a replica's sync, or gone from the uploads (deleted by hand).
        """
        from workbench.services import resolutions

        capture = getattr(ann, "capture", None)  # the widget's capture, on stores that record it
        logs = None
        if capture:
            from workbench.tui.widgets.pictures import capture_logs

            logs = capture_logs(capture)
        for widget_id in ("#logs-title", "#ann-logs"):
            self.query_one(widget_id).display = logs is not None
        if logs is not None:
            self.query_one("#ann-logs", Static).update(logs)

        ok, evidence = self.attempt(resolutions.evidence_files, self.wb, self.principal, ann.id, quiet=True)
        # (label, file, its mtime, why it is missing): what is drawn, compared with what was.
        shown: list[tuple[str, Path, int | None, str | None]] = []
        for label, path, missing in evidence if ok else []:
            try:
                mtime = path.stat().st_mtime_ns if missing is None else None
            except OSError:  # deleted since the service looked
                mtime, missing = None, "removed"
            shown.append((label, path, mtime, MISSING_PICTURE[missing] if missing else None))
        for widget_id in ("#pics-title", "#ann-pictures"):
            self.query_one(widget_id).display = bool(shown)
        if tuple(shown) == self.shown_pictures:
            return
        self.shown_pictures = tuple(shown)
        box = self.query_one("#ann-pictures", HorizontalScroll)
        box.remove_children()
        if shown:
            from workbench.tui.widgets.pictures import Picture, pin_of

            pin = pin_of(capture)
            box.mount_all(Picture(label, path, pin if label == "Screenshot" else None, missing=words)
                          for label, path, _, words in shown)

    def _status_keys(self, current: str) -> list[Text]:
        """The status keys as bound now (keys.toml may have changed them), the current one lit."""
        from workbench.tui.help import binding_rows

        keys_by_action = {action: key for _s, key, _d, node, action in binding_rows(self) if node is self}
        hints: list[Text] = []
        for status in ("new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate"):
            key = keys_by_action.get(f"set_status('{status}')")
            if key is None:
                continue
            style = f"bold reverse {fmt.STATUS_COLORS.get(status, '')}" if status == current else fmt.STATUS_COLORS.get(status, "")
            hint = Text()
            hint.append(f" {key} ", style="bold")
            hint.append(f"{fmt.status_label(status)}", style=style)
            hint.append("  ")
            hints.append(hint)
        return hints

    # -- actions ---------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#detail", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_step(self, step: int) -> None:
        if self.neighbours is None:
            return
        target = self.neighbours(self.annotation_id, step)
        if target is None:
            self.notify("No more annotations this way", severity="warning")
            return
        self.annotation_id = target
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
        self.refresh_data()

    def action_set_status(self, status: str) -> None:
        from workbench.tui.screens import triage

        triage.set_status(self.wb_app, self.annotation_id, status, on_done=self.refresh_data)

    def action_assign(self) -> None:
        from workbench.tui.screens import triage

        triage.assign(self.wb_app, self.annotation_id, on_done=self.refresh_data)

    def action_reply(self) -> None:
        from workbench.tui.screens.reply import ReplyDialog  # keeps the text as a draft until it is sent
        from workbench.tui.undo import before_it_runs

        def closed(result: Any) -> None:
            if result is not None:
                self.notify("Reply posted")
                self.refresh_data()
                self.query_one("#detail", VerticalScroll).scroll_end(animate=False)

        title = "Reply\n" + before_it_runs(self.wb_app, "reply")
        self.app.push_screen(ReplyDialog(self.wb, self.principal, self.annotation_id, title), closed)

    def action_open_url(self) -> None:
        from workbench.services import annotations as service
        from workbench.tui.open_url import choose_and_open

        if self.ann is None:
            return
        ok, detail = self.attempt(service.detail, self.wb, self.principal, self.annotation_id)
        if not ok:
            return
        choices = [("Page", self.ann.page_url)]
        resolutions = detail["resolutions"]
        for i, res in enumerate(resolutions, 1):
            if res.get("diff_url"):
                choices.append((f"Diff #{i}" if len(resolutions) > 1 else "Diff", res["diff_url"]))
        choose_and_open(self, choices)

    def action_copy_markdown(self) -> None:
        from workbench.services import annotations as service

        ok, text = self.attempt(service.render_markdown, self.wb, self.principal, self.annotation_id)
        if ok:
            # As `--markdown` prints it: a visitor's raw escapes pasted into a shell would act there
            # ("\x1b[201~" ends a bracketed paste early, and the rest runs as typed). Not fmt.safe:
            # the copy leaves the TUI's layout, so its emoji keep their joiners and skin tones.
            from workbench.domain.safe_text import terminal_safe

            self.app.copy_to_clipboard(terminal_safe(text))
            self.notify(f"Copied the markdown ({len(text.splitlines())} lines) to the clipboard")

    def action_run_personas(self) -> None:
        """Pick the personas (the most relevant ticked), then run them in a worker."""
        from workbench.services import annotations as service
        from workbench.tui.screens.persona_picker import PersonaPicker
        from workbench.tui.undo import before_it_runs

        if self.personas_running:
            self.notify("Personas are already reviewing this annotation", severity="warning")
            return
        ok, found = self.attempt(service.default_personas, self.wb, self.principal, self.annotation_id)
        if not ok:
            return

        def picked(ids: list[str] | None) -> None:
            if ids:
                self.personas_running = True
                self.refresh_data()
                self.notify("Personas are reviewing…")
                self.run_personas(self.annotation_id, ids)

        self.app.push_screen(PersonaPicker(*found, warning=before_it_runs(self.wb_app, "run_personas")), picked)

    @work(thread=True, exclusive=True, group="personas")
    def run_personas(self, annotation_id: str, persona_ids: list[str] | None = None) -> None:
        from workbench.domain.annotations import RunPersonasRequest
        from workbench.services import undo as recorded
        from workbench.tui.app import refusal_text

        try:
            # Recorded so ``u`` names the run and says why it cannot take it back.
            replies = recorded.run_personas(self.wb, self.principal, annotation_id, RunPersonasRequest(persona_ids=persona_ids))
        except Exception as exc:  # noqa: BLE001 - reported as a message, never raised in the UI
            self.post_message(ActionRefused(refusal_text(exc)))
            self.post_message(PersonasReviewed(annotation_id, -1))
            return
        self.post_message(PersonasReviewed(annotation_id, len(replies)))

    def on_personas_reviewed(self, message: PersonasReviewed) -> None:
        self.personas_running = False
        if message.count >= 0:
            self.notify(f"{fmt.plural(message.count, 'persona review')} added to the thread")
        self.refresh_data()

    def action_attach_resolution(self) -> None:
        dialog = resolution_dialog(self)

        def closed(result: Any) -> None:
            if result is not None:
                self.refresh_data()
                self.deliver(result.id)

        self.app.push_screen(dialog, closed)

    @work(thread=True, group="deliver")
    def deliver(self, resolution_id: str) -> None:
        from workbench.services import resolutions
        from workbench.tui.app import refusal_text

        try:
            outcome = resolutions.deliver(self.wb, resolution_id)
        except Exception as exc:  # noqa: BLE001 - the resolution is saved; a failed notice is told, not raised
            self.post_message(ActionRefused(f"Resolution saved, notification failed: {refusal_text(exc)}"))
            return
        if outcome == "pending":  # a replica's: the server notifies once a sync sends the resolution
            self.post_message(ActionSucceeded("Resolution attached; the server notifies the submitter once a sync sends it"))
            return
        self.post_message(ActionSucceeded(f"Resolution attached; submitter notified ({outcome})"))


def _who(entry: dict[str, Any], members: dict[str, str]) -> str:
    """Who made a change: a member's name, the author a synced row names, or where it came from."""
    if entry.get("actor_name"):
        return str(entry["actor_name"])
    actor = entry["actor_id"] or ""
    if actor in members:
        return members[actor]
    kind, _, rest = actor.partition(":")
    if kind == "sync":
        # A bare "sync" is a settlement recorded before it named the local user who made it.
        return f"someone on {rest} (via sync)" if rest else "you (settling a sync)"
    if kind == "mcp":
        return "an agent (MCP)"
    return kind or "—"


def _describe(entry: dict[str, Any], members: dict[str, str]) -> str:
    text = _change(entry, members)
    # Made by u or U (services.undo_steps.undo_note); a reply taken back is an undo by itself,
    # also in rows written before undo named itself.
    via = "undo" if entry["action"] == "annotation.reply_undone" else (entry.get("detail") or {}).get("via")
    return f"{text} ({via})" if via in ("undo", "redo") else text


def _change(entry: dict[str, Any], members: dict[str, str]) -> str:
    action: str = entry["action"]
    detail = entry.get("detail") or {}
    if action in ("annotation.update", "annotation.pulled"):
        parts = []
        for field_name, (old, new) in (detail.get("changes") or {}).items():
            if field_name in ("assignee_id", "status"):
                label = fmt.field_label(field_name)
                parts.append(f"{label}: {fmt.field_value(field_name, old, members)} → {fmt.field_value(field_name, new, members)}")
            else:
                parts.append(f"{fmt.field_label(field_name)}: {fmt.field_value(field_name, new, members)}")
        text = "; ".join(parts) or "updated"
        return f"{text} (on the server, version {detail['version']})" if action == "annotation.pulled" and "version" in detail else text
    if action == "annotation.reply" and detail.get("author_kind") == "persona":
        return "persona review"
    if action.startswith("sync.conflict."):
        side = "kept mine" if action.endswith("keep_mine") else "took theirs"
        return f"sync conflict on {fmt.field_label(str(detail.get('field', '')))}: {side}"
    return {
        "annotation.create": "submitted",
        "annotation.reply": "replied",
        "annotation.reply_undone": "took a reply back",
        "annotation.run_personas": "ran persona reviews",
        "resolution.create": "attached a resolution",
        "sync.refusal.retry": "retried a refused change",
        "sync.refusal.discard": "discarded a refused change",
    }.get(action, action)


def _file_problem(label: str, value: str) -> str | None:
    if not value.strip():
        return None
    from workbench.domain.images import HEADER_BYTES, IMAGE_FORMATS_TEXT, MAX_UPLOAD_BYTES, sniff_image_type

    path = Path(value.strip()).expanduser()
    try:
        if not path.is_file():
            return f"{label}: no such file"
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(HEADER_BYTES)
    except OSError as exc:  # a name too long, a directory we may not read, ...
        return f"{label}: {exc.strerror or exc}"
    if size > MAX_UPLOAD_BYTES:
        return f"{label}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
    if sniff_image_type(head) is None:  # the bytes decide, not the name
        return f"{label}: not a {IMAGE_FORMATS_TEXT} image"
    return None


def resolution_dialog(screen: AnnotationScreen) -> FormDialog:
    """Before/after images, a diff URL and an explanation, checked by the domain's rules as you type."""
    from workbench.domain.annotations import EXPLANATION_MAX_BYTES, ResolutionCreate, check_resolution
    from workbench.domain.errors import field_words
    from workbench.services import resolutions
    from workbench.services import undo as recorded
    from workbench.tui.app import refusal_text
    from workbench.tui.undo import before_it_runs

    def request(values: dict[str, Any], before: str | None, after: str | None) -> ResolutionCreate:
        return ResolutionCreate(
            before_key=before, after_key=after, diff_url=values["diff_url"].strip() or None,
            explanation=values["explanation"].strip() or None,
        )

    def validate(values: dict[str, Any]) -> str | None:
        problems = [p for p in (_file_problem("before", values["before"]), _file_problem("after", values["after"])) if p]
        try:
            check_resolution(request(values, values["before"].strip() or None, values["after"].strip() or None), field=field_words)
        except Exception as exc:  # noqa: BLE001 - the rules' refusal or the model's (a diff URL too long)
            problems.append(refusal_text(exc))
        used = len(values["explanation"].strip().encode("utf-8"))
        size = f"explanation {used:,}/{EXPLANATION_MAX_BYTES:,} bytes"
        if problems:
            return "[b #e05561]✗ " + "\n✗ ".join(problems) + f"[/]\n[dim]{size}[/]"
        return f"[b #4fbf67]✓ ready to attach[/]  [dim]{size}[/]"

    def submit(values: dict[str, Any]) -> Any:
        wb, principal, ann_id = screen.wb, screen.principal, screen.annotation_id
        problems = [p for p in (_file_problem("before", values["before"]), _file_problem("after", values["after"])) if p]
        if problems:
            from workbench.domain.errors import Invalid

            raise Invalid("; ".join(problems))
        check_resolution(request(values, values["before"].strip() or None, values["after"].strip() or None), field=field_words)
        keys_: dict[str, str | None] = {"before": None, "after": None}
        for kind in ("before", "after"):
            if values[kind].strip():
                keys_[kind] = resolutions.attach_local_file(wb, principal, ann_id, kind, Path(values[kind].strip()).expanduser())
        # Recorded so ``u`` names it and says why it cannot take it back.
        return recorded.add_resolution(wb, principal, ann_id, request(values, keys_["before"], keys_["after"]))

    return FormDialog(
        "Attach a resolution\n" + before_it_runs(screen.wb_app, "resolution"),
        [
            Field("before", "Before (image file)", "file"),
            Field("after", "After (image file)", "file"),
            Field("diff_url", "Diff URL", "input", placeholder="https://github.com/acme/shop/pull/123"),
            Field("explanation", "Explanation", "text"),
        ],
        submit=submit,
        validate=validate,
        submit_label="Attach",
        wide=True,
    )
