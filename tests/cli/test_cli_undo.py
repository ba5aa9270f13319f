"""`workbench undo` / `workbench redo`: the CLI's triage and replies are undone, with --json and --list."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.mcp.test_mcp_http import seed
from workbench.cli.main import app

runner = CliRunner()


def run(data: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def refused(data: Path, *args: str) -> str:
    """What an undo or redo that could do nothing said: exit 1, nothing on stdout, its error on stderr."""
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert (result.exit_code, result.stdout) == (1, ""), (result.stdout, result.stderr, result.exception)
    return result.stderr


def status(data: Path, ann: str) -> str:
    return json.loads(run(data, "annotation", "show", ann, "--json"))["status"]


def test_undo_and_redo_the_cli_s_own_changes(tmp_path):
    data = tmp_path / "cli"
    ann = seed(data)["b"]
    assert refused(data, "undo") == "error: Nothing to undo\n"
    was = status(data, ann)
    run(data, "annotation", "set-status", ann, "triaged")
    run(data, "annotation", "reply", ann, "Looking")
    listed = run(data, "undo", "--list")
    assert f"Reply on …{ann[-8:]}" in listed and f"Status → triaged on …{ann[-8:]}" in listed
    assert run(data, "undo") == f"Undid: Reply on …{ann[-8:]}\n  its text is back as the reply's draft\n"
    assert "Looking" not in [r["body"] for r in json.loads(run(data, "annotation", "show", ann, "--json"))["replies"]]
    out = json.loads(run(data, "undo", "--json"))["outcome"]
    assert (out["kind"], out["applied"], out["label"], out["notes"]) == ("status", 1, f"Status → triaged on …{ann[-8:]}", [])
    assert status(data, ann) == was
    assert run(data, "redo") == f"Redid: Status → triaged on …{ann[-8:]}\n"
    assert status(data, ann) == "triaged"
    assert [a["state"] for a in json.loads(run(data, "undo", "--list", "--json"))["items"]] == ["undone", "done"]
    # The reply comes back as the local user's own, under the local user's name.
    assert run(data, "redo") == f"Redid: Reply on …{ann[-8:]}\n"
    again = [r for r in json.loads(run(data, "annotation", "show", ann, "--json"))["replies"] if r["body"] == "Looking"]
    assert [r["author"]["type"] for r in again] == ["user"]


def test_the_cli_undoes_the_tui_s_session_actions_and_says_which_it_cannot(tmp_path):
    """The CLI records no session actions, but shares the TUI's history: a pause is undone, a completion said final."""
    from workbench.domain.test_sessions import TestSessionCreate
    from workbench.services import test_sessions as ts_svc
    from workbench.services import undo as undo_svc
    from workbench.services.context import Workbench
    from workbench.services.local import local_user

    data = tmp_path / "cli"
    job = seed(data)["job_id"]
    wb = Workbench.open(str(data), mailer=None)
    me = local_user(wb)
    paused, done = (ts_svc.create(wb, me, TestSessionCreate(jobId=job, testerId=t)).id for t in ("tess", "theo"))
    undo_svc.test_action(wb, me, paused, "pause")  # as the TUI's p and c do
    undo_svc.test_action(wb, me, done, "complete")
    wb.store.close()
    assert refused(data, "undo") == ("error: Can't undo Test session completed (theo): a completed test session cannot be resumed. "
                                     "Run it again for the action before it.\n")
    assert run(data, "undo") == "Undid: Test session paused (tess)\n"
    assert [a["state"] for a in json.loads(run(data, "undo", "--list", "--json"))["items"]] == ["final", "undone"]
    assert run(data, "redo") == "Redid: Test session paused (tess)\n"
    wb = Workbench.open(str(data), mailer=None)
    assert [ts_svc.get(wb, me, s).status for s in (paused, done)] == ["paused", "completed"]
    wb.store.close()


def test_undo_names_members_and_statuses_in_words(tmp_path):
    """Issue 13: the undo list and its report say "won't fix" and "Assigned to Olive Owner", not stored names or ids."""
    data = tmp_path / "cli"
    ann = seed(data)["b"]
    run(data, "annotation", "set-status", ann, "won_t_fix", "--summary", "by design")
    run(data, "annotation", "assign", ann, "me")
    listed = run(data, "undo", "--list")
    assert f"Assigned to Olive Owner on …{ann[-8:]}" in listed and f"Status → won't fix on …{ann[-8:]}" in listed
    assert run(data, "undo") == f"Undid: Assigned to Olive Owner on …{ann[-8:]}\n"
    assert run(data, "undo") == f"Undid: Status → won't fix on …{ann[-8:]}\n"


def _changed_since(data: Path, ann: str) -> None:
    """Someone else's change of ``ann``'s status to won't fix, not in the local user's undo history."""
    from workbench.domain.annotations import AnnotationPatch
    from workbench.services import annotations as annotations_service
    from workbench.services.context import Workbench
    from workbench.services.local import local_user

    wb = Workbench.open(str(data))
    try:
        annotations_service.apply_patch(wb, local_user(wb), ann, AnnotationPatch(status="won_t_fix"))
    finally:
        wb.store.close()


