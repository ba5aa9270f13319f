"""Actions the undo history records only to name them: a persona run and a resolution.

``u`` after one says it cannot take it back and why (the op registry's words), marks it final,
and the next ``u`` reaches the action before it.
"""

from __future__ import annotations

from workbench.domain.annotations import AnnotationPatch, ResolutionCreate, RunPersonasRequest
from workbench.services import annotations as annotations_service
from workbench.services import inbox, undo


def first_annotation(wb, principal) -> str:
    return inbox.window(wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0].id


def test_a_resolution_is_named_and_refused_then_the_action_before_it_is_undone(demo_wb, principal):
    ann = first_annotation(demo_wb, principal)
    undo.apply_patch(demo_wb, principal, ann, AnnotationPatch(status="ack"))
    undo.add_resolution(demo_wb, principal, ann, ResolutionCreate(explanation="Fixed the label"))

    refused = undo.undo(demo_wb, principal)
    assert refused is not None and refused.kind == "resolution" and refused.applied == 0
    assert refused.final is not None and "notified" in refused.final
    assert undo.describe(refused) == f"Resolution on …{ann[-8:]}"
    assert len(annotations_service.detail(demo_wb, principal, ann)["resolutions"]) == 1  # still there

    back = undo.undo(demo_wb, principal)
    assert back is not None and back.kind == "status" and back.final is None
    assert annotations_service.get(demo_wb, principal, ann).status == "new"
    assert [a["state"] for a in undo.history(demo_wb, principal)[:2]] == ["final", "undone"]  # newest first


def test_a_resolution_and_its_undo_record_commit_together(demo_wb, principal, monkeypatch):
    """A crash after the resolution's commit and before its record's left a resolution the
    history did not name: the next ``u`` silently went on to the action before it (here it
    reopened the annotation the resolution had just been attached to). The record failing
    stands in for the kill, which no test can land between two back-to-back commits."""
    import pytest

    from storage import undo as undo_repo

    ann = first_annotation(demo_wb, principal)
    undo.apply_patch(demo_wb, principal, ann, AnnotationPatch(status="resolved", summary="Label fixed"))

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(undo_repo, "start_action", killed)
    with pytest.raises(KeyboardInterrupt):
        undo.add_resolution(demo_wb, principal, ann, ResolutionCreate(explanation="Fixed the label"))
    monkeypatch.undo()
    # Neither: no resolution, so the history that names the status change as the last action is right.
    assert annotations_service.detail(demo_wb, principal, ann)["resolutions"] == []


def test_a_persona_run_is_named_and_refused(demo_wb, principal):
    ann = first_annotation(demo_wb, principal)
    replies = undo.run_personas(demo_wb, principal, ann, RunPersonasRequest())
    assert replies

    refused = undo.undo(demo_wb, principal)
    assert refused is not None and refused.kind == "run_personas" and refused.final is not None
    assert undo.describe(refused) == f"Persona reviews on …{ann[-8:]}"
    bodies = {r["id"] for r in annotations_service.detail(demo_wb, principal, ann)["replies"]}
    assert {r.id for r in replies} <= bodies  # the reviews stay on the thread
