"""``workbench sync …``: syncing with progress, and what it leaves (status, conflicts, refused changes).

A run's missing secrets are asked for as ``workbench remote`` asks (cli/remote.py), for that run
only where no keyring keeps them. ``workbench sync`` shows rich progress bars and a summary; exit code
1 when the run stopped early (unreachable, credentials rejected).

What a command did (the summary, a conflict settled, a refused change
retried) goes to stdout, as the annotation verbs' does; progress, prompts, notes, hints and errors
to stderr (README, "stdout or stderr").
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from workbench.cli.options import DataDir, JsonFlag, open_workbench
from workbench.cli.output import cell, echo, emit_json, fail, inert, listing, report_error, show_table
from workbench.cli.progress import Count
from workbench.cli.remote import ask_secrets, report_saved
from workbench.domain.clock import iso_ms
from workbench.domain.errors import DomainError
from workbench.domain.statuses import status_label
from workbench.services import first_sync as first_sync_svc
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench
from workbench.services.inbox import member_name, member_names
from workbench.services.local import local_user

sync_app = typer.Typer(
    help="Sync with a remote: push local changes, pull everyone else's. Sub-commands inspect what is left.\n\n"
         "The summary (and --json): sent, your changes the server took; received, what others changed (your own "
         "coming back is not counted); conflicts and refused, what waits for you (sync conflicts, sync refused).",
    invoke_without_command=True,
)
err = Console(stderr=True)
out = Console()

RemoteOpt = Annotated[str | None, typer.Option("--remote", "-r", help="Remote name", show_default="the only one")]


def _open(data_dir: Any) -> Workbench:
    return open_workbench(data_dir)


# -- sync ---------------------------------------------------------------------------------------


class _Bar(BarColumn):
    """Rich's bar, full once a count-only phase has ended (rich would pulse it for ever)."""

    def render(self, task: Task) -> ProgressBar:
        if task.total is None and task.fields.get("ended"):
            return ProgressBar(total=1, completed=1, width=None if self.bar_width is None else max(1, self.bar_width))
        return super().render(task)


class _Spinner(SpinnerColumn):
    """A spinner while the phase runs; ✓ once it ended (rich stops one only at a known total),
    and a dim dot for a phase with a total that the run left short (it stopped: see its summary)."""

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("ended") and not task.finished:
            return self.finished_text if task.total is None else Text("·", style="dim")
        return super().render(task)


class _Bars:
    """Rich progress: one bar per phase (push, sites, each site's annotations and threads, sessions).

    A phase with a total ends at it. One without (a count) has ended when another phase
    begins, as the engine runs them one after another (a rate limit's wait pauses one, which
    then goes on: it is shown running again); every phase has ended when the run returns."""

    @staticmethod
    def columns() -> tuple[ProgressColumn, ...]:
        return _Spinner(finished_text="[green]✓[/]"), TextColumn("{task.description}"), _Bar(), Count(), TimeElapsedColumn()

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.current: str | None = None
        self.counted: set[str] = set()  # phases shown as a count, with no total

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        task = self.tasks.get(phase)
        if task is None:
            task = self.tasks[phase] = self.progress.add_task(inert(phase), total=total, ended=False)  # phases name sites
        if self.current not in (None, phase) and self.current in self.counted:
            self.progress.update(self.tasks[self.current], ended=True)
        self.current = phase
        if total is None:
            self.counted.add(phase)
        else:
            self.counted.discard(phase)
        self.progress.update(task, completed=done, total=total, ended=False)

    def finish(self) -> None:
        for task in self.tasks.values():
            self.progress.update(task, ended=True)


def _summary(report: sync_svc.Report) -> str:
    return (
        f"sent {report.sent} · received {report.received} · conflicts {report.conflicts} · refused {report.refused} · "
        f"pending {report.pending} · {report.requests} requests"
        # Said only when some came: the pictures of a pull were fetched without a word.
        + (f" · {report.pictures} picture{'' if report.pictures == 1 else 's'} fetched" if report.pictures else "")
    )


