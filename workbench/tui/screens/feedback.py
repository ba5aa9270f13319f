"""Feedback sessions: every store's review rounds with a progress bar, and the comments of the chosen one.

Start (n) creates a round and deploys its preview in a worker. The phase actions go through
the domain's transition table, each after a confirm: cancel (x), finalize (F), start work (w),
submit the round for task review (s), back to review (b) and approve the tasks (a). Only the
actions the table allows the highlighted session are offered (the others are greyed out and
do nothing). Approving moves the round to processing; no builder runs offline, so on a
processing round D records that the builder finished (back to review) and E that it failed
(interrupted), the same actions a builder reports through the API. The comments list
shows each comment's status, page path, text and task instruction; enter opens the highlighted
comment to read in full, r resolves or reopens it.

Every change here goes through ``services.undo``: ``u`` takes back a round submitted from review
or returned to review, and a resolved or reopened comment. The other actions cannot be undone;
their dialogs say so before they run, and ``u`` names them and says why.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from workbench.domain.statuses import FINISHED_STATUSES
from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.messages import ActionRefused, ActionSucceeded
from workbench.tui.screens.forms import ChoiceDialog
from workbench.tui.screens.two_pane import RowsSource, TwoPaneScreen
from workbench.tui.widgets.fit import Fit
from workbench.tui.widgets.progress import progress_cell
from workbench.tui.widgets.virtual_list import Column, VirtualList

# At 80 columns the store's name gives back cells and the age (the preview's "started …") is dropped, so
# the progress keeps its whole label ("1/10 resolved") and the screen's edge cuts no column.
SESSION_COLUMNS = [Column("STORE", 26, grow=1, max_width=26, min_width=18), Column("STATUS", 12), Column("PROGRESS", 0, min_width=32),
                   Column("ETA", 9), Column("AGE", 4, "right", drop=1)]
# The task instruction (what the builder is asked to do) takes the room left. At 80 columns the page and the
# comment give back cells and the reviewer (in the preview) is dropped, so the task is cut with an ellipsis, not
# by the screen's edge, and the age stays. Wider, the page and the comment grow (the comment twice as fast) before
# the task takes the rest: at 200 columns the comment was cut at 32 cells beside a task column of 120.
COMMENT_COLUMNS = [Column("STATUS", 9), Column("PAGE", 18, grow=1, max_width=28, min_width=12),
                   Column("COMMENT", 32, grow=2, max_width=56, min_width=24), Column("TASK", 0, min_width=16),
                   Column("REVIEWER", 10, drop=2), Column("AGE", 4, "right", drop=1)]

STATUS_FILTERS = [("any status", ""), ("active rounds", "active"), ("created (preparing)", "created"), ("in review", "in_review"),
                  ("in progress", "in_progress"), ("task review", "task_review"), ("processing", "processing"), ("done", "done"),
                  ("canceled", "canceled"), ("interrupted", "interrupted")]


@dataclass(frozen=True, slots=True)
class PhaseAction:
    """How the screen asks for and reports one caller action of the transition table."""

    title: str  # the confirm dialog's title
    question: str  # {store}: the store's name (markup), {state}: its status and progress
    yes: str  # the confirm button
    done: str  # the notification once applied
    danger: bool = False


# The domain decides whether an action is allowed; a refusal shows its reason as it is.
PHASE_ACTIONS: dict[str, PhaseAction] = {
    "cancel": PhaseAction("Cancel session", "Cancel the round on {store} ({state})? It ends before review starts.",
                          "Cancel round", "Session canceled", danger=True),
    "finalize": PhaseAction("Finalize session", "Finalize the round on {store} ({state})? The round ends as done.",
                            "Finalize", "Session finalized"),
    "start_work": PhaseAction("Start work", "Start working through the comments of the round on {store} ({state})? "
                              "It moves to in progress; reviewers can still comment.", "Start work", "Work started: session in progress"),
    "submit_round": PhaseAction("Submit round", "Submit the round on {store} ({state}) for task review? Its comments become "
                                "builder tasks and reviewers can no longer comment.", "Submit round", "Round submitted for task review"),
    "return_to_review": PhaseAction("Back to review", "Return the round on {store} ({state}) to review? Its tasks go back "
                                    "for more commenting.", "Return to review", "Round returned to review"),
    "approve_tasks": PhaseAction("Approve tasks", "Approve the tasks of the round on {store} ({state})? It moves to processing "
                                 "until the builder reports it finished or failed.", "Approve tasks",
                                 "Tasks approved: session processing until the builder reports back (D: done, E: failed)"),
    "builder_finished": PhaseAction("Builder finished", "Record that the builder applied the tasks of the round on {store} "
                                    "({state})? It returns to review on the fresh preview.", "Builder finished",
                                    "Builder finished: session back in review"),
    "builder_failed": PhaseAction("Builder failed", "Record that the builder failed on the round on {store} ({state})? "
                                  "The round is interrupted.", "Builder failed", "Session interrupted: the builder failed",
                                  danger=True),
}


@dataclass(slots=True)
class SessionRow:
    session: Any
    store: Any
    progress: dict[str, Any] | None = None


def _urls(session: Any) -> tuple[str, str | None]:
    """The session's review page and preview as links: offline, this server's paths go on the
    base a local ``workbench serve`` is reached at (``local_base``); a replica's are its remote's."""
    from workbench.domain.session_records import on_base
    from workbench.services.feedback_sessions import local_base

    base = local_base()
    return on_base(session.feedback_url, base) or "", on_base(session.deployment_url, base)


def _iso_ms(value: str | None) -> int | None:
    if not value:
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


class SessionSource(RowsSource):
    """Every feedback session of the workspace's stores, newest first (a few hundred at most)."""

    def __init__(self, screen: FeedbackScreen) -> None:
        super().__init__(screen)
        self.status = ""

    def load(self) -> list[SessionRow]:
        from workbench.domain.feedback_sessions import ACTIVE_STATUSES
        from workbench.services import feedback_sessions as feedback_sessions_svc
        from workbench.services import stores

        wb, principal = self.screen.wb, self.screen.principal
        rows: list[SessionRow] = []
        for store in stores.list_stores(wb, principal):
            offset = 0
            while True:
                page, meta = feedback_sessions_svc.list_sessions(wb, store, limit="100", offset=str(offset))
                rows += [SessionRow(s, store) for s in page]
                offset += len(page)
                if not page or offset >= meta["count"]:
                    break
        active = {s.value for s in ACTIVE_STATUSES}
        if self.status == "active":
            rows = [r for r in rows if r.session.status in active]
        elif self.status:
            rows = [r for r in rows if r.session.status == self.status]
        rows.sort(key=lambda r: (r.session.created_at, r.session.id), reverse=True)
        return rows

    def fetch(self, offset: int, limit: int) -> Sequence[SessionRow]:
        from workbench.services import feedback_sessions as feedback_sessions_svc

        page = self.rows[offset : offset + limit]
        for row in page:
            if row.progress is None:
                row.progress = feedback_sessions_svc.get(self.screen.wb, row.store, row.session.id)["progress"]
        return page

    def key(self, row: SessionRow) -> Hashable:
        return row.session.id

    def cells(self, row: SessionRow) -> list[Text | str]:
        s = row.session
        progress = row.progress or {"fillPct": 0.0, "label": "", "eta": None}
        eta = _iso_ms(progress.get("eta"))
        now = self.screen.now()
        # Under a minute away, age() says "now": "in now" read as a typo.
        eta_text = ("in <1m" if fmt.age(eta, now) == "now" else f"in {fmt.age(eta, now)}") if eta and eta > now else ""
        return [
            Text(row.store.name, style="bold" if not row.store.ai_built else ""),
            Text(fmt.status_label(s.status), style=fmt.status_style(s.status)),
            progress_cell(progress["fillPct"], progress["label"], bar_width=14, status=s.status),
            Text(eta_text, style="dim"),
            Text(fmt.age(now, s.created_at), style="dim"),
        ]


