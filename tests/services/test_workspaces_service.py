"""The workspace use cases every front end shares, against a real `workbench serve`: a first sync over local
work refuses to start without a choice, and the switcher's choice outlives the process."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest

from storage import workspaces as workspaces_repo
from tests.conftest import ServerProcess
from tests.stores import local_workbench
from tests.sync.keyring_backend import MemoryKeyring
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.services import annotations as ann_svc
from workbench.services import first_sync, remotes, workspaces
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo
from workbench.services.local import local_user


@pytest.fixture
def served(tmp_path: Path):
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    with wb.store.write() as db:
        workspaces_repo.rename(db, creds["workspace_id"], "Acme Production")
    ann_svc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None,
                               WidgetAnnotationCreate(page_url="https://shop.acme.example/p", body="Server feedback"))
    wb.store.close()
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    proc = ServerProcess(data)
    yield proc, creds
    proc.stop()
    keyring.set_keyring(previous)


def test_a_first_sync_over_local_work_needs_a_choice_and_changes_nothing_without_one(served, tmp_path):
    proc, creds = served
    wb = local_workbench(tmp_path / "local")
    load_demo(wb)
    local = local_user(wb).workspace_id
    remotes.add(wb, "origin", proc.url, {"token": creds["member_token"]})
    with pytest.raises(first_sync.ChoiceNeeded) as refused:
        sync_svc.run_sync(wb, "origin")
    assert "Nothing here is deleted or hidden" in refused.value.message
    assert [w.label for w in workspaces.list_workspaces(wb)] == ["Acme Commerce"]  # no replica was made
    with pytest.raises(Exception, match="merge or separate"):
        sync_svc.run_sync(wb, "origin", first_sync="both")

    report = sync_svc.run_sync(wb, "origin", first_sync="separate")
    assert report.ok, report.stopped
    views = workspaces.list_workspaces(wb)
    assert [(w.label, w.kind, w.annotations) for w in views] == [("Acme Commerce", "local", 320), ("origin · Acme Production", "replica", 1)]
    assert workspaces.opened(wb).workspace_id == local  # still what the TUI opens
    assert first_sync.plan(wb, "origin") is None  # asked once

    replica = views[1].id
    workspaces.choose(wb, replica)
    wb.store.close()
    again = local_workbench(tmp_path / "local")
    assert workspaces.opened(again).workspace_id == replica  # the choice outlives the process
    assert local_user(again).workspace_id == local  # the CLI's default did not move
    again.store.close()


def test_a_replica_made_before_names_were_asked_for_gets_the_servers_name(served, tmp_path):
    proc, creds = served
    wb = local_workbench(tmp_path / "fresh")
    remotes.add(wb, "origin", proc.url, {"token": creds["member_token"]})
    assert sync_svc.run_sync(wb, "origin").ok
    replica = sync_svc.status(wb).workspace_id
    assert replica is not None
    with wb.store.write() as db:  # as older versions named it
        workspaces_repo.rename(db, replica, f"origin ({proc.url})")
    assert sync_svc.run_sync(wb, "origin").ok
    assert workspaces.get(wb, replica).label == "origin · Acme Production"
    wb.store.close()


def test_a_first_sync_beside_an_empty_local_workspace_says_where_the_replica_is(served, tmp_path):
    from workbench.services.bootstrap import ensure_workspace

    proc, creds = served
    wb = local_workbench(tmp_path / "bootstrapped")
    own, _, _ = ensure_workspace(wb)  # a workspace with a site and nothing to triage
    remotes.add(wb, "origin", proc.url, {"token": creds["member_token"]})
    assert first_sync.plan(wb, "origin") is None  # nothing local to decide about
    report = sync_svc.run_sync(wb, "origin")
    assert report.ok, report.stopped
    assert "the server's workspace is 'origin · Acme Production', beside this store's own (W in the TUI switches)" in report.notes
    assert local_user(wb).workspace_id == own
    wb.store.close()
