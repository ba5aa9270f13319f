"""Test sessions: the studies, their sessions by status, and the highlighted session's analysis and notes.

Pause (p) and resume (r), complete (c), analyze (z: the analysis runs in a worker and appears
when ready), confirm with a rating (C), add a note (N) or edit one (e), and the tester's
feedback (b). Every refusal of the domain's lifecycle ("Session must be in analyzed status to
confirm; it is completed") shows as it is.

Every change goes through ``services.undo``: ``u`` takes back a pause, a resume and a note's
edit. The others cannot be undone; their dialogs say so before they run, and ``u`` names them
and says why.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.messages import ActionRefused, ActionSucceeded
from workbench.tui.screens.base import DETAIL_CSS
from workbench.tui.screens.forms import ChoiceDialog, Field, FormDialog, text_prompt
from workbench.tui.screens.two_pane import TwoPaneScreen
from workbench.tui.widgets.fit import Fit
from workbench.tui.widgets.key_line import Parts
from workbench.tui.widgets.virtual_list import Column, VirtualList

STUDY_COLUMNS = [Column("STUDY", 0, min_width=20), Column("SESSIONS", 8, "right"), Column("ACTIVE", 7, "right"),
                 Column("TO ANALYZE", 10, "right"), Column("TO CONFIRM", 10, "right"), Column("CONFIRMED", 9, "right")]
SESSION_COLUMNS = [Column("TESTER", 16), Column("VAR", 3), Column("STATUS", 11), Column("STARTED", 8, "right"),
                   Column("DURATION", 8, "right"), Column("RATING", 6), Column("NEXT STEP", 0, min_width=16)]
STATUS_FILTERS = [("any status", ""), ("to handle (completed or analyzed)", "handle"), ("active", "active"), ("paused", "paused"),
                  ("completed", "completed"), ("analyzing", "analyzing"), ("analyzed", "analyzed"), ("confirmed", "confirmed")]
NEXT_STEP = {"active": "tester is running", "paused": "resume (r)", "completed": "analyze (z)", "analyzing": "analysis running…",
             "analyzed": "confirm (C)", "confirmed": "done, payout queued"}


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes < 100 else f"{minutes // 60}h{minutes % 60:02d}m"


def _said(analysis: dict[str, Any], key: str) -> str:
    """One text field of an analysis, made safe to draw: a replica holds what its server sent,
    which the sync checked to be an object but not field by field."""
    value = analysis.get(key)
    return fmt.safe(value) if isinstance(value, str) else ""


class StudySource:
    def __init__(self, screen: TestSessionsScreen) -> None:
        self.screen = screen
        self.rows: list[tuple[Any, dict[str, int]]] = []

    def count(self) -> int:
        from workbench.services import test_sessions as service

        wb, principal = self.screen.wb, self.screen.principal
        rows = []
        for study in service.list_studies(wb, principal):
            counts: dict[str, int] = {}
            for status in ("active", "paused", "completed", "analyzing", "analyzed", "confirmed"):
                _, counts[status] = service.list_for_study(wb, principal, study.id, status=status, limit=1)
            rows.append((study, counts))
        self.rows = rows
        return len(rows)

    def fetch(self, offset: int, limit: int) -> Sequence[Any]:
        return self.rows[offset : offset + limit]

    def key(self, row: Any) -> Hashable:
        return row[0].id

    def cells(self, row: Any) -> list[Text | str]:
        study, c = row

        def n(value: int, color: str = "") -> Text:
            return Text(str(value) if value else "·", style=("bold " + color) if value and color else "dim" if not value else "")

        return [
            Text(fmt.safe(study.name), style="bold"),
            n(sum(c.values())),
            n(c["active"] + c["paused"]),
            n(c["completed"], fmt.STATUS_COLORS["completed"]),
            n(c["analyzed"], fmt.STATUS_COLORS["analyzed"]),
            n(c["confirmed"]),
        ]


class TestSessionSource:
    __test__ = False

    def __init__(self, screen: TestSessionsScreen) -> None:
        self.screen = screen
        self.study: Any = None
        self.status = ""
        self.total = 0

    def _filter(self) -> str | None:
        return self.status if self.status and self.status != "handle" else None

    def count(self) -> int:
        from workbench.services import test_sessions as service

        if self.study is None:
            return 0
        wb, principal = self.screen.wb, self.screen.principal
        if self.status == "handle":
            self._handle = []
            for status in ("completed", "analyzed"):
                rows, _ = service.list_for_study(wb, principal, self.study.id, status=status, limit=10_000)
                self._handle += rows
            self._handle.sort(key=lambda s: (s.created_at, s.id), reverse=True)
            return len(self._handle)
        _, total = service.list_for_study(wb, principal, self.study.id, status=self._filter(), limit=1)
        return total

    def fetch(self, offset: int, limit: int) -> Sequence[Any]:
        from workbench.services import test_sessions as service

        if self.study is None:
            return []
        if self.status == "handle":
            return self._handle[offset : offset + limit]
        rows, _ = service.list_for_study(self.screen.wb, self.screen.principal, self.study.id, status=self._filter(),
                                         limit=limit, offset=offset)
        return rows

    def key(self, row: Any) -> Hashable:
        return row.id

    def cells(self, row: Any) -> list[Text | str]:
        return [
            Text(fmt.safe(row.tester_id), style="bold"),
            Text(row.variant, style="#c792ea" if row.variant == "A" else "#6fb3d2"),
            Text(fmt.status_label(row.status) if row.status not in ("completed", "analyzed") else row.status,
                 style=fmt.status_style(row.status)),
            Text(fmt.age(self.screen.now(), row.started_at), style="dim"),
            _duration(row.duration_seconds),
            Text("★" * (row.rating or 0), style="#e6c84f"),
            Text(NEXT_STEP.get(row.status, ""), style="dim" if row.status not in ("completed", "analyzed") else "bold"),
        ]


# The session actions the domain may refuse: offered only when its rules allow them.
_SESSION_ACTIONS = frozenset({"pause", "resume", "complete", "analyze", "confirm", "add_note", "edit_note", "feedback"})


class TestSessionsScreen(TwoPaneScreen):
    """Test sessions"""

    __test__ = False  # pytest would otherwise try to collect "Test*" classes the TUI tests import

    BINDINGS: ClassVar[list[BindingType]] = keys.TESTS
    HELP_SECTION = "Test sessions"
    CSS_PATH = DETAIL_CSS
    AUTO_FOCUS = "#ts-sessions"
    PANES = ("ts-studies", "ts-sessions")

    def __init__(self) -> None:
        super().__init__()
        self.analyzing: set[str] = set()
        self.feedback_of: str | None = None  # the highlighted session, once it is known to have tester feedback

    def compose_panes(self) -> ComposeResult:
        yield VirtualList(StudySource(self), STUDY_COLUMNS, selectable=False, id="ts-studies", empty_text="No studies yet.")
        yield Static("", id="sessions-title", classes="pane-title")
        yield VirtualList(TestSessionSource(self), SESSION_COLUMNS, selectable=False, openable=False, id="ts-sessions",
                          empty_text="No sessions with this status in this study.")

    def compose_preview(self) -> ComposeResult:
        # The highlighted session in full (analysis, notes, feedback): it may need scrolling.
        with VerticalScroll(id="ts-detail"):
            yield Static("", id="ts-detail-body")

    @property
    def studies(self) -> VirtualList:
        return self.query_one("#ts-studies", VirtualList)

    @property
    def sessions(self) -> VirtualList:
        return self.query_one("#ts-sessions", VirtualList)

    @property
    def session_source(self) -> TestSessionSource:
        return self.sessions.source_as(TestSessionSource)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what the domain's rules allow the highlighted session (None: greyed, inert)."""
        from workbench.domain import test_sessions as rules

        if action not in _SESSION_ACTIONS or not self.is_mounted:
            return True
        s = self.sessions.current
        if s is None:
            return None
        status = rules.TestSessionStatus(s.status)
        allowed = {
            "pause": rules.can(status, rules.TestSessionAction.PAUSE),
            "resume": rules.can(status, rules.TestSessionAction.RESUME),
            "complete": rules.can(status, rules.TestSessionAction.COMPLETE),
            # analyzing: z resumes an analysis a stopped process left behind
            "analyze": rules.can(status, rules.TestSessionAction.ANALYZE) or status is rules.TestSessionStatus.ANALYZING,
            "confirm": rules.can(status, rules.TestSessionAction.CONFIRM),
            "add_note": status in rules.NOTE_EDIT_STATUSES,
            "edit_note": status in rules.NOTE_EDIT_STATUSES,
            "feedback": status in rules.FEEDBACK_STATUSES and self.feedback_of != s.id,
        }[action]
        return True if allowed else None

    def size_panes(self) -> None:
        self.studies.styles.height = "auto"
        self.studies.styles.max_height = 6
        self.sessions.styles.height = "auto"
        self.sessions.styles.max_height = 14
        self.query_one("#ts-detail").styles.height = "1fr"

    def refresh_data(self) -> None:
        self.studies.reload(keep_cursor=True)
        self._load_sessions(keep=True)

    def _load_sessions(self, keep: bool) -> None:
        study = self.studies.current
        source = self.session_source
        source.study = study[0] if study else None
        self.sessions.reload(keep_cursor=keep)
        label = dict((v, k) for k, v in STATUS_FILTERS).get(source.status, source.status)
        self.set_bar("filterbar", f"[b]Studies[/]  [reverse] sessions: {label} [/]")
        name = study[0].name if study else "—"
        self.set_bar("sessions-title", Text(f"Sessions — {fmt.safe(name)} ({fmt.plural(self.sessions.total, 'session')})"))
        self.show_preview()
        counts: dict[str, int] = {}
        for _, c in self.studies.source_as(StudySource).rows:
            for k, v in c.items():
                counts[k] = counts.get(k, 0) + v
        studies = f"[b]{len(self.studies.source_as(StudySource).rows)}[/] studies"
        statuses = ("active", "paused", "completed", "analyzing", "analyzed", "confirmed")
        by_status = [f"{fmt.status_markup(s, s)} {counts.get(s, 0)}" for s in statuses]
        # One line that cuts what does not fit: at 80 columns "confirmed 3" was lost. Fewer words first,
        # then the statuses no session is in.
        self.set_bar("statusbar", Fit(
            f"{studies}  │  " + "  ".join(by_status),
            f"{studies} │ " + " ".join(by_status),
            f"{studies} │ " + " ".join(p for p, s in zip(by_status, statuses, strict=True) if counts.get(s, 0)),
        ))

    def show_preview(self) -> None:
        """The highlighted session in full, whichever pane has focus (a study has no detail of its own)."""
        from workbench.services import inbox
        from workbench.services import test_sessions as service

        body = self.query_one("#ts-detail-body", Static)
        s = self.sessions.current
        self.feedback_of = None
        if s is None:
            body.update("")
            self.refresh_bindings()
            return
        wb, principal = self.wb, self.principal
        now = self.now()
        parts: list[Any] = []
        lead = Text.assemble((f" {s.status} ", f"bold reverse {fmt.STATUS_COLORS.get(s.status, '')}"), "  ")
        facts = [Text(f, style="bold") for f in (fmt.safe(s.tester_id), f"variant {s.variant}", f"started {fmt.ago(now, s.started_at)}")]
        if s.duration_seconds is not None:
            facts.append(Text(f"ran {_duration(s.duration_seconds)}"))
        if s.rating:
            facts.append(Text(f"rated {'★' * s.rating}", style="#e6c84f"))
        if s.payout_queued:
            facts.append(Text("payout queued", style="#4fbf67"))
        parts.append(Parts(lead, facts, sep=Text(" · ", style="bold")))
        if s.status == "analyzing" or s.id in self.analyzing:
            parts.append(Text("Analysis running… it appears here when ready.", style="italic #b48cff"))
        if s.analysis_error:
            parts.append(Text(fmt.safe(s.analysis_error), style="bold #e05561"))
        if s.analysis:
            a = s.analysis
            line = Text()
            line.append("Analysis ", style="bold #b48cff")
            line.append(f"({_said(a, 'sentiment')}, {_said(a, 'engine')}) ", style="dim")
            line.append(_said(a, "summary"))
            parts.append(line)
            if fallback := _said(a, "fallbackReason"):
                parts.append(Text(f"  Written by the offline engine, as the configured one failed: {fallback}", style="italic dim"))
            findings = a.get("findings")
            for finding in (findings if isinstance(findings, list) else [])[:6]:
                if isinstance(finding, str):
                    parts.append(Text(f"  • {fmt.safe(finding)}"))
        if s.confirm_comment:
            parts.append(Text(f"Confirmed: {fmt.safe(s.confirm_comment)}", style="italic"))
        ok, notes = self.attempt(service.list_notes, wb, principal, s.id, quiet=True)
        if ok:
            parts.append(Text(f"Notes ({len(notes)})", style="bold"))
            for note in notes:
                parts.append(Text(f"  {fmt.age(now, note.timestamp):>4}  {fmt.safe(note.content)}"))
        ok, fb = self.attempt(inbox.test_session_feedback, wb, principal, s.id, quiet=True)
        if ok and fb is not None:
            self.feedback_of = s.id
            parts.append(Text.assemble(
                ("Tester feedback ", "bold"),
                f"clarity {fb.clarity}/5 · difficulty {fb.difficulty}/5 · technical issues: {'yes' if fb.technical_issues else 'no'}",
                (f" — {fmt.safe(fb.comment)}" if fb.comment else "", "italic"),
            ))
        body.update(Group(*parts))
        self.refresh_bindings()  # the footer follows what the highlighted session allows

    # -- events ----------------------------------------------------------------------------
    @on(VirtualList.Highlighted, "#ts-studies")
    def _study_highlighted(self, event: VirtualList.Highlighted) -> None:
        current = self.session_source.study
        if event.row is None or current is None or event.row[0].id != current.id:
            self._load_sessions(keep=False)

    @on(VirtualList.Activated, "#ts-studies")
    def _study_activated(self) -> None:
        self.sessions.focus()

    def focus_item(self, study_id: str | None, session_id: str) -> None:
        for i, (study, _) in enumerate(self.studies.source_as(StudySource).rows):
            if study.id == study_id:
                self.studies.move_cursor(i)
                break
        source = self.session_source
        if source.status:
            source.status = ""
        self._load_sessions(keep=False)
        for i in range(self.sessions.total):
            row = self.sessions.row_at(i)
            if row is not None and row.id == session_id:
                self.sessions.move_cursor(i)
                break
        self.sessions.focus()

    # -- actions ---------------------------------------------------------------------------
    def _current(self) -> Any:
        s = self.sessions.current
        if s is None:
            self.notify("No test session highlighted", severity="warning")
        return s

    def action_filter(self) -> None:
        source = self.session_source

        def chosen(value: Any) -> None:
            if value is not None:
                source.status = value
                self._load_sessions(keep=False)

        self.app.push_screen(ChoiceDialog("Show sessions", STATUS_FILTERS, highlighted=source.status), chosen)

    def _warning(self, kind: str, status: str | None = None) -> str:
        """What ``u`` can do about the action, said in its dialog before it runs."""
        from workbench.tui.undo import before_it_runs

        return before_it_runs(self.wb_app, kind, status)

    def action_pause(self) -> None:
        self._pause_or_resume("pause", "Paused")

    def action_resume(self) -> None:
        self._pause_or_resume("resume", "Resumed")

    def _pause_or_resume(self, action: str, done: str) -> None:
        from workbench.services import undo as recorded  # records the change for ``u``

        s = self._current()
        if s is not None:
            self.write(recorded.test_action, self.wb, self.principal, s.id, action,
                       succeeded=f"{done} {s.tester_id}'s session (u undoes it)")

    def action_complete(self) -> None:
        from workbench.services import undo as recorded  # records it: u says it cannot be undone

        s = self._current()
        if s is not None:
            self.confirm_write("Complete session", f"Complete {fmt.esc(s.tester_id)}'s session?\n" + self._warning("test.complete"),
                               "Complete", recorded.test_action, self.wb, self.principal, s.id, "complete",
                               succeeded=f"Completed {s.tester_id}'s session")

    def action_analyze(self) -> None:
        from workbench.services import undo as recorded  # records it: u says it cannot be undone

        s = self._current()
        if s is None:
            return
        if s.status == "analyzing" and s.id not in self.analyzing:
            # Left analyzing by a process that stopped: run the analysis again (it is idempotent).
            self.analyzing.add(s.id)
            self.notify(f"Resuming the analysis of {s.tester_id}'s session…")
            self.run_analysis(s.id)
            self.show_preview()
            return

        def started(result: Any) -> None:
            _, estimate = result
            self.analyzing.add(s.id)
            self.notify(f"Analyzing {s.tester_id}'s session (about {estimate} s)…")
            self.run_analysis(s.id)
            self.refresh_data()

        self.confirm_write("Analyze session", f"Analyze {fmt.esc(s.tester_id)}'s session?\n" + self._warning("test.analyze"),
                           "Analyze", recorded.test_action, self.wb, self.principal, s.id, "analyze", done=started)

    @work(thread=True, group="analysis")
    def run_analysis(self, session_id: str) -> None:
        from workbench.services import test_sessions as service
        from workbench.tui.app import refusal_text

        try:
            session = service.run_analysis(self.wb, session_id)
        except Exception as exc:  # noqa: BLE001 - a worker's failure is told, never a crash
            self.analyzing.discard(session_id)
            self.post_message(ActionRefused(f"Analysis failed: {refusal_text(exc)}"))
            return
        self.analyzing.discard(session_id)
        if session is not None and session.status == "analyzed":
            self.post_message(ActionSucceeded("Analysis ready"))
        else:
            self.post_message(ActionRefused((session.analysis_error if session else None) or "Analysis did not finish"))

    def action_confirm(self) -> None:
        from workbench.domain.test_sessions import ConfirmRequest
        from workbench.services import undo as recorded  # records it: u says it cannot be undone

        s = self._current()
        if s is None:
            return

        def submit(values: dict[str, Any]) -> Any:
            req = ConfirmRequest(rating=int(values["rating"]), comment=values["comment"].strip() or None)
            return recorded.test_action(self.wb, self.principal, s.id, "confirm", req)

        def closed(result: Any) -> None:
            if result is not None:
                self.notify(f"Confirmed {s.tester_id}'s session; payout queued")
                self.refresh_data()

        self.app.push_screen(FormDialog(
            f"Confirm — {fmt.esc(s.tester_id)} (variant {s.variant})\n" + self._warning("test.confirm"),
            [Field("rating", "Rating", "select", 5, [(f"{'★' * n}{'☆' * (5 - n)}  {n}", n) for n in range(5, 0, -1)]),
             Field("comment", "Comment (optional)", "text")],
            submit=submit, submit_label="Confirm",
        ), closed)

    def action_add_note(self) -> None:
        from workbench.services import undo as recorded  # records it: u says it cannot be undone

        s = self._current()
        if s is None:
            return

        def submit(text: str) -> Any:
            recorded.add_note(self.wb, self.principal, s.id, text)
            return True

        def closed(result: Any) -> None:
            if result is not None:
                self.notify("Note added")
                self.refresh_data()

        title = f"Add a note — {fmt.esc(s.tester_id)}\n" + self._warning("test.notes")
        self.app.push_screen(text_prompt(title, "Note", submit=submit, multiline=True, submit_label="Add"), closed)

    def action_edit_note(self) -> None:
        from workbench.services import test_sessions as service

        s = self._current()
        if s is None:
            return
        ok, notes = self.attempt(service.list_notes, self.wb, self.principal, s.id)
        if not ok:
            return
        if not notes:
            self.notify("This session has no notes yet: N adds one", severity="warning")
            return

        def edit(note: Any) -> None:
            if note is None:
                return

            def submit(text: str) -> Any:
                from workbench.services import undo as recorded  # records the edit for ``u``

                recorded.edit_notes(self.wb, self.principal, s.id, [(note.id, text)])
                return True

            def closed(result: Any) -> None:
                if result is not None:
                    self.notify("Note saved")
                    self.refresh_data()

            # Named as "Add a note — …" names it: with notes to write on several sessions, which one's.
            self.app.push_screen(text_prompt(f"Edit a note — {fmt.esc(s.tester_id)}", "Note", submit=submit,
                                             value=note.content, multiline=True), closed)

        if len(notes) == 1:
            edit(notes[0])
        else:
            options = [(fmt.esc(fmt.first_line(n.content)[:70]), n) for n in notes]
            self.app.push_screen(ChoiceDialog(f"Edit which note of {fmt.esc(s.tester_id)}?", options), edit)

    def action_feedback(self) -> None:
        from workbench.domain.test_sessions import FeedbackCreate
        from workbench.services import undo as recorded  # records it: u says it cannot be undone

        s = self._current()
        if s is None:
            return
        scale = [(str(n), n) for n in range(1, 6)]

        def submit(values: dict[str, Any]) -> Any:
            req = FeedbackCreate(clarity=int(values["clarity"]), difficulty=int(values["difficulty"]),
                                 technicalIssues=bool(values["technical"]), comment=values["comment"].strip() or None)
            return recorded.tester_feedback(self.wb, self.principal, s.id, req)

        def closed(result: Any) -> None:
            if result is not None:
                self.notify("Tester feedback recorded")
                self.refresh_data()

        self.app.push_screen(FormDialog(
            f"Tester feedback — {fmt.esc(s.tester_id)}\n" + self._warning("test.feedback"),
            [Field("clarity", "Clarity (1 poor … 5 clear)", "select", 4, scale),
             Field("difficulty", "Difficulty (1 easy … 5 hard)", "select", 2, scale),
             Field("technical", "Technical issues", "switch", False),
             Field("comment", "Comment (optional)", "text")],
            submit=submit, submit_label="Submit",
        ), closed)
