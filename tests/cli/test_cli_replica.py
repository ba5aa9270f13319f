"""The CLI on a replica of a real `workbench serve` (over TCP): assigning, settling conflicts, and the sync's refusals
(retried or discarded several at once, or all)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from storage import sync_state
from tests.served_remote import Served, served
from workbench.cli.main import app
from workbench.domain.annotations import AnnotationPatch
from workbench.services import annotations as annotations_svc
from workbench.services import sites as sites_svc
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench
from workbench.services.local import local_user

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path, annotations=40) as s:
        yield s


@pytest.fixture
def replica(remote: Served, tmp_path: Path) -> Iterator[Workbench]:
    wb = remote.replica(tmp_path / "local")
    yield wb
    wb.store.close()


def run(wb: Workbench, *args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--data-dir", str(wb.store.data_dir)])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def some_ids(wb: Workbench, n: int) -> list[str]:
    """``n`` new or acknowledged annotations: each status set below is a change on both sides."""
    me = local_user(wb)
    found = [
        a.id for site in sites_svc.list_sites(wb, me) for status in ("new", "ack")
        for a in annotations_svc.list_annotations(wb, me, site.id, status=status, limit=n).items
    ]
    assert len(found) >= n, found
    return found[:n]


def test_assigning_the_local_user_on_a_replica_is_refused_before_anything_is_queued(replica):
    """Issue 3: the server does not know this machine's user; the TUI never offers it, the CLI refuses it."""
    [ann] = some_ids(replica, 1)
    refused = run(replica, "annotation", "assign", ann, "me", code=1)
    assert refused.stderr.startswith("error: On a replica the local user cannot be assigned")
    assert sync_svc.status(replica).pending == 0
    assert annotations_svc.get(replica, local_user(replica), ann).assignee_id is None


def conflicts_on(remote: Served, replica: Workbench, ids: list[str], mine: list[str], theirs: str) -> list[int]:
    """One status conflict per annotation: ``mine`` here, ``theirs`` on the server."""
    me = local_user(replica)
    for ann, status in zip(ids, mine, strict=True):
        annotations_svc.patch(replica, me, ann, AnnotationPatch.model_validate({"status": status}))
        remote.patch(ann, status=theirs, summary="done on the server")
    remote.sync(replica)
    found = sync_svc.conflicts(replica)
    assert len(found) == len(ids), found
    return [c.id for c in found]


def test_settling_conflicts_is_all_or_nothing_and_speaks_words(remote, replica):
    """Issues 8 and 13: a contradictory or unknown id settles nothing, whatever the order; the table says "won't fix"."""
    ids = some_ids(replica, 3)
    first, second, third = conflicts_on(remote, replica, ids, ["won_t_fix", "in_progress", "triaged"], "resolved")
    table = run(replica, "sync", "conflicts").stdout
    assert "won't fix" in table and "in progress" in table and "won_t_fix" not in table and "in_progress" not in table

    both = run(replica, "sync", "conflicts", "--keep-mine", str(first), "--take-theirs", str(first), code=2)
    assert both.stderr == f"error: conflict {first} is in both --keep-mine and --take-theirs: choose one\n"
    unknown = run(replica, "sync", "conflicts", "--take-theirs", str(second), "--keep-mine", "999", "--take-theirs", "998", code=1)
    assert unknown.stderr == "error: No open conflict 999, 998: nothing was settled\n"
    assert len(sync_svc.conflicts(replica)) == 3  # neither refusal settled anything

    done = run(replica, "sync", "conflicts", "--take-theirs", str(second), "--keep-mine", str(first))
    # What was done is the command's result, on stdout as the annotation verbs' is (it was on stderr).
    assert f"conflict {first}: keeping mine" in done.stdout and f"conflict {second}: took theirs" in done.stdout
    assert done.stderr == ""
    assert [c.id for c in sync_svc.conflicts(replica)] == [third]
    # Settled ones are no longer open: asking again names them and leaves the open one alone.
    again = run(replica, "sync", "conflicts", "--take-theirs", str(third), "--take-theirs", str(first), code=1)
    assert again.stderr == f"error: No open conflict {first}: nothing was settled\n"
    assert [c.id for c in sync_svc.conflicts(replica)] == [third]


def test_an_unknown_remote_is_refused_alike_by_sync_and_remote_login(replica):
    """Issue 12: the same refusal exits 1 from both."""
    for args in (["sync", "-r", "nowhere"], ["remote", "login", "nowhere"]):
        refused = run(replica, *args, code=1)
        assert refused.stderr == "error: No remote named 'nowhere'\n", args


def refusals_on(remote: Served, replica: Workbench, n: int) -> list[int]:
    """``n`` changes the server refuses (an assignee that is no member of its workspace), synced: their ids."""
    me = local_user(replica)
    ids = some_ids(replica, n)
    for ann in ids:
        annotations_svc.patch(replica, me, ann, AnnotationPatch(assignee_id="not-a-member"))
    assert remote.sync(replica).refused == n
    seqs = [r.seq for r in sync_svc.refusals(replica)]
    assert len(seqs) == n
    return seqs


def states(wb: Workbench, seqs: list[int]) -> list[str | None]:
    """Each outbox entry's state (pending, refused), or None once it is gone (discarded)."""
    return [e.state if (e := sync_state.get_entry(wb.store.db, s)) is not None else None for s in seqs]