def test_an_undo_that_changes_nothing_is_a_refusal_that_says_why(tmp_path):
    """QA: when the status had changed since, `undo` printed "Undid: Status → triaged …" although nothing
    was undone. Then it said "Not undone: …" but exited 0, where nothing to undo and an action that
    cannot be undone exit 1: `workbench undo && …` went on after nothing was undone. Now it is the same
    refusal (exit 1, stderr, `--json` code not_undone), naming what was left and why; the action still
    comes off the stack, so the next undo goes on to the one before it."""
    data = tmp_path / "cli"
    ann = seed(data)["b"]
    run(data, "annotation", "set-status", ann, "ack" if status(data, ann) != "ack" else "new")
    run(data, "annotation", "set-status", ann, "triaged")
    _changed_since(data, ann)
    assert refused(data, "undo") == (f"error: Not undone: Status → triaged on …{ann[-8:]}: "
                                     f"status of …{ann[-8:]} changed since; left as it is. Run it again for the action before it.\n")
    assert status(data, ann) == "won_t_fix"
    assert [a["state"] for a in json.loads(run(data, "undo", "--list", "--json"))["items"][:2]] == ["undone", "done"]
    # Redo meets the same change: the status is not the one the undo would have put back.
    said = json.loads(refused(data, "redo", "--json"))["error"]
    assert said["code"] == "not_redone" and said["message"].startswith(f"Not redone: Status → triaged on …{ann[-8:]}: status of ")
    assert status(data, ann) == "won_t_fix"
    said = json.loads(refused(data, "undo", "--json"))["error"]
    assert said["code"] == "not_undone" and f"status of …{ann[-8:]} changed since; left as it is" in said["message"]
    # The action before it is reached by the next run, and is also left: won't fix is no ack.
    assert json.loads(refused(data, "undo", "--json"))["error"]["code"] == "not_undone"


def test_a_partial_undo_is_a_success_that_names_what_it_left(tmp_path):
    """Some of a batch undone, some changed since: the undo did something (exit 0, "Undid"), and says
    which rows it left as they are and why, on stdout as in `--json`'s `skipped`."""
    from workbench.domain.annotations import AnnotationPatch
    from workbench.services import undo as undo_svc
    from workbench.services.context import Workbench
    from workbench.services.local import local_user

    data = tmp_path / "cli"
    ids = seed(data)
    a, b = ids["a"], ids["b"]
    was = status(data, a)
    wb = Workbench.open(str(data))
    try:  # a batch of two, as the TUI's bulk triage records one
        batch = undo_svc.Recorder(wb, local_user(wb), "bulk", {"action": "status", "status": "in_progress"})
        for ann in (a, b):
            batch.apply_patch(ann, AnnotationPatch(status="in_progress"))
    finally:
        wb.store.close()
    _changed_since(data, b)
    assert run(data, "undo") == ("Undid: Bulk: status → in progress on 2 rows\n"
                                 f"  status of …{b[-8:]} changed since; left as it is\n")
    assert (status(data, a), status(data, b)) == (was, "won_t_fix")
    out = json.loads(run(data, "redo", "--json"))["outcome"]
    assert (out["applied"], out["skipped"]) == (1, [f"status of …{b[-8:]} changed since; left as it is"])


def test_an_undo_or_redo_that_cannot_act_exits_1_with_the_refusal_s_shape(tmp_path):
    """Review: "Nothing to undo" and "Can't undo …" exited 0, so `workbench undo && deploy` went on as if
    something had been undone; --json printed {"outcome": null} on stdout. Now each is a refusal: exit 1,
    the error: line or, with --json, the error object on stderr (the final action still comes off the
    stack, as README's "Undo" says, so the next undo goes on to the one before it)."""
    from workbench.domain.test_sessions import TestSessionCreate
    from workbench.services import test_sessions as ts_svc
    from workbench.services import undo as undo_svc
    from workbench.services.context import Workbench
    from workbench.services.local import local_user

    data = tmp_path / "cli"
    job = seed(data)["job_id"]
    for verb in ("undo", "redo"):
        said = json.loads(refused(data, verb, "--json"))
        assert said == {"error": {"code": f"nothing_to_{verb}", "message": f"Nothing to {verb}"}}
    wb = Workbench.open(str(data), mailer=None)
    me = local_user(wb)
    undo_svc.test_action(wb, me, ts_svc.create(wb, me, TestSessionCreate(jobId=job, testerId="theo")).id, "complete")
    wb.store.close()
    said = json.loads(refused(data, "undo", "--json"))["error"]
    assert said["code"] == "cannot_undo" and said["message"].startswith("Can't undo Test session completed (theo): ")
    assert [a["state"] for a in json.loads(run(data, "undo", "--list", "--json"))["items"]] == ["final"]
    assert json.loads(refused(data, "undo", "--json"))["error"]["code"] == "nothing_to_undo"  # it came off the stack


def test_undo_json_names_the_action_id_as_undo_list_does(tmp_path):
    """`undo --json` said "action_id" for what `undo --list --json` (and every listing) calls "id"."""
    data = tmp_path / "cli"
    ann = seed(data)["b"]
    run(data, "annotation", "set-status", ann, "triaged")
    listed = json.loads(run(data, "undo", "--list", "--json"))["items"]
    for verb in ("undo", "redo"):
        outcome = json.loads(run(data, verb, "--json"))["outcome"]
        assert "action_id" not in outcome and outcome["id"] == listed[0]["id"]
        # An action that cannot be undone is the cannot_undo error, never an outcome: "final" was always null.
        assert set(outcome) == {"id", "kind", "what", "redo", "steps", "applied", "skipped", "notes", "label"}
