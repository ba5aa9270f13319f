"""The CLI on a replica of a real `workbench serve` (over TCP): assigning, settling conflicts, and the sync's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.served_remote import Served, served
from workbench.cli.main import app
from workbench.domain.annotations import AnnotationPatch
from workbench.services import annotations as annotations_svc
from workbench.services import sites as sites_svc
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench
from workbench.services.local import local_user

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
    assert f"conflict {first}: keeping mine" in done.stderr and f"conflict {second}: took theirs" in done.stderr
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