def test_refused_changes_are_retried_several_at_once_and_an_unknown_id_spoils_only_itself(remote, replica):
    first, second, third = refusals_on(remote, replica, 3)
    done = run(replica, "sync", "refused", "--retry", str(first), "999", str(third), str(first), code=1)
    # What was done on stdout, in the order given; the id refused on stderr, as any refusal.
    assert done.stdout == (
        f"change {first}: will be sent again on the next sync\n"
        f"change {third}: will be sent again on the next sync\n"
    )
    assert done.stderr == "error: No refused change 999\n"
    assert states(replica, [first, second, third]) == ["pending", "refused", "pending"]
    # The old spelling, one --retry per id, still reads as ids after the flag.
    run(replica, "sync", "refused", "--retry", str(second), "--retry")
    assert states(replica, [second]) == ["pending"]


def test_refused_changes_are_discarded_with_a_json_report(remote, replica):
    first, second = refusals_on(remote, replica, 2)
    listed = {r.seq: r for r in sync_svc.refusals(replica)}
    done = run(replica, "sync", "refused", "--discard", str(second), "998", "--json", code=1)
    assert json.loads(done.stdout) == {"action": "discard", "items": [
        {"id": second, "ok": True, "change": listed[second].summary, "message": "discarded, and undone here"},
        {"id": 998, "ok": False, "change": None, "message": "No refused change 998"},
    ]}
    assert done.stderr == ""
    assert states(replica, [first, second]) == ["refused", None]
    # Discarding undid the change here; the one kept is still made.
    me = local_user(replica)
    assert annotations_svc.get(replica, me, listed[second].entity_id).assignee_id is None
    assert annotations_svc.get(replica, me, listed[first].entity_id).assignee_id == "not-a-member"


def test_all_retries_every_refused_change(remote, replica):
    seqs = refusals_on(remote, replica, 2)
    done = run(replica, "sync", "refused", "--all", "--retry", "--json")
    assert [(i["id"], i["ok"]) for i in json.loads(done.stdout)["items"]] == [(s, True) for s in seqs]
    assert states(replica, seqs) == ["pending", "pending"]
    nothing = run(replica, "sync", "refused", "--all", "--retry")
    assert (nothing.stdout, nothing.stderr) == ("Nothing refused.\n", "")


def test_all_discard_asks_first_and_without_a_terminal_needs_yes(remote, replica):
    seqs = refusals_on(remote, replica, 2)
    # CliRunner's stdin is no terminal, as a script's or a pipe's is not.
    why = "--all --discard drops every refused change and undoes it here: add --yes (there is no terminal to ask in)"
    assert run(replica, "sync", "refused", "--all", "--discard", code=2).stderr == f"error: {why}\n"
    as_json = run(replica, "sync", "refused", "--all", "--discard", "--json", code=2)
    assert json.loads(as_json.stderr) == {"error": {"code": "usage_error", "message": why}}
    assert states(replica, seqs) == ["refused", "refused"]
    # In a terminal: asked, with what would go; "no" keeps them, "yes" drops them.
    cancelled = on_a_terminal(replica, "n\n", "sync", "refused", "--all", "--discard")
    assert cancelled.returncode == 1 and "Discard these 2 refused changes and undo them here? [y/N]" in cancelled.stderr
    assert cancelled.stderr.endswith("error: Cancelled: nothing was discarded\n")
    assert all(f"  {s}  change assignee of annotation" in cancelled.stderr for s in seqs)
    assert states(replica, seqs) == ["refused", "refused"]
    confirmed = on_a_terminal(replica, "y\n", "sync", "refused", "--all", "--discard")
    assert confirmed.returncode == 0, confirmed.stderr
    assert states(replica, seqs) == [None, None]


def test_all_discard_with_yes_asks_nothing(remote, replica):
    seqs = refusals_on(remote, replica, 2)
    done = run(replica, "sync", "refused", "--all", "--discard", "--yes")
    assert done.stdout == "".join(f"change {s}: discarded, and undone here\n" for s in seqs) and done.stderr == ""
    assert states(replica, seqs) == [None, None]


@pytest.mark.parametrize(("args", "said"), [
    (["--retry"], "name the changes to retry: their ids (the listing's ID column) or --all"),
    (["--discard"], "name the changes to discard: their ids (the listing's ID column) or --all"),
    (["1", "2"], "say what to do with them: --retry or --discard"),
    (["--all"], "say what to do with them: --retry or --discard"),
    (["--retry", "--discard", "1"], "--retry and --discard exclude each other"),
    (["--retry", "--all", "1"], "ids and --all exclude each other: give one"),
])
def test_sync_refused_usage_errors(tmp_path: Path, args: list[str], said: str):
    """Found before the store is opened: a usage error never retries or discards anything."""
    refused = runner.invoke(app, ["sync", "refused", *args, "--data-dir", str(tmp_path / "data")])
    assert refused.exit_code == 2, (refused.stdout, refused.stderr)
    assert refused.stderr == f"error: {said}\n"
    assert not (tmp_path / "data").exists()


def on_a_terminal(wb: Workbench, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``workbench ARGS`` with a pseudo-terminal for stdin (where it asks), ``answer`` typed there."""
    main, child = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", *args, "--data-dir", str(wb.store.data_dir)], stdin=child, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        os.close(child)
        os.write(main, answer.encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(main)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_conflicts_about_cut_to_its_width_says_so(remote, replica):
    """The ABOUT cell cut a title at 40 characters mid-word ("a note of user_demo001's test session (C"),
    with nothing to say it went on; the id beside it is cut with "…", and so is the title now."""
    ids = some_ids(replica, 4)
    conflicts_on(remote, replica, ids, ["won_t_fix", "in_progress", "triaged", "won_t_fix"], "resolved")
    table = run(replica, "sync", "conflicts").stdout
    long = [c for c in sync_svc.conflicts(replica) if len(c.title) > 40]
    assert long, [c.title for c in sync_svc.conflicts(replica)]
    for c in long:
        row = next(ln for ln in table.splitlines() if ln.startswith(f"{c.id} "))
        assert f"{c.title[:39]}…" in row, row
