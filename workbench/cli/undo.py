"""``workbench undo`` / ``workbench redo``: the local user's undo history, from a script or a shell.

The same history as the TUI's ``u`` / ``U`` (``services.undo``): the TUI's triage, replies, session actions and
bulk batches, the CLI's ``annotation set-status|resolve|assign|reply`` and an agent's triage and replies over
stdio MCP (``workbench mcp``, as the local user) are one stack.
"""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.annotations import local, refusals
from workbench.cli.options import DataDir, JsonFlag
from workbench.cli.output import echo, emit_json, fail, listing
from workbench.domain.roles import Principal
from workbench.services import undo as undo_svc
from workbench.services.context import Workbench
from workbench.services.inbox import member_names


def _report(wb: Workbench, me: Principal, outcome: undo_svc.Outcome | None, *, redo: bool, as_json: bool) -> None:
    """What an undo or redo did, on stdout; one that did nothing it was asked is a refusal (exit 1,
    ``fail``'s ``error:`` line or JSON object), so ``workbench undo && …`` never goes on as if it had."""
    verb = "redo" if redo else "undo"
    if outcome is None:
        fail(f"Nothing to {verb}", error=f"nothing_to_{verb}")
    names = member_names(wb, me)  # "Assigned to Max Member", never an id the store can name
    label = undo_svc.describe(outcome, members=names)
    if outcome.final:
        # The action is final now (README, "Undo"): the next run goes on to the one before it.
        fail(f"Can't {verb} {label}: {outcome.final}. Run it again for the action before it.", error=f"cannot_{verb}")
    if not outcome.applied:
        # Every step was changed since and left as it is: nothing was undone, so no success either.
        # The action has moved all the same (to the undone list, or back to done), as with the TUI's
        # ``u``, so the next run goes on to the next action.
        why = "; ".join(outcome.skipped) or "nothing of it could be applied"
        nxt = "the action undone before it" if redo else "the action before it"
        fail(f"{outcome.verb}: {label}: {why}. Run it again for {nxt}.", error="not_redone" if redo else "not_undone")
    if as_json:
        emit_json({"outcome": outcome.to_public()})
        return
    echo(f"{outcome.verb}: {label}")
    for note in outcome.notes:  # "its text is back as the reply's draft"
        echo(f"  {note}")
    for reason in outcome.skipped:  # each ends "left as it is"
        echo(f"  {reason}")


def undo(
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
    list_: Annotated[bool, typer.Option("--list", help="Show the latest actions and their state instead")] = False,
) -> None:
    """Undo your last action (a whole bulk batch at once), as `u` does in the terminal UI.

    Before a sync the change leaves the outbox; after one, the undo is sent as a change back.

    A reply can be undone only until it is sent, and its text comes back as the annotation's
    reply draft (unless a newer draft is there); persona runs and resolutions cannot be undone.
    Nothing to undo, an action that cannot be undone (it comes off the stack), or one whose every
    change was changed since (left as it is; it comes off the stack too), exits 1.
    """
    wb, me = local(data_dir)
    if list_:
        rows = undo_svc.history(wb, me)
        if as_json:
            emit_json(listing(rows))
        elif not rows:
            echo("No actions yet: nothing to undo or redo.")
        for row in [] if as_json else rows:
            echo(f"{row['id']:>5}  {row['state']:<6}  {row['label']}" + (f"  ({row['reason']})" if row["reason"] else ""))
        return
    with refusals():
        outcome = undo_svc.undo(wb, me)
    _report(wb, me, outcome, redo=False, as_json=as_json)


def redo(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Make your last undone action again, as `U` does in the terminal UI.

    A reply is sent again, and the draft its undo brought back goes (one edited since stays).
    Nothing to redo, or an action whose every change was changed since (left as it is), exits 1.
    """
    wb, me = local(data_dir)
    with refusals():
        outcome = undo_svc.redo(wb, me)
    _report(wb, me, outcome, redo=True, as_json=as_json)
