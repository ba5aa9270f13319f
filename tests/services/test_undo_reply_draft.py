"""Undoing a reply brings its text back as the annotation's reply draft; redoing it sends it again and drops that draft."""

from __future__ import annotations

from workbench.domain.annotations import ReplyCreate
from workbench.services import annotations as annotations_service
from workbench.services import drafts, inbox, undo


def an_annotation(wb, principal) -> str:
    return inbox.window(wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0].id


def draft_text(wb, principal, ann: str) -> str | None:
    draft = drafts.load(wb, principal, ann)
    return None if draft is None else draft.text


def bodies(wb, principal, ann: str) -> list[str]:
    return [r["body"] for r in annotations_service.detail(wb, principal, ann)["replies"]]


def test_an_undone_reply_comes_back_as_the_draft_and_its_redo_drops_it(demo_wb, principal):
    """Undo took the reply off the thread and its words with it: a reviewer who undid a reply to
    fix a typo had to write it all again."""
    ann = an_annotation(demo_wb, principal)
    text = "Reproduced on iOS 17: the coupon field loses focus.\n\n- open /checkout\n- type 1"
    drafts.send_reply(demo_wb, principal, ann, ReplyCreate(body=text))
    assert draft_text(demo_wb, principal, ann) is None

    outcome = undo.undo(demo_wb, principal)

    assert outcome is not None and (outcome.kind, outcome.applied) == ("reply", 1)
    assert outcome.notes == ["its text is back as the reply's draft"]  # said, so the reviewer knows where it went
    assert text not in bodies(demo_wb, principal, ann)
    assert draft_text(demo_wb, principal, ann) == text
    # Redo sends it again, and the draft goes, as a sent reply's does.
    undo.redo(demo_wb, principal)
    assert bodies(demo_wb, principal, ann)[-1] == text
    assert draft_text(demo_wb, principal, ann) is None


def test_a_draft_written_since_the_reply_is_kept_over_the_undone_reply(demo_wb, principal):
    """A draft there when the reply is undone was typed after the reply was sent: the newer words stay."""
    ann = an_annotation(demo_wb, principal)
    undo.reply(demo_wb, principal, ann, ReplyCreate(body="First thought"))
    drafts.save(demo_wb, principal, ann, "A second, better thought")

    outcome = undo.undo(demo_wb, principal)
    assert draft_text(demo_wb, principal, ann) == "A second, better thought"
    assert outcome is not None and outcome.notes == ["a newer reply draft is kept; redo sends the reply again"]
    undo.redo(demo_wb, principal)  # sends the first reply again; the draft is other words, not sent
    assert bodies(demo_wb, principal, ann)[-1] == "First thought"
    assert draft_text(demo_wb, principal, ann) == "A second, better thought"


def test_a_brought_back_draft_edited_before_the_redo_is_kept(demo_wb, principal):
    ann = an_annotation(demo_wb, principal)
    undo.reply(demo_wb, principal, ann, ReplyCreate(body="Fixed in v2"))
    undo.undo(demo_wb, principal)
    drafts.save(demo_wb, principal, ann, "Fixed in v2.1")

    undo.redo(demo_wb, principal)

    assert bodies(demo_wb, principal, ann)[-1] == "Fixed in v2"
    assert draft_text(demo_wb, principal, ann) == "Fixed in v2.1"
