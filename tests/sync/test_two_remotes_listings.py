"""`workbench sync conflicts` and `sync refused` on a store with two remotes: each row names its remote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.test_cli_replica import on_a_terminal
from tests.sync.conftest import Bridge, Hub
from workbench.cli.main import app
from workbench.domain.annotations import AnnotationPatch, WidgetAnnotationCreate
from workbench.services import annotations as ann_svc
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench
from workbench.services.local import local_user

runner = CliRunner()


class Both:
    """One local store syncing with two servers: ``origin`` and ``backup``."""

    def __init__(self, tmp: Path) -> None:
        self.hubs = {"origin": Hub(tmp / "origin"), "backup": Hub(tmp / "backup")}
        self.wb = Workbench.open(str(tmp / "local"), mailer=None)
        for name in self.hubs:
            remotes.add(self.wb, name, "http://testserver")

    def sync(self, name: str) -> sync_svc.Report:
        hub = self.hubs[name]
        report = sync_svc.run_sync(
            self.wb, name, credentials={"token": hub.creds["member_token"]}, transport=Bridge(hub.tc), sleep=lambda s: None,
            first_sync="separate",
        )
        assert report.stopped is None, report.stopped
        return report

    def close(self) -> None:
        self.wb.store.close()
        for hub in self.hubs.values():
            hub.close()


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Both]:
    b = Both(tmp_path)
    yield b
    b.close()


def a_conflict_and_a_refusal(both: Both, name: str) -> None:
    """On ``name``'s replica: a status both sides changed, and an assignee the server refuses."""
    hub = both.hubs[name]
    ids = [
        ann_svc.submit_from_widget(
            hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None,
            WidgetAnnotationCreate(page_url=f"https://{name}.example/p{i}", body=f"{name} feedback {i}"),
        ).id
        for i in range(2)
    ]
    both.sync(name)
    ws = next(r.workspace_id for r in remotes.list_remotes(both.wb) if r.name == name)
    me = local_user(both.wb, ws)
    ann_svc.patch(both.wb, me, ids[0], AnnotationPatch(status="won_t_fix"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(status="resolved"))
    ann_svc.patch(both.wb, me, ids[1], AnnotationPatch(assignee_id="not-a-member"))
    report = both.sync(name)
    assert (report.conflicts, report.refused) == (1, 1), report


def run(wb: Workbench, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--data-dir", str(wb.store.data_dir)], env={"COLUMNS": "80"})  # piped: a row a line even so
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def rows(table: str) -> list[list[str]]:
    """A listing's lines after its heading, split on runs of spaces."""
    return [line.split() for line in table.splitlines()[1:] if line.strip()]


def test_each_listed_row_names_its_remote(both: Both):
    """Without --remote both remotes' rows were listed with nothing to say whose each was: a
    conflict's id or a refusal's reason alone does not say which server it is with."""
    for name in ("origin", "backup"):
        a_conflict_and_a_refusal(both, name)

    conflicts = json.loads(run(both.wb, "sync", "conflicts", "--json").stdout)["items"]
    assert sorted(c["remote"] for c in conflicts) == ["backup", "origin"]
    for c in conflicts:
        assert c["theirs"] == "resolved" and c["title"].startswith(f"{c['remote']} feedback"), c
    refused = json.loads(run(both.wb, "sync", "refused", "--json").stdout)["items"]
    assert sorted(r["remote"] for r in refused) == ["backup", "origin"]

    table = run(both.wb, "sync", "conflicts").stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "REMOTE", "ABOUT"], table
    by_id = {c["id"]: c["remote"] for c in conflicts}
    assert {int(row[0]): row[1] for row in rows(table)} == by_id, table
    table = run(both.wb, "sync", "refused").stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "REMOTE", "CHANGE"], table
    assert {int(row[0]): row[1] for row in rows(table)} == {r["id"]: r["remote"] for r in refused}, table

    # One remote named: its rows alone, and no column that would say the same on every row.
    table = run(both.wb, "sync", "conflicts", "--remote", "backup").stdout
    assert "REMOTE" not in table and len(rows(table)) == 1 and "backup feedback" in table, table
    [only] = json.loads(run(both.wb, "sync", "refused", "--remote", "backup", "--json").stdout)["items"]
    assert only["remote"] == "backup"


def test_discarding_all_names_each_changes_remote_before_asking(both: Both):
    """--all --discard lists what it would drop, and asks: of two remotes, it said which changes, not whose."""
    for name in ("origin", "backup"):
        a_conflict_and_a_refusal(both, name)
    whose = {r.seq: name for name in both.hubs for r in sync_svc.refusals(both.wb, name)}

    asked = on_a_terminal(both.wb, "n\n", "sync", "refused", "--all", "--discard")

    assert asked.returncode == 1 and "Discard these 2 refused changes" in asked.stderr, asked.stderr
    for seq, name in whose.items():
        assert f"  {seq}  {name}  change assignee of annotation" in asked.stderr, asked.stderr
    assert len(sync_svc.refusals(both.wb)) == 2
