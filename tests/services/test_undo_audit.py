"""Undo and redo in the audit log: each change they make is an audit row naming itself and its
undo action, written in the same transaction, so an annotation's history (the TUI's, from
``annotations.history``) lists it with who and when, whichever front end (``u`` or
``workbench undo``) ran it."""

from __future__ import annotations

from workbench.domain.annotations import AnnotationPatch, ReplyCreate
from workbench.services import annotations as annotations_service
from workbench.services import inbox, undo


def test_each_undo_and_redo_is_a_change_in_the_history(demo_wb, principal):
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0].id
    member = next(uid for uid, _ in inbox.facets(demo_wb, principal).members if uid != principal.user_id)
    undo.apply_patch(demo_wb, principal, ann, AnnotationPatch(status="triaged"))
    undo.apply_patch(demo_wb, principal, ann, AnnotationPatch(assignee_id=member))
    undo.reply(demo_wb, principal, ann, ReplyCreate(body="On it"))
    # The reply taken back, then the assignment, then the assignment made again.
    outcomes = [undo.undo(demo_wb, principal), undo.undo(demo_wb, principal), undo.redo(demo_wb, principal)]
    reply_action, assign_action, _ = [o.action_id for o in outcomes if o is not None]

    made = [e for e in annotations_service.history(demo_wb, principal, ann) if e["id"] is not None][-6:]
    assert [(e["action"], (e["detail"] or {}).get("via"), e["actor_id"]) for e in made] == [
        ("annotation.update", None, principal.actor_id),
        ("annotation.update", None, principal.actor_id),
        ("annotation.reply", None, principal.actor_id),
        ("annotation.reply_undone", "undo", principal.actor_id),
        ("annotation.update", "undo", principal.actor_id),
        ("annotation.update", "redo", principal.actor_id),
    ]
    assert made[3]["detail"]["undo_action"] == reply_action
    assert made[4]["detail"] == {"changes": {"assignee_id": [member, None]}, "via": "undo", "undo_action": assign_action}
    assert made[5]["detail"] == {"changes": {"assignee_id": [None, member]}, "via": "redo", "undo_action": assign_action}
    assert all(e["at"] for e in made)

    undo.redo(demo_wb, principal)  # the reply, posted again
    last = annotations_service.history(demo_wb, principal, ann)[-1]
    assert (last["action"], last["detail"]["via"], last["detail"]["undo_action"]) == ("annotation.reply", "redo", reply_action)