@sync_app.callback()
def sync_main(
    ctx: typer.Context,
    remote: RemoteOpt = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars")] = False,
    first_sync: Annotated[str | None, typer.Option(
        "--first-sync", metavar="<merge|separate>",
        help="A first sync over local work: merge (send up what the API can create, then open the server's workspace) "
             "or separate (keep the local workspace as it is). Asked when interactive.",
    )] = None,
) -> None:
    """Push local changes in order, then pull the remote's (incremental, resumable)."""
    if ctx.invoked_subcommand is not None:
        return
    wb = _open(data_dir)
    interactive = sys.stdin.isatty() and not as_json
    first_sync = _first_sync_choice(wb, remote, first_sync, interactive=interactive, as_json=as_json)
    credentials = _credentials_for_run(wb, remote) if interactive else None
    report = _run(wb, remote, as_json=as_json, quiet=quiet, first_sync=first_sync, credentials=credentials)
    if report.stopped and report.auth_failed and sys.stdin.isatty() and not as_json:
        name = remotes.find(wb, remote).name
        err.print(f"[red]{inert(report.stopped)}[/]", soft_wrap=True)
        err.print(f"Enter a new {remotes.SECRETS[report.auth_failed][1]} (Enter to give up).")
        given = ask_secrets(name, True, report.auth_failed, for_this_run=True)
        if any(given.values()):
            if remotes.keyring_problem() is None:
                report_saved(name, remotes.save_secrets(wb, name, given), given)
            creds = dict(credentials or remotes.load_secrets(wb, name)[0])
            creds.update({k: v for k, v in given.items() if v})
            report = _run(wb, remote, as_json=as_json, quiet=quiet, credentials=creds, first_sync=first_sync)
    _finish(wb, remote, report, as_json)


def _credentials_for_run(wb: Workbench, remote: str | None) -> dict[str, str | None] | None:
    """With none in the environment or the keyring, every credential is asked for (a TTY only):
    kept in the keyring, or used for this run only where there is none (said before asking)."""
    try:
        name = remotes.find(wb, remote).name
    except DomainError as exc:
        fail(exc.message)
    if any(remotes.load_secrets(wb, name)[0].values()):
        return None
    err.print(f"No credentials for {inert(name)} yet: each one its sources use (Enter skips one).")
    given = ask_secrets(name, True, for_this_run=True)
    if not any(given.values()):
        return None  # the sync says what is missing and how to set it
    if remotes.keyring_problem() is None:
        report_saved(name, remotes.save_secrets(wb, name, given), given)
    return given


def _first_sync_choice(wb: Workbench, remote: str | None, given: str | None, *, interactive: bool, as_json: bool) -> str | None:
    """The first sync's choice: the flag's, else asked after saying what will happen (a TTY), else exit 2 with how to choose
    (under --json the one JSON error alone: stderr is then parsed, and prose before it broke that)."""
    try:
        choice = first_sync_svc.parse(given)
    except DomainError as exc:
        fail(exc.message, 2)  # a --first-sync value that is not one: usage
    try:
        plan = first_sync_svc.plan(wb, remotes.find(wb, remote).name)
    except DomainError as exc:
        fail(exc.message)  # an unknown remote is refused as `remote login` refuses it (exit 1)
    if plan is None or choice is not None:
        return None if choice is None else choice.value
    if not as_json:
        err.print(inert(plan.text), soft_wrap=True)  # the terminal wraps it; a log keeps whole lines
    if not interactive:
        fail("This is the first sync over local work: run again with --first-sync=merge or --first-sync=separate", 2)
    answer = typer.prompt("merge, separate or cancel", default="cancel").strip().lower()
    if answer not in ("merge", "separate"):
        fail("Cancelled: nothing was synced", 1)
    return answer


def _run(
    wb: Workbench, remote: str | None, *, as_json: bool, quiet: bool, credentials: dict[str, str | None] | None = None,
    first_sync: str | None = None,
) -> sync_svc.Report:
    try:
        if as_json or quiet or not err.is_terminal:
            return sync_svc.run_sync(wb, remote, credentials=credentials, first_sync=first_sync)
        with Progress(*_Bars.columns(), console=err, transient=False) as progress:
            bars = _Bars(progress)
            try:
                return sync_svc.run_sync(wb, remote, bars, credentials=credentials, first_sync=first_sync)
            finally:
                bars.finish()  # the last frame stays on the terminal: no phase may still spin in it
    except DomainError as exc:
        fail(exc.message)
        raise  # unreachable


