"""``workbench remote …``: the remotes a store syncs with, and their secrets.

Secrets are asked for with hidden prompts (or taken from WORKBENCH_TOKEN, WORKBENCH_STORE_KEY and
WORKBENCH_JWT, so scripts never put one on a command line) and kept in the system keyring;
``workbench sync`` asks the same way (``ask_secrets``) for a run whose secrets are missing.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from workbench.cli.options import DataDir, JsonFlag, open_workbench
from workbench.cli.output import cell, emit_json, fail, inert, listing, show_table
from workbench.domain.clock import iso_ms
from workbench.domain.errors import DomainError
from workbench.services import remotes

remote_app = typer.Typer(help="Remotes this store syncs with (secrets live in the system keyring).", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def ask_secrets(name: str, prompt: bool, only: str | None = None, *, for_this_run: bool = False) -> dict[str, str | None]:
    """Each secret from its environment variable, else a hidden prompt (when interactive).

    Where no keyring backend exists that is said before the first prompt: ``for_this_run``
    (``workbench sync``) then asks anyway, for this run only; otherwise (``remote add`` and
    ``login``, whose whole job is to keep them) nothing is asked that could not be kept.
    """
    import os

    values: dict[str, str | None] = {}
    interactive = prompt and sys.stdin.isatty()
    problem = remotes.keyring_problem()
    if interactive and problem is not None:
        if for_this_run:
            err.print(f"[yellow]No keyring:[/] {inert(problem)}. What you type now is used for this run only (in memory), never stored.",
                      soft_wrap=True)
        else:
            err.print(
                f"[yellow]No keyring:[/] {inert(problem)}, so secrets cannot be kept and none is asked for. `workbench sync` "
                "asks for them each run (kept in memory for that run), or set WORKBENCH_TOKEN, WORKBENCH_STORE_KEY and WORKBENCH_JWT.",
                soft_wrap=True,
            )
            interactive = False
    for kind, (var, label) in remotes.SECRETS.items():
        if only is not None and kind != only:
            continue
        value = os.environ.get(var, "").strip() or None
        if value is None and interactive:
            value = typer.prompt(f"{label} for {name} (Enter to skip)", default="", show_default=False, hide_input=True).strip() or None
        values[kind] = value
    return values


def report_saved(name: str, saved: remotes.SavedSecrets, given: dict[str, str | None]) -> None:
    """On stderr: which secrets went to the keyring, a keyring that refused them, or that none was given."""
    labels = {k: v[1] for k, v in remotes.SECRETS.items()}
    if saved.stored:
        err.print(f"Saved to the system keyring: {', '.join(labels[k] for k in saved.stored)}.")
    if saved.keyring_error and any(given.values()):
        err.print(
            f"[yellow]warning:[/] {saved.keyring_error}: the secrets were [bold]not[/] saved. "
            "`workbench sync` reads WORKBENCH_TOKEN, WORKBENCH_STORE_KEY and WORKBENCH_JWT from the environment instead.",
            soft_wrap=True,  # one line, as a log or grep reads it; a terminal wraps it itself
        )
    if not any(given.values()):
        err.print(f"No secrets given: {inert(remotes.credential_advice(name))}.", soft_wrap=True)


@remote_app.command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="A short name, like origin", show_default=False)],
    url: Annotated[str, typer.Argument(help="Base URL, like http://localhost:11001", show_default=False)],
    data_dir: DataDir = None,
    prompt: Annotated[bool, typer.Option("--prompt/--no-prompt", help="Ask for secrets not in the environment")] = True,
    study: Annotated[list[str] | None, typer.Option(
        "--study", metavar="<job-id>", help="A study (jobId) to sync when the remote cannot list them (repeatable)")] = None,
) -> None:
    """Add a remote; its secrets come from the environment or hidden prompts and go to the keyring."""
    wb = open_workbench(data_dir)
    given = ask_secrets(name, prompt)
    try:
        saved = remotes.add(wb, name, url, given, studies=study)
    except DomainError as exc:
        fail(exc.message)
        return
    out.print(f"Remote [bold]{inert(name)}[/] → {inert(url.rstrip('/'))}", soft_wrap=True)
    report_saved(name, saved, given)


@remote_app.command("login")
def remote_login(
    name: Annotated[str, typer.Argument(help="Remote name", show_default=False)],
    data_dir: DataDir = None,
    only: Annotated[str | None, typer.Option("--only", help="Only this secret: token, store_key or jwt")] = None,
) -> None:
    """Enter new credentials for a remote (after a 401, a rotation or a revocation), kept in the system keyring.

    Exits 1 when nothing was kept: no keyring on this machine (then the environment variables
    or `workbench sync`'s own prompt are the way), or no secret given.
    """
    wb = open_workbench(data_dir)
    if only is not None and only not in remotes.SECRETS:
        fail("--only takes token, store_key or jwt", 2)
    try:
        remotes.find(wb, name)
    except DomainError as exc:
        fail(exc.message)
    if remotes.keyring_problem() is not None:
        fail(f"there is no keyring to keep secrets in: {remotes.credential_advice(name, only)}")
    given = ask_secrets(name, True, only)
    try:
        saved = remotes.save_secrets(wb, name, given)
    except DomainError as exc:
        fail(exc.message)
        return
    report_saved(name, saved, given)
    if not saved.stored:
        raise typer.Exit(1)


@remote_app.command("list")
def remote_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Remotes, where their secrets come from, and when they last synced."""
    wb = open_workbench(data_dir)
    rows = remotes.list_remotes(wb)
    if as_json:
        emit_json(listing(r.to_public() for r in rows))
        return
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("NAME", "URL", "TOKEN", "STORE KEY", "JWT", "LAST SYNC", "LAST ERROR"):
        t.add_column(col)
    for r in rows:
        t.add_row(*map(cell, (
            r.name, r.url, r.credentials.get("token", ""), r.credentials.get("store_key", ""), r.credentials.get("jwt", ""),
            (iso_ms(r.last_sync_at) or "never")[:19].replace("T", " "), r.last_error or "",
        )))
    show_table(t, out, empty="No remotes; add one with `workbench remote add NAME URL`.")


@remote_app.command("remove")
def remote_remove(
    name: Annotated[str, typer.Argument(help="Remote name", show_default=False)],
    data_dir: DataDir = None,
    force: Annotated[bool, typer.Option("--force", help="Also drop changes not synced yet")] = False,
) -> None:
    """Forget a remote and its secrets; the replicated data stays in the store as local data."""
    wb = open_workbench(data_dir)
    try:
        remotes.remove(wb, name, force=force)
    except DomainError as exc:
        fail(exc.message)
    out.print(f"Removed remote {inert(name)}.")
