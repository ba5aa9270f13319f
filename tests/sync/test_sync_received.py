"""A sync's "received" counts what others changed, never the user's own pushed changes coming back."""

from __future__ import annotations

import pytest

from storage import annotations as ann_repo
from storage import sync_state
from storage import test_sessions as ts_repo
from tests.found import found
from tests.sync.conftest import Hub, Replica
from tests.sync.test_sync_inprocess import seed
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, ResolutionCreate
from workbench.domain.test_sessions import CompleteRequest, TestSessionCreate
from workbench.services import annotations as ann_svc
from workbench.services import resolutions as res_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.local import local_user


def without(r: Replica, capability: str) -> None:
    """Make ``r`` treat its remote as a server without ``capability`` (the documented API alone has none)."""
    remote = found(sync_state.get_remote(r.wb.store.db, "origin"))
    with r.wb.store.write() as db:
        sync_state.update_remote(db, "origin", capabilities={**remote.capabilities, capability: False})


def test_own_pushed_changes_are_not_received_but_the_servers_values_are_applied(hub: Hub):
    ids = seed(hub, 4)  # ids[2] has no submitter email: its resolution is announced by a server reply on the thread
    session = ts_svc.create(hub.wb, local_user(hub.wb), TestSessionCreate(jobId=hub.creds["job_id"], testerId="t1"))
    r = hub.replica(sessions=True)
    assert r.sync().ok
    me = r.me
    ann_svc.patch(r.wb, me, ids[0], AnnotationPatch(status="triaged"))
    ann_svc.reply(r.wb, me, ids[1], ReplyCreate(body="seen it, on it"))
    res_svc.create(r.wb, me, ids[2], ResolutionCreate(explanation="Raised the contrast"))
    ts_svc.complete(r.wb, me, session.id, CompleteRequest())

    rep = r.sync()

    assert rep.ok and rep.sent == 4 and rep.received == 0, rep
    # What the server made of those changes (versions, times, the notification) is still in the replica.
    ws = hub.creds["workspace_id"]
    for ann_id in ids[:3]:
        mine, theirs = found(ann_repo.get_annotation(r.wb.store.db, ws, ann_id)), found(ann_repo.get_annotation(hub.wb.store.db, ws, ann_id))
        assert (mine.version, mine.updated_at, mine.status) == (theirs.version, theirs.updated_at, theirs.status)
    assert r.wb.store.db.execute(
        "SELECT count(*) FROM replies WHERE annotation_id = ? AND author_kind = 'system'", [ids[2]]).fetchone()[0] == 1
    assert r.wb.store.db.execute("SELECT notification_status FROM resolutions WHERE annotation_id = ?", [ids[2]]).fetchone()[0] == "replied"
    assert found(ts_repo.get_session_any(r.wb.store.db, session.id)).completed_at == \
        found(ts_repo.get_session_any(hub.wb.store.db, session.id)).completed_at


def test_others_changes_to_what_the_user_pushed_are_still_received(hub: Hub):
    ids = seed(hub, 2)
    r = hub.replica()
    assert r.sync().ok
    # Offline, the user replies on ids[0]; meanwhile a colleague acknowledges it and replies too.
    ann_svc.reply(r.wb, r.me, ids[0], ReplyCreate(body="mine"))
    owner = local_user(hub.wb)
    ann_svc.patch(hub.wb, owner, ids[0], AnnotationPatch(status="ack"))
    ann_svc.reply(hub.wb, owner, ids[0], ReplyCreate(body="theirs"))

    rep = r.sync()

    assert rep.ok and rep.sent == 1
    assert rep.received == 2, rep  # the status change and the colleague's reply; not the user's own reply


def test_against_a_server_without_the_thread_feed_others_replies_are_received_too(hub: Hub):
    """Without the bundled server's thread-changes, a pull reads each moved annotation's detail;
    the replies found there are others' news as much as the feed's are."""
    ids = seed(hub, 2)
    fed, detailed = hub.replica(), hub.replica()
    assert fed.sync().ok and detailed.sync().ok
    without(detailed, "thread_feed")
    ann_svc.reply(hub.wb, local_user(hub.wb), ids[0], ReplyCreate(body="theirs"))

    by_feed, by_detail = fed.sync(), detailed.sync()

    assert by_detail.ok and by_detail.received == by_feed.received == 2, (by_feed, by_detail)  # the moved annotation and the reply
    assert detailed.wb.store.db.execute("SELECT count(*) FROM replies WHERE body = 'theirs'").fetchone()[0] == 1


def test_others_replies_met_while_a_push_reads_the_annotation_first_are_received(hub: Hub):
    """Against a server without ETags a PATCH reads the annotation's detail before it is sent; a
    colleague's reply found there is applied then, and the pull after finds nothing new: it is
    counted when it is applied."""
    ids = seed(hub, 2)
    r = hub.replica()
    assert r.sync().ok
    without(r, "etag")
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="triaged"))
    ann_svc.reply(hub.wb, local_user(hub.wb), ids[0], ReplyCreate(body="theirs"))

    rep = r.sync()

    assert rep.ok and rep.sent == 1 and rep.received == 1, rep  # the colleague's reply; not the user's own status change
    assert r.wb.store.db.execute("SELECT count(*) FROM replies WHERE body = 'theirs'").fetchone()[0] == 1


@pytest.mark.parametrize("etags", [True, False])
def test_a_colleagues_change_that_conflicts_is_received(hub: Hub, etags: bool):
    """A colleague's status that conflicts with the user's came down (the conflict's "theirs"): it is
    received, once, whether the push's re-read met it (a 412, or the read before a PATCH to a server
    without ETags) or the pull did; as a test session's note's is (test_sync_sessions)."""
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    if not etags:
        without(r, "etag")
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="triaged"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(status="ack"))

    rep = r.sync()

    assert rep.ok and (rep.sent, rep.received, rep.conflicts) == (0, 1, 1), rep
    assert r.sync().received == 0  # counted once: the next run brings nothing new


@pytest.mark.parametrize("etags", [True, False])
def test_a_colleagues_conflicting_change_is_received_when_another_field_goes_up(hub: Hub, etags: bool):
    """Offline the user set a status and a summary; meanwhile a colleague set the status. The push's
    re-read meets the colleague's status (the conflict's "theirs") and the summary still goes up, so
    the pull after sees the annotation as the echo of the user's own change: the colleague's change
    was counted nowhere, and the summary read "received 0 · conflicts 1" (seen from the TUI, with
    the status and the assignee)."""
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    if not etags:
        without(r, "etag")
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="triaged", summary="looked at it on the plane"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(status="ack"))

    rep = r.sync()

    assert rep.ok and (rep.sent, rep.received, rep.conflicts) == (1, 1, 1), rep
    assert found(ann_repo.get_annotation(hub.wb.store.db, hub.creds["workspace_id"], ids[0])).summary == "looked at it on the plane"
    assert r.sync().received == 0  # counted once


def test_a_colleagues_change_merged_in_by_the_push_is_received(hub: Hub):
    """A colleague's summary merged in by the push's read before its PATCH (no ETags), while the user's
    status goes up: the colleague's change came down and is received."""
    ids = seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    without(r, "etag")
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="triaged"))
    ann_svc.patch(hub.wb, local_user(hub.wb), ids[0], AnnotationPatch(summary="a colleague's words"))

    rep = r.sync()

    assert rep.ok and (rep.sent, rep.received, rep.conflicts) == (1, 1, 0), rep
    assert found(ann_repo.get_annotation(r.wb.store.db, hub.creds["workspace_id"], ids[0])).summary == "a colleague's words"
    assert r.sync().received == 0