def _finish(wb: Workbench, remote: str | None, report: sync_svc.Report, as_json: bool) -> None:
    if as_json:
        emit_json({
            "sent": report.sent, "received": report.received, "conflicts": report.conflicts, "refused": report.refused,
            "pending": report.pending, "requests": report.requests, "pictures": report.pictures, "stopped": report.stopped,
            "auth_failed": report.auth_failed,
            "notes": report.notes,
            # `sync status --json`'s object, named for it: a "status" in the CLI's JSON is an annotation's.
            "sync_status": sync_svc.status(wb, remote).to_public(),
        })
        if report.stopped:
            # The report above is the run's result (what was sent before it stopped); why it
            # stopped is a failure like any command's, so a script finds it on stderr, with a code.
            report_error(report.stopped, report.stop_code or "refused", as_json=True)
    else:
        st = sync_svc.status(wb, remote)
        colour = "green" if report.ok else "red"
        # The run's result, on stdout as --json's report is; its notes, error and hints on stderr.
        out.print(f"[{colour}]{'Synced' if report.ok else 'Stopped'}[/] with {inert(st.remote)}: {_summary(report)}", soft_wrap=True)
        for note in report.notes:
            err.print(f"note: {inert(note)}", soft_wrap=True)
        if report.stopped:
            err.print(f"[red]error: {inert(report.stopped)}[/]", soft_wrap=True)  # one line, as a log or grep reads it
            if report.auth_failed:
                advice = remotes.credential_advice(st.remote or "", report.auth_failed)
                err.print(inert(advice[0].upper() + advice[1:] + "."), soft_wrap=True)
        if st.conflicts:
            err.print(f"{st.conflicts} conflict(s) to settle: `workbench sync conflicts`")
        if st.refused:
            err.print(f"{st.refused} change(s) refused by the server: `workbench sync refused`")
    if report.stopped:
        raise typer.Exit(1)


def _known(wb: Workbench, remote: str | None) -> None:
    """A --remote that names no remote is an error, as ``workbench sync`` says it: an empty listing
    ("No conflicts", ``{"items": []}``) would tell a script a mistyped remote had nothing to settle."""
    if remote is None:
        return
    try:
        remotes.find(wb, remote)
    except DomainError as exc:
        fail(exc.message)


def _several_remotes(wb: Workbench, remote: str | None) -> bool:
    """Whether a listing may mix rows of several remotes, so each row must name its own: an id
    alone does not say which server a conflict is with or which one refused a change."""
    return len(sync_svc.listed_remotes(wb, remote)) > 1