class CommentSource(RowsSource):
    """The comments of the highlighted round."""

    def __init__(self, screen: FeedbackScreen) -> None:
        super().__init__(screen)
        self.session: SessionRow | None = None
        self.named = True  # whether a comment without a reviewer name is an anonymous reviewer's

    def load(self) -> Sequence[Any]:
        from workbench.services import feedback_sessions as feedback_sessions_svc

        if self.session is None:
            return []
        self.named = feedback_sessions_svc.names_reviewers(self.wb, self.session.store)
        return feedback_sessions_svc.list_comments(self.wb, self.session.store, self.session.session.id)

    def reviewer(self, name: str | None) -> str | None:
        """The reviewer as shown: the name, "anonymous", or None on a replica, which is not told names."""
        return name or ("anonymous" if self.named else None)

    def cells(self, row: Any) -> list[Text | str]:
        return [
            Text(row.status, style=fmt.status_style("resolved" if row.status == "resolved" else "open")),
            row.page_path,
            fmt.first_line(row.content),
            Text(fmt.first_line(row.task_instruction), style="italic") if row.task_instruction else Text("—", style="dim"),
            self.reviewer(row.reviewer_name) or Text("—", style="dim"),
            Text(fmt.age(self.screen.now(), row.created_at), style="dim"),
        ]


