"""Script-friendly verbs over the local store, ``gh``-style: sites, annotations, one annotation, personas.

Every listing takes ``--json`` (the API's shapes, so ``jq`` filters work on both); human
output is rich tables. Each verb acts as the store's local user through the services, so the
rules and the audit log are the server's. Refusals print one ``error:`` line on stderr and
exit 1; bad usage exits 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.rule import Rule

from workbench.cli.options import Database, DataDir, JsonFlag, given_path, not_utf8, open_workbench
from workbench.cli.output import add_row, echo, emit_json, fail, inert, listing, show_rendered, show_table, table
from workbench.domain.annotations import (
    AnnotationPatch,
    Kind,
    ReplyCreate,
    ResolutionCreate,
    RunPersonasRequest,
    Status,
    check_resolution,
    required_summary,
)
from workbench.domain.clock import iso_ms
from workbench.domain.cursors import InvalidCursor
from workbench.domain.errors import DomainError, validation_text
from workbench.domain.roles import Principal
from workbench.domain.safe_text import terminal_safe
from workbench.domain.since import parse_since
from workbench.domain.statuses import status_label
from workbench.services import annotations as annotations_svc
from workbench.services import personas as personas_svc
from workbench.services import resolutions as resolutions_svc
from workbench.services import sites as sites_svc
from workbench.services import undo as undo_svc
from workbench.services.context import Workbench
from workbench.services.local import local_user

sites_app = typer.Typer(help="Sites of the store: the data directory's, or a team server's database (--database).", no_args_is_help=True)
annotations_app = typer.Typer(help="List annotations (add --json for scripts).", no_args_is_help=True)
annotation_app = typer.Typer(help="Read or act on one annotation.", no_args_is_help=True)
personas_app = typer.Typer(help="Reviewer personas of the workspace.", no_args_is_help=True)
out = Console()


# -- plumbing -------------------------------------------------------------------------------
@contextmanager
def refusals(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """A rule's refusal, the domain's or a request model's, exits 1 in words ("summary: at most
    2,000 characters"); usage errors (exit 2) are the options' own, mostly found before this runs.
    A cursor is only known bad once a listing reads it, here: it is a bad ``--cursor``, a usage
    error as a bad ``--since`` is (README's exit codes), on every listing that takes one."""
    try:
        yield
    except InvalidCursor as exc:
        fail(exc.message, 2)
    except DomainError as exc:
        fail(exc.message, 1)
    except ValidationError as exc:
        # Text whose bytes are not UTF-8 (a --summary, a reply's message, its stdin) reaches the
        # request model, not the store: pydantic's "unable to parse raw data as a unicode string"
        # and exit 1, where the same bytes in an id were README's usage error, exit 2.
        if (raw := next((e["input"] for e in exc.errors() if e["type"] == "string_unicode"), None)) is not None:
            not_utf8(str(raw))
        fail(validation_text(exc, names), 1)


def local(data_dir: Path | None, database: str | None = None) -> tuple[Workbench, Principal]:
    """The store and its local user. A store with no workspace is refused, never given one: a
    listing must not invent the workspace and site it lists (the TUI's first run fills demo data)."""
    wb = open_workbench(data_dir, database)
    with refusals():
        return wb, local_user(wb, create=False)


def named(option: str, value: str | None, leave_out: str) -> str | None:
    """``value`` of an option that names something, refused when blank: an empty ``--site`` read as
    no option at all (the first site, or with --query every site) and ``--category ""`` as every
    persona, so a script's unset variable listed something else than it asked for, without a word
    (an empty ``--persona`` was "Persona  not found", naming nothing)."""
    if value is not None and not value.strip():
        fail(f"{option} is empty: give one, or leave {option} out for {leave_out}", 2, error="bad_parameter")
    return value


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- sites ----------------------------------------------------------------------------------
# `sites list` and `personas list` print every row, as they always did: short lists (the 60 default
# personas alone would fill a first page of 50 and cut the list `--persona` slugs are read from).
# Their JSON still has the listings' {items, next_cursor} shape (output.listing).

@sites_app.command("list")
def sites_list(data_dir: DataDir = None, database: Database = None, as_json: JsonFlag = False) -> None:
    """The workspace's sites (never their secrets)."""
    # A team server's too, as `sites origins` and `sites snippet`: their site id is looked up here.
    wb, me = local(data_dir, database)
    with refusals():
        rows = sites_svc.list_sites(wb, me)
    if as_json:
        emit_json(listing(s.to_public() for s in rows))
        return
    t = table("ID", "NAME", "URL", "CREATED")
    for s in rows:
        p = s.to_public()
        add_row(t, p["id"], p["name"], p["url"], _when(p["created_at"]))
    show_table(t, out, shrink="URL", give_way=("CREATED",), empty="No sites in this workspace.")


# -- annotations list -----------------------------------------------------------------------
@annotations_app.command("list")
def annotations_list(
    data_dir: DataDir = None,
    site: Annotated[str | None, typer.Option("--site", help="Site id", show_default="the first site")] = None,
    status: Annotated[Status | None, typer.Option(help="Only this status")] = None,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind")] = None,
    since: Annotated[str | None, typer.Option(help="Updated at or after: epoch ms, an ISO-8601 date (UTC) or date and time with its zone "
                                                        "(2026-11-01T09:00:00Z), or an age like 12h or 7d")] = None,
    auto_fix: Annotated[bool | None, typer.Option("--auto-fix/--no-auto-fix", help="Only (or never) auto-fix-authorised ones")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Page size")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of a previous page")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow next_cursor to the last page")] = False,
    query: Annotated[str | None, typer.Option(
        "--query", "-q",
        help='Search as the TUI\'s / does: words, "a phrase", -word, a OR b, and status: kind: site: assignee:@me '
             "is:autofix page: author: age:<7d updated:>2026-11-01; every site and status unless named",
    )] = None,
    as_json: JsonFlag = False,
) -> None:
    """A site's annotations, newest first; with --json the API's {site_id, items, next_cursor} shape (--query too).

    \b
    Examples:
      workbench annotations list --status new --json | jq -r '.items[].id'
      workbench annotations list -q 'checkout -mobile status:new age:<7d' --all
    """
    named("--site", site, "the first site (with --query, every site)")
    wb, me = local(data_dir)
    if query is not None:
        _search(wb, me, query, site=site, status=status, kind=kind, auto_fix=auto_fix, limit=limit, cursor=cursor,
                all_pages=all_pages, as_json=as_json, since=since)
        return
    try:
        since_ms = parse_since(since, wb.clock())
    except DomainError as exc:
        fail(exc.message, 2)
    with refusals():
        site_id = site or _first_site(wb, me)
        items: list[dict[str, Any]] = []
        while True:
            page = annotations_svc.list_annotations(
                wb, me, site_id, status=status.value if status else None, kind=kind.value if kind else None,
                since_ms=since_ms, auto_fix=auto_fix, cursor=cursor, limit=limit,
            )
            items += [a.to_public() for a in page.items]
            cursor = page.next_cursor
            if not all_pages or cursor is None:
                break
    if as_json:
        emit_json({"site_id": site_id, "items": items, "next_cursor": cursor})
        return
    chosen = [f"status {status.value}" if status else "", f"kind {kind.value}" if kind else "",
              "" if auto_fix is None else ("auto-fix" if auto_fix else "not auto-fix"), f"since {since}" if since else ""]
    which = ", ".join(c for c in chosen if c)
    _show_annotations(items, cursor, f"No annotations{f' ({which})' if which else ''} on site {site_id}.")


def _show_annotations(items: list[dict[str, Any]], cursor: str | None, empty: str) -> None:
    """The listing's table (statuses in words), or ``empty`` when it has no rows, and on stderr how to get the next page."""
    t = table("ID", "STATUS", "KIND", "AUTO", "UPDATED", "PAGE", "FEEDBACK")
    for a in items:
        add_row(
            t, a["id"], status_label(a["status"]), a["kind"], "yes" if a["auto_fix"] else "", _when(a["updated_at"]),
            _one_line(a["page_url"], 40), _one_line(a["body"]),
        )
    show_table(t, out, shrink="FEEDBACK", give_way=("PAGE", "UPDATED", "AUTO"), empty=empty)
    if cursor:
        echo(f"more: --cursor {cursor}", err=True)


def _search(wb: Workbench, me: Principal, query: str, *, site: str | None, status: Status | None, kind: Kind | None,
            auto_fix: bool | None, limit: int, cursor: str | None, all_pages: bool, as_json: bool, since: str | None) -> None:
    """``annotations list --query``: the inbox's search over annotations (workbench/domain/query.py), paged as the listing is."""
    from workbench.domain.query import parse as parse_query
    from workbench.services import inbox

    if since is not None:
        fail("--since does not apply to --query: write updated:>DATE (or updated:<12h) in the query", 2)
    try:
        if status is not None and parse_query(query, wb.clock()).statuses:
            fail("--status and the query's status: both choose statuses: keep one", 2)
        f = inbox.InboxFilter(sources=("annotation",), status=status.value if status else inbox.AWAITING,
                              kind=kind.value if kind else None, place=site, auto_fix=auto_fix, text=query)
        inbox.check(wb, me, f)
    except DomainError as exc:
        fail(exc.message, 2)
    rows: list[Any] = []
    with refusals():
        while True:
            found, cursor = inbox.page(wb, me, f, cursor, limit)
            rows += found
            if not all_pages or cursor is None:
                break
        items = [annotations_svc.get(wb, me, r.id).to_public() for r in rows]
    if as_json:
        # The listing's shape (site_id is null when the search spans every site), plus the query.
        emit_json({"site_id": site, "query": query, "items": items, "next_cursor": cursor})
        return
    _show_annotations(items, cursor, f"No annotations match: {query}")


def _first_site(wb: Workbench, me: Principal) -> str:
    sites = sites_svc.list_sites(wb, me)
    if not sites:
        fail("This store has no site yet; run `workbench admin bootstrap`", error="not_found")
    return sites[0].id


# -- one annotation -------------------------------------------------------------------------
AnnId = Annotated[str, typer.Argument(help="Annotation id", show_default=False)]


@annotation_app.command("show")
def show(
    annotation_id: AnnId,
    data_dir: DataDir = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the agent-friendly markdown source (control characters shown as \\x1b)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """One annotation with its thread and resolutions."""
    if markdown and as_json:
        fail("--markdown and --json exclude each other", 2)
    wb, me = local(data_dir)
    with refusals():
        if as_json:
            emit_json(annotations_svc.detail(wb, me, annotation_id))
            return
        text = annotations_svc.render_markdown(wb, me, annotation_id)
    # Bodies come from anonymous page visitors: nothing in them may act on this terminal, and a
    # link shows its address beside its text (as in the TUI), never as a hyperlink hiding where it leads.
    if markdown:
        sys.stdout.write(terminal_safe(text))
    else:
        from rich.markdown import Markdown  # here: with its parser and Pygments, ~25 ms of every command's start

        show_rendered(Markdown(terminal_safe(text), hyperlinks=False), out)


def _patched(wb: Workbench, me: Principal, annotation_id: str, as_json: bool, **fields: Any) -> None:
    with refusals():
        done = undo_svc.apply_patch(wb, me, annotation_id, AnnotationPatch(**fields))  # recorded: `workbench undo`
    ann = done.annotation
    if as_json:
        emit_json(ann.to_public())
    else:
        who = ""
        if "assignee_id" in fields:
            from workbench.services.inbox import member_name, member_names

            who = f", assignee {member_name(ann.assignee_id, member_names(wb, me))}" if ann.assignee_id else ", unassigned"
        unchanged = "" if done.changes else "; already set, nothing changed"
        echo(f"{ann.id}: {status_label(ann.status)}{who} (version {ann.version}{unchanged})")


@annotation_app.command("set-status")
def set_status(
    annotation_id: AnnId,
    status: Annotated[Status, typer.Argument(help="New status", show_default=False)],
    data_dir: DataDir = None,
    summary: Annotated[str | None, typer.Option(help="Summary to set with it (e.g. 'duplicate of …')")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change the status (new, ack, triaged, in_progress, resolved, won_t_fix, duplicate).

    \b
    Example:
      workbench annotation set-status ID duplicate --summary "duplicate of 01a2…"
    """
    wb, me = local(data_dir)
    fields: dict[str, Any] = {"status": status.value}
    if summary is not None:
        fields["summary"] = summary
    _patched(wb, me, annotation_id, as_json, **fields)


@annotation_app.command("resolve")
def resolve(
    annotation_id: AnnId,
    summary: Annotated[str, typer.Option(help="What was done", show_default=False)],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark resolved with a summary (it must say something: a blank one is refused)."""
    wb, me = local(data_dir)
    with refusals():
        said = required_summary(summary)
    _patched(wb, me, annotation_id, as_json, status=Status.RESOLVED.value, summary=said)


@annotation_app.command("assign")
def assign(
    annotation_id: AnnId,
    user: Annotated[str, typer.Argument(help="A member's name, email or user id, 'me', or 'none' to unassign", show_default=False)],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Assign to a workspace member (or unassign with 'none').

    \b
    Examples:
      workbench annotation assign ID me
      workbench annotation assign ID "Max Member"
      workbench annotation assign ID none
    """
    if not user.strip():
        # Empty names nobody: it read as an unknown member ("assignee_id is not a member"), not as the way to unassign.
        fail("give a member's user id, 'me', or 'none' to unassign", 2, error="bad_parameter")
    wb, me = local(data_dir)
    assignee = me.user_id if user == "me" else None if user in ("none", "-") else _member(wb, me, user)
    _patched(wb, me, annotation_id, as_json, assignee_id=assignee)


def _member(wb: Workbench, me: Principal, name: str) -> str:
    """The user id ``name`` names, as the inbox's ``assignee:`` reads it (a name, an email or an id).

    A name was taken as an id: on a replica, whose services cannot know every server member,
    ``assign ID "Max Member"`` was queued as the id "Max Member", shown as "…Member (name unknown
    here)", and refused by the server at the next sync. On a replica a value naming no member it
    knows is refused here, as the TUI offers only those; a local store's services judge it."""
    from storage import sync_state
    from workbench.services.inbox import members_named

    found = members_named(wb, me, name)
    if len(found) > 1:
        fail(f'"{terminal_safe(name)}" names {len(found)} members: give one\'s email or user id', 1)
    if found:
        return found[0]
    if sync_state.is_replica(wb.store.db, me.workspace_id):
        fail(f'No member named "{terminal_safe(name)}" known here: give a name, an email or a user id as '
             "the TUI's assign dialog lists them (a replica knows the server's members who replied or were assigned)", 1)
    return name


@annotation_app.command("reply")
def reply(
    annotation_id: AnnId,
    message: Annotated[str, typer.Argument(help="Reply text (markdown); '-' reads it from stdin", show_default=False)],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Reply on the annotation's thread as the local user.

    \b
    Examples:
      workbench annotation reply ID "fixed in #1234"
      git log -1 --format=%B | workbench annotation reply ID -
    """
    wb, me = local(data_dir)
    body = sys.stdin.read() if message == "-" else message
    with refusals({"body": "message"}):  # what the command line calls it
        r = undo_svc.reply(wb, me, annotation_id, ReplyCreate(body=body))  # recorded: `workbench undo` until sent
    if as_json:
        emit_json(r.to_public())
    else:
        echo(f"{annotation_id}: replied ({r.id})")


@annotation_app.command("attach")
def attach(
    annotation_id: AnnId,
    data_dir: DataDir = None,
    # A directory, a device or a missing file is judged with the file's bytes (resolutions._read_evidence):
    # one line each, where Click's dir_okay=False answered a directory alone with its usage box.
    before: Annotated[Path | None, typer.Option(metavar="<file>", help="Screenshot before the change", parser=given_path)] = None,
    after: Annotated[Path | None, typer.Option(metavar="<file>", help="Screenshot after the change", parser=given_path)] = None,
    diff_url: Annotated[str | None, typer.Option(help="https:// link to the change")] = None,
    explanation: Annotated[str | None, typer.Option(help="What changed (markdown, 4 KB at most)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Attach a resolution (evidence of a fix) and notify the submitter.

    At least one of --before, --after, --diff-url or --explanation.

    \b
    Example:
      workbench annotation attach ID --after fixed.png --diff-url URL
    """
    wb, me = local(data_dir)
    with refusals():
        # The rules are checked (file names standing in for keys) before any file is copied
        # into the store, so a refused call leaves no stray upload behind.
        check_resolution(ResolutionCreate(
            before_key=str(before) if before else None, after_key=str(after) if after else None,
            diff_url=diff_url, explanation=explanation,
        ))
        annotations_svc.get(wb, me, annotation_id)
        keys = {k: resolutions_svc.attach_local_file(wb, me, annotation_id, k, f) for k, f in (("before", before), ("after", after)) if f}
        res = resolutions_svc.create(
            wb, me, annotation_id,
            ResolutionCreate(before_key=keys.get("before"), after_key=keys.get("after"), diff_url=diff_url, explanation=explanation),
        )
        notified = resolutions_svc.deliver(wb, res.id)
        current = next((r for r in resolutions_svc.list_for(wb, me, annotation_id) if r.id == res.id), res)
    if as_json:
        emit_json(current.to_public())
    else:
        echo(f"{annotation_id}: resolution {res.id} attached; submitter notification: {notified}")


@annotation_app.command("resolutions")
def resolutions_list(annotation_id: AnnId, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """The annotation's resolutions, oldest first (what was already tried); --json: the API's rows.

    \b
    Example:
      workbench annotation resolutions ID --json | jq -r '.items[].diff_url'
    """
    wb, me = local(data_dir)
    with refusals():
        rows = resolutions_svc.list_for(wb, me, annotation_id)
    if as_json:
        # Printed whole, as `sites list` is: an annotation's few resolutions make no second page.
        emit_json(listing(r.to_public() for r in rows))
        return
    if not rows:
        echo(f"No resolutions; attach one with `workbench annotation attach {annotation_id} …`.")
        return
    t = table("ID", "CREATED", "NOTIFICATION", "EVIDENCE", "DIFF URL", "EXPLANATION")
    for r in rows:
        # Which pictures, not their storage keys (--json has those), as the TUI names them.
        evidence = ", ".join(name for name, key in (("before", r.before_key), ("after", r.after_key)) if key)
        add_row(t, r.id, _when(iso_ms(r.created_at)), r.notification_status, evidence, r.diff_url or "",
                _one_line(r.explanation or ""))
    show_table(t, out, shrink="EXPLANATION", give_way=("DIFF URL", "CREATED"))


@annotation_app.command("personas")
def run_personas(
    annotation_id: AnnId,
    data_dir: DataDir = None,
    persona: Annotated[list[str] | None, typer.Option(
        "--persona", metavar="<slug>", help="Persona id or slug (repeatable)", show_default="the most relevant")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run reviewer personas on the annotation; each posts a review reply.

    \b
    Example (slugs: workbench personas list):
      workbench annotation personas ID --persona ada-screen-reader-user
    """
    for given in persona or []:
        named("--persona", given, "the most relevant personas")
    wb, me = local(data_dir)
    with refusals():
        ids = personas_svc.ids_of(wb, me, persona) if persona else None
        replies = annotations_svc.run_personas(wb, me, annotation_id, RunPersonasRequest(persona_ids=ids))
    if as_json:
        emit_json({"replies": [r.to_public() for r in replies]})
        return
    from rich.markdown import Markdown  # here: see show()

    for r in replies:
        show_rendered(Rule(inert(r.author_name)), out)
        show_rendered(Markdown(terminal_safe(r.body), hyperlinks=False), out)  # an engine may echo a visitor's link


# -- personas -------------------------------------------------------------------------------
@personas_app.command("list")
def personas_list(
    data_dir: DataDir = None,
    category: Annotated[str | None, typer.Option(help="Only this category")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Defaults and custom personas, by category then name."""
    named("--category", category, "every category")
    wb, me = local(data_dir)
    with refusals():
        rows = personas_svc.list_category(wb, me, category) if category else personas_svc.list_mine(wb, me)
    if as_json:
        emit_json(listing(p.to_public() for p in rows))
        return
    t = table("ID", "SLUG", "NAME", "CATEGORY", "DEFAULT")
    for p in rows:
        add_row(t, p.id, p.slug, p.name, p.category, "yes" if p.is_default else "")
    show_table(t, out, shrink="NAME", give_way=("SLUG",), empty=f"No personas in category {category}." if category else "No personas.")