@sync_app.command("status")
def sync_status(remote: RemoteOpt = None, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Remote, last sync time, pending changes, conflicts and refusals (every remote's, without --remote)."""
    wb = _open(data_dir)
    _known(wb, remote)
    every = sync_svc.statuses(wb) if remote is None else []
    if len(every) > 1:
        # Several remotes and none named: each one's, where this showed the first alone and a
        # script or a person read its counts as the store's.
        if as_json:
            emit_json(listing(st.to_public() for st in every))
            return
        for i, st in enumerate(every):
            if i:
                out.print()
            _print_status(st)
        return
    st = every[0] if every else sync_svc.status(wb, remote)  # one remote: the status just read
    if as_json:
        emit_json(st.to_public())
        return
    if st.remote is None:
        out.print("No remote; add one with `workbench remote add NAME URL`.")
        return
    _print_status(st)


def _print_status(st: sync_svc.SyncStatus) -> None:
    out.print(f"remote      {inert(st.remote or '')} ({inert(st.url or '')})")
    out.print(f"last sync   {(iso_ms(st.last_sync_at) or 'never')[:19].replace('T', ' ')}")
    out.print(f"pending     {st.pending}")
    out.print(f"conflicts   {st.conflicts}")
    out.print(f"refused     {st.refused}")
    if st.last_error:
        out.print(f"last error  {inert(st.last_error)}")


def _value(v: Any, *, status: bool = False, members: dict[str, str] | None = None) -> str:
    """A field's value as people read it: a status in words ("won't fix"), an assignee by name
    when ``members`` is given (as the TUI names one), none as ∅."""
    if v is None:
        return "∅"
    if members is not None and isinstance(v, str):
        return member_name(v, members)
    return status_label(str(v)) if status else str(v)


@sync_app.command("conflicts")
def sync_conflicts(
    remote: RemoteOpt = None,
    data_dir: DataDir = None,
    keep_mine: Annotated[list[int] | None, typer.Option("--keep-mine", metavar="<id>", help="Keep the local value (repeatable)")] = None,
    take_theirs: Annotated[list[int] | None, typer.Option("--take-theirs", metavar="<id>", help="Take the server's value (repeatable)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List conflicts (both values side by side), or settle them.

    Without --remote every remote's are listed, each naming its remote (a REMOTE column when
    there are several; --json: a "remote" field on every row).

    Settling is all or nothing: if any id given is not an open conflict, nothing is settled and
    every such id is named; an id in both --keep-mine and --take-theirs is a usage error.
    """
    both = sorted(set(keep_mine or []) & set(take_theirs or []))
    if both:
        fail(f"conflict {', '.join(map(str, both))} is in both --keep-mine and --take-theirs: choose one", 2)
    wb = _open(data_dir)
    _known(wb, remote)
    if keep_mine or take_theirs:
        open_ = {c.id: c for c in sync_svc.conflicts(wb)} if as_json else {}  # read before settling, for what --json says
        try:
            sync_svc.settle(wb, keep_mine_ids=keep_mine or [], take_theirs_ids=take_theirs or [])
        except DomainError as exc:
            fail(exc.message)
        chosen = [(cid, "keep_mine") for cid in dict.fromkeys(keep_mine or [])]
        chosen += [(cid, "take_theirs") for cid in dict.fromkeys(take_theirs or [])]
        if as_json:  # what was settled, with the value each field now holds here
            emit_json({"items": [
                {"id": cid, "settled": how, "entity_id": open_[cid].entity_id, "field": open_[cid].field,
                 "value": open_[cid].mine if how == "keep_mine" else open_[cid].theirs}
                for cid, how in chosen
            ]})
            return
        for cid, how in chosen:
            out.print(f"conflict {cid}: keeping mine (sent on the next sync)" if how == "keep_mine" else f"conflict {cid}: took theirs")
        return
    rows = sync_svc.conflicts(wb, remote)
    if as_json:
        emit_json(listing(c.to_public() for c in rows))
        return
    if not rows:
        out.print("No conflicts.")
        return
    several = _several_remotes(wb, remote)
    # Each remote's members: a row's assignee is a member of the workspace its remote mirrors.
    members = {name: member_names(wb, local_user(wb, sync_svc.status(wb, name).workspace_id)) for name in {c.remote for c in rows}}
    t = Table(box=None, header_style="bold", pad_edge=False)
    # ABOUT: a row is an annotation's field or a test session's note (entity_type test_note).
    for col in ("ID", *(["REMOTE"] if several else []), "ABOUT", "FIELD", "MINE", "THEIRS", "WAS"):
        t.add_column(col)
    for c in rows:
        named = members[c.remote] if c.field == "assignee_id" else None
        shown = [_value(v, status=c.field == "status", members=named) for v in (c.mine, c.theirs, c.base)]
        whose = [c.remote] if several else []
        t.add_row(*map(cell, (str(c.id), *whose, f"{c.entity_id[:13]}… {_about(c.title)}", c.field, *shown)))
    show_table(t, out)
    err.print("Settle with --keep-mine ID or --take-theirs ID.")


def _about(title: str, width: int = 40) -> str:
    """A conflict's title in its ABOUT cell: cut with "…", as the id beside it is (cut bare, "a note of
    user_demo001's test session (C" read as the whole of it)."""
    return title if len(title) <= width else title[: width - 1] + "…"


RefusedIds = Annotated[list[int] | None, typer.Argument(
    metavar="ID", help="Refused changes to act on (the ID column of the listing)", show_default=False)]


@sync_app.command("refused")
def sync_refused(
    ids: RefusedIds = None,
    remote: RemoteOpt = None,
    data_dir: DataDir = None,
    retry: Annotated[bool, typer.Option("--retry", help="Send the changes again on the next sync")] = False,
    discard: Annotated[bool, typer.Option("--discard", help="Drop the changes and undo them locally")] = False,
    every: Annotated[bool, typer.Option("--all", help="Every refused change (of --remote) instead of ids")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Discard with --all without asking")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List changes the server refused (with its reason), or retry / discard them.

    Without --remote every remote's are listed, each naming its remote (a REMOTE column when
    there are several; --json: a "remote" field on every row).

    --retry ID… or --discard ID… (--all: every one) acts on each change alone.
    An id that is not a refused change gets an error line, the others are still
    done, and the exit code is 1. --all --discard asks first (no terminal: --yes).
    """
    if retry and discard:
        fail("--retry and --discard exclude each other", 2)
    if (ids or every) and not (retry or discard):
        fail("say what to do with them: --retry or --discard", 2)
    if ids and every:
        fail("ids and --all exclude each other: give one", 2)
    if (retry or discard) and not (ids or every):
        fail(f"name the changes to {'retry' if retry else 'discard'}: their ids (the listing's ID column) or --all", 2)
    if every and discard and not yes and not sys.stdin.isatty():
        fail("--all --discard drops every refused change and undoes it here: add --yes (there is no terminal to ask in)", 2)
    wb = _open(data_dir)
    _known(wb, remote)
    if retry or discard:
        listed = sync_svc.refusals(wb, remote) if every else []
        if listed and discard and not yes:
            _confirm_discard(listed, several=_several_remotes(wb, remote))
        _act_on_refusals(wb, [r.seq for r in listed] if every else list(ids or []), discard=discard, as_json=as_json)
        return
    rows = sync_svc.refusals(wb, remote)
    if as_json:
        emit_json(listing(r.to_public() for r in rows))
        return
    if not rows:
        out.print("Nothing refused.")
        return
    several = _several_remotes(wb, remote)
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("ID", *(["REMOTE"] if several else []), "CHANGE", "STATUS", "SERVER SAID"):
        t.add_column(col)
    for r in rows:
        whose = [r.remote] if several else []
        t.add_row(*map(cell, (str(r.seq), *whose, r.summary, _value(r.http_status), r.reason or "")))
    show_table(t, out)
    err.print("Retry with --retry ID…, or drop with --discard ID… (or --all instead of ids).")


def _confirm_discard(rows: list[sync_svc.RefusalView], *, several: bool) -> None:
    """What ``--all --discard`` would drop (those and no others), then a yes/no on the terminal
    (on stderr: stdout may be for JSON)."""
    for r in rows:
        whose = f"{inert(r.remote)}  " if several else ""
        err.print(f"  {r.seq}  {whose}{inert(r.summary)}", soft_wrap=True)
    noun = "change" if len(rows) == 1 else "changes"
    if not typer.confirm(f"Discard these {len(rows)} refused {noun} and undo them here?", default=False, err=True):
        fail("Cancelled: nothing was discarded", 1)


def _act_on_refusals(wb: Workbench, seqs: list[int], *, discard: bool, as_json: bool) -> None:
    """Each change retried or discarded on its own; a line per id (or one JSON object); exit 1 if any failed."""
    outcomes = sync_svc.act_on_refusals(wb, seqs, discard_them=discard)
    if as_json:
        emit_json({"action": "discard" if discard else "retry", "items": [o.to_public() for o in outcomes]})
    elif not outcomes:
        out.print("Nothing refused.")
    else:
        for o in outcomes:  # what was done on stdout, as every command's result; each refusal on stderr
            echo(f"change {o.seq}: {o.message}" if o.ok else f"error: {o.message}", err=not o.ok)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)