class FeedbackScreen(TwoPaneScreen):
    """Feedback sessions"""

    BINDINGS: ClassVar[list[BindingType]] = keys.FEEDBACK
    HELP_SECTION = "Feedback sessions"
    AUTO_FOCUS = "#fs-sessions"
    PANES = ("fs-sessions", "fs-comments")

    def compose_panes(self) -> ComposeResult:
        yield VirtualList(SessionSource(self), SESSION_COLUMNS, selectable=False, id="fs-sessions",
                          empty_text="No feedback sessions. Press n to start one on an AI-built store.")
        yield Static("", id="comments-title", classes="pane-title")
        yield VirtualList(CommentSource(self), COMMENT_COLUMNS, selectable=False, id="fs-comments",
                          empty_text="No comments in this session yet.")

    @property
    def sessions(self) -> VirtualList:
        return self.query_one("#fs-sessions", VirtualList)

    @property
    def comments(self) -> VirtualList:
        return self.query_one("#fs-comments", VirtualList)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what the domain's transition table allows the highlighted session.

        None greys the key out in the footer (it stays listed by ``?`` and the palette) and
        makes it do nothing, so no confirm dialog is shown for an action the rules refuse.
        """
        from workbench.domain import feedback_sessions as rules

        if action not in PHASE_ACTIONS and action != "resolve":
            return True
        if not self.is_mounted:
            return True
        row = self.sessions.current
        if row is None:
            return None
        if action == "resolve":
            return True if self.comments.current is not None and rules.FeedbackStatus(row.session.status) in rules.TRIAGE_STATUSES else None
        return True if rules.can(row.session.status, action) else None

    def footer_label(self, action: str) -> str | None:
        """``r`` reopens a resolved comment: "Resolve" there said the opposite of what it does."""
        comment = self.comments.current if self.is_mounted and action == "resolve" else None
        return "Reopen" if comment is not None and comment.status == "resolved" else None

    def footer_lead(self) -> tuple[str, ...]:
        """With the comments list focused its key leads the footer: behind the round's phase keys
        ``r Resolve`` was cut at 80 columns, so neither it nor its greyed state (a finished round) showed."""
        return ("activate", "resolve") if self.is_mounted and self.focused is self.comments else ()

    def refresh_data(self) -> None:
        self.sessions.reload(keep_cursor=True)
        self._load_comments(keep=True)
        self._bars()

    def _load_comments(self, keep: bool) -> None:
        source = self.comments.source_as(CommentSource)
        source.session = self.sessions.current
        self.comments.reload(keep_cursor=keep)
        row = source.session
        if row is None:
            self.set_bar("comments-title", "Comments")
        else:
            progress = row.progress or {}
            self.set_bar("comments-title",
                         Text(f"Comments — {fmt.safe(row.store.name)} · {fmt.status_label(row.session.status)} · {progress.get('label', '')}"))
        self.show_preview()

    def _bars(self) -> None:
        source = self.sessions.source_as(SessionSource)
        label = dict((v, k) for k, v in STATUS_FILTERS).get(source.status, source.status)
        self.set_bar("filterbar", f"[b]All stores[/]  [reverse] status: {label} [/]")
        by_status: dict[str, int] = {}
        for r in source.rows:
            by_status[r.session.status] = by_status.get(r.session.status, 0) + 1
        counts = [f"{fmt.status_markup(s)} {n}" for s, n in sorted(by_status.items())]
        in_flight = [f"{fmt.status_markup(s)} {n}" for s, n in sorted(by_status.items()) if s not in FINISHED_STATUSES]
        finished = sum(n for s, n in by_status.items() if s in FINISHED_STATUSES)
        total = f"[b]{len(source.rows)}[/] sessions"
        # One line that cuts what does not fit: at 80 columns the demo's last two statuses were lost, and
        # "8 sessions" read as six. Fewer words first, then the finished rounds as one count.
        self.set_bar("statusbar", Fit(
            f"{total}  │  {'  '.join(counts)}",
            f"{total} │ {' '.join(counts)}",
            f"{total} │ {' '.join(in_flight)} │ [dim]finished[/] {finished}",
            f"{total} │ {len(source.rows) - finished} in flight │ [dim]finished[/] {finished}",
        ))

    def active_pane(self) -> VirtualList:
        """The comments while one is highlighted there, else the sessions (a comment belongs to its round)."""
        if self.focused is self.comments and self.comments.current is not None:
            return self.comments
        return self.sessions

    def preview_of(self, pane: VirtualList, row: Any) -> Text:
        text = Text()
        if pane is self.comments:
            c = row
            # One line: a long page path wrapped over the preview's few lines and hid the comment (the inbox's too).
            who = self.comments.source_as(CommentSource).reviewer(c.reviewer_name)
            by = (f"  by {fmt.cut(who, 40)} · " if who else "  ") + fmt.ago(self.now(), c.created_at)
            room = max(self.query_one("#preview").content_size.width or self.size.width - 2, 40) - 1
            text.append(f"{c.status}", style=fmt.status_style("resolved" if c.status == "resolved" else "open"))
            text.append(f"  {fmt.cut(c.page_path, room - len(c.status) - 2 - cell_len(by))}", style="bold")
            text.append(by + "\n", style="dim")
            text.append(fmt.safe(c.content.strip()) + "\n")
            text.append("task ", style="dim")
            text.append(fmt.safe(c.task_instruction or "—") + "\n", style="italic")
            if c.selector or c.pin_x is not None:
                text.append("pinned ", style="dim")
                text.append(fmt.clean(c.selector or "no selector"))
                if c.pin_x is not None and c.pin_y is not None:
                    text.append(f"  at {c.pin_x:g}% × {c.pin_y:g}% of the page", style="dim")
                text.append("   o: open the preview there", style="dim")
            return text
        s = row.session
        text.append(fmt.status_label(s.status), style=fmt.status_style(s.status))
        text.append(f"  {fmt.safe(row.store.name)}" + ("" if row.store.ai_built else " (not AI-built)"), style="bold")
        text.append(f"  started {fmt.ago(self.now(), s.created_at)}\n", style="dim")
        feedback_url, deployment_url = _urls(s)
        text.append("feedback URL ", style="dim")
        text.append(feedback_url.split("?")[0] + "\n")
        text.append("preview ", style="dim")
        text.append((deployment_url or "—") + "\n")
        if s.error_message:
            text.append("error ", style="dim")
            text.append(fmt.safe(s.error_message), style="bold #e05561")
        return text

    # -- list events -----------------------------------------------------------------------
    @on(VirtualList.Highlighted, "#fs-sessions")
    def _session_highlighted(self, event: VirtualList.Highlighted) -> None:
        shown = self.comments.source_as(CommentSource)
        if event.row is None or shown.session is None or event.row.session.id != shown.session.session.id:
            self._load_comments(keep=False)

    @on(VirtualList.Activated, "#fs-sessions")
    def _open_session(self) -> None:
        self.comments.focus()

    @on(VirtualList.Activated, "#fs-comments")
    def _comment_activated(self) -> None:
        """Enter opens the comment to read (the footer says "Open"); only r changes its status."""
        from workbench.tui.screens.forms import ReadDialog

        c = self.comments.current
        if c is None:
            return
        text = Text()
        text.append(f"{c.status}", style=fmt.status_style("resolved" if c.status == "resolved" else "open"))
        text.append(f"  {fmt.safe(c.page_path)}", style="bold")
        who = self.comments.source_as(CommentSource).reviewer(c.reviewer_name)
        text.append((f"  by {fmt.safe(who)} · " if who else "  ") + f"{fmt.ago(self.now(), c.created_at)}\n\n", style="dim")
        text.append(fmt.safe(c.content.strip()) + "\n\n")
        text.append("task ", style="dim")
        text.append(fmt.safe(c.task_instruction or "—"), style="italic")
        self.app.push_screen(ReadDialog("Comment", text))

    def focus_item(self, session_id: str | None, comment_id: str) -> None:
        source = self.sessions.source_as(SessionSource)
        if source.status:
            source.status = ""
            self.refresh_data()
        for i, row in enumerate(source.rows):
            if row.session.id == session_id:
                self.sessions.move_cursor(i)
                self._load_comments(keep=False)
                break
        csource = self.comments.source_as(CommentSource)
        for i, c in enumerate(csource.rows):
            if c.id == comment_id:
                self.comments.move_cursor(i)
        self.comments.focus()

    # -- actions ---------------------------------------------------------------------------
    def action_filter(self) -> None:
        source = self.sessions.source_as(SessionSource)

        def chosen(value: Any) -> None:
            if value is not None:
                source.status = value
                self.sessions.reload(keep_cursor=False)
                self._load_comments(keep=False)
                self._bars()

        self.app.push_screen(ChoiceDialog("Show sessions", STATUS_FILTERS, highlighted=source.status), chosen)

    def action_start(self) -> None:
        from workbench.services import stores
        from workbench.services import undo as recorded  # records the start: u says it cannot be undone
        from workbench.tui.undo import before_it_runs

        ok, all_stores = self.attempt(stores.list_stores, self.wb, self.principal)
        if not ok:
            return
        if not all_stores:
            self.notify("This workspace has no stores", severity="warning")
            return
        options = [(fmt.esc(s.name) + ("" if s.ai_built else "  [dim](not AI-built)[/]"), s.id) for s in all_stores]
        by_id = {s.id: s for s in all_stores}
        started: dict[str, Any] = {}

        def choose(store_id: str) -> None:
            started["session"] = recorded.start_feedback_session(self.wb, self.principal, store_id)

        def closed(store_id: Any) -> None:
            if store_id is None:
                return
            session = started["session"]
            self.notify(f"Started a round on {by_id[store_id].name}; deploying the preview…")
            self.refresh_data()
            self.deploy(session.id)

        title = "Start a feedback session on which store?\n" + before_it_runs(self.wb_app, "feedback.start")
        self.app.push_screen(ChoiceDialog(title, options, choose=choose), closed)

    @work(thread=True, group="deploy")
    def deploy(self, session_id: str) -> None:
        from workbench.services import feedback_sessions as feedback_sessions_svc
        from workbench.tui.app import refusal_text

        try:
            session = feedback_sessions_svc.deploy(self.wb, session_id)
        except Exception as exc:  # noqa: BLE001 - a worker's failure is told, never a crash
            self.post_message(ActionRefused(f"Deployment failed: {refusal_text(exc)}"))
            return
        if session is not None and session.status == "interrupted":
            self.post_message(ActionRefused(session.error_message or "Deployment failed", title="Preview not deployed"))
        else:
            self.post_message(ActionSucceeded("Preview deployed: reviewers can comment now"))

    def _transition(self, action: str) -> None:
        from workbench.services import undo as recorded  # records the action for ``u``
        from workbench.tui.undo import before_it_runs

        row = self.sessions.current
        if row is None:
            return
        phase = PHASE_ACTIONS[action]
        store = f"[b]{fmt.esc(row.store.name)}[/]"
        state = f"{fmt.status_label(row.session.status)}, {(row.progress or {}).get('label', '')}"
        question = phase.question.format(store=store, state=fmt.esc(state))
        question += "\n" + before_it_runs(self.wb_app, f"feedback.{action}", row.session.status)
        self.confirm_write(phase.title, question, phase.yes, recorded.feedback_action, self.wb, self.principal, row.store.id,
                           row.session.id, action, danger=phase.danger, succeeded=phase.done)

    def action_cancel(self) -> None:
        self._transition("cancel")

    def action_finalize(self) -> None:
        self._transition("finalize")

    def action_start_work(self) -> None:
        self._transition("start_work")

    def action_submit_round(self) -> None:
        self._transition("submit_round")

    def action_return_to_review(self) -> None:
        self._transition("return_to_review")

    def action_approve_tasks(self) -> None:
        self._transition("approve_tasks")

    def action_builder_finished(self) -> None:
        self._transition("builder_finished")

    def action_builder_failed(self) -> None:
        self._transition("builder_failed")

    def action_open_url(self) -> None:
        """The review page, or the preview (at the highlighted comment's page when the comments pane has focus)."""
        from workbench.tui.open_url import choose_and_open

        row = self.sessions.current
        if row is None:
            self.notify("No session highlighted", severity="warning")
            return
        feedback_url, deployment_url = _urls(row.session)
        choices = [("Review page (feedbackUrl)", feedback_url)]
        if deployment_url:
            comment = self.comments.current if self.focused is self.comments else None
            if comment is not None and comment.page_path != "/":
                choices.insert(0, (f"Preview at {comment.page_path}", deployment_url.rstrip("/") + comment.page_path))
            choices.append(("Preview", deployment_url))
        choose_and_open(self, choices)

    def action_resolve(self) -> None:
        row = self.sessions.current
        comment = self.comments.current
        if row is None or comment is None:
            self.notify("No comment highlighted", severity="warning")
            return
        resolve = comment.status != "resolved"
        from workbench.services import undo as recorded  # records the change for ``u``

        self.write(recorded.set_comment_resolved, self.wb, self.principal, row.store.id, row.session.id, comment.id, resolve,
                   succeeded="Comment resolved" if resolve else "Comment reopened")
