"""A reply being written survives the process: kept in the store as it is typed, back on the next ``c``, gone once sent."""

from __future__ import annotations

from textual.widgets import Button, TextArea

from tests.tui.conftest import SIZE, make_app, paste, press, screen_text, told_that, wait_for
from tests.tui.test_annotation import open_annotations, open_detail
from workbench.services import annotations as annotations_service
from workbench.services import drafts
from workbench.services.context import Workbench
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.reply import ReplyDialog

LONG_REPLY = "Reproduced on iOS 17: the coupon field loses focus after the first digit.\n\nSteps:\n- open /checkout\n- type 1"


def draft_on_disk(wb: Workbench, principal, ann_id: str) -> str | None:
    """The draft as another process would read it (its own connection): what a kill -9 leaves."""
    other = Workbench.open(str(wb.store.data_dir), mailer=None)
    try:
        draft = drafts.load(other, principal, ann_id)
        return None if draft is None else draft.text
    finally:
        other.store.close()


async def test_an_unsent_reply_is_kept_as_typed_and_comes_back_after_the_process_is_gone(demo_wb, principal):
    ann = open_annotations(demo_wb, principal, 1)[0]
    before = len(annotations_service.detail(demo_wb, principal, ann.id)["replies"])
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        assert isinstance(app.screen, ReplyDialog)
        await paste(pilot, LONG_REPLY)
        # Saved while the dialog is still open, with nothing sent: the process may die now.
        await wait_for(pilot, lambda: draft_on_disk(demo_wb, principal, ann.id) == LONG_REPLY)
        assert isinstance(app.screen, ReplyDialog)
        assert len(annotations_service.detail(demo_wb, principal, ann.id)["replies"]) == before

    # A new process over the same store: the reply dialog opens with the draft, and says so.
    again = Workbench.open(str(demo_wb.store.data_dir), mailer=None)
    app = make_app(again)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        assert app.screen.query_one(TextArea).text == LONG_REPLY
        assert "Your draft from" in screen_text(app)
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, AnnotationScreen)
    replies = annotations_service.detail(again, principal, ann.id)["replies"]
    assert len(replies) == before + 1 and replies[-1]["body"] == LONG_REPLY.strip()
    assert draft_on_disk(again, principal, ann.id) is None  # sent: no draft left to send twice
    again.store.close()


async def test_esc_keeps_the_draft_clearing_the_text_drops_it_and_drafts_are_per_annotation(demo_wb, principal):
    first, second = open_annotations(demo_wb, principal, 2)
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, first.id)
        await press(pilot, "c")
        await paste(pilot, "half a thought")
        await press(pilot, "escape")  # closed before the pause that would have kept it: kept on the way out
        assert isinstance(app.screen, AnnotationScreen)
        await wait_for(pilot, lambda: draft_on_disk(demo_wb, principal, first.id) == "half a thought")
        await press(pilot, "escape")
        await open_detail(app, pilot, second.id)
        await press(pilot, "c")
        assert app.screen.query_one(TextArea).text == ""  # another annotation's reply starts empty
        await press(pilot, "escape", "escape")
        await open_detail(app, pilot, first.id)
        await press(pilot, "c")
        area = app.screen.query_one(TextArea)
        assert area.text == "half a thought"
        area.clear()
        await wait_for(pilot, lambda: draft_on_disk(demo_wb, principal, first.id) is None)


async def test_quitting_over_a_kept_draft_does_not_ask(demo_wb, principal):
    """The quit question says what is lost; once the draft is in the store, nothing is."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        await paste(pilot, "kept before the quit")
        await wait_for(pilot, lambda: draft_on_disk(demo_wb, principal, ann.id) == "kept before the quit")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)


async def test_the_dialog_button_says_close_and_keeps_the_draft_as_esc_does(demo_wb, principal):
    """The button read "Cancel", as if what was typed were dropped, while closing keeps it."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        await paste(pilot, "kept by the button")
        button = app.screen.query_one("#cancel", Button)
        assert str(button.label) == "Close"
        assert "close, the draft is kept" in screen_text(app)
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: isinstance(app.screen, AnnotationScreen))
        await wait_for(pilot, lambda: draft_on_disk(demo_wb, principal, ann.id) == "kept by the button")


async def test_undoing_a_sent_reply_brings_it_back_to_the_reply_dialog_and_redo_sends_it_again(demo_wb, principal):
    """u took a sent reply off the thread, and its words with it: c opened an empty dialog."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    before = annotations_service.detail(demo_wb, principal, ann.id)["replies"]
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        await paste(pilot, LONG_REPLY)
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, AnnotationScreen)
        await press(pilot, "u")
        await told_that(app, pilot, f"Undid: Reply on …{ann.id[-8:]}\nIts text is back as the reply's draft.")
        assert annotations_service.detail(demo_wb, principal, ann.id)["replies"] == before

        await press(pilot, "c")
        assert isinstance(app.screen, ReplyDialog)
        assert app.screen.query_one(TextArea).text == LONG_REPLY.strip()  # the reply as it was sent
        assert "Your draft from" in screen_text(app)
        await press(pilot, "escape")
        assert isinstance(app.screen, AnnotationScreen)
        await press(pilot, "U")
        await told_that(app, pilot, "Redid: Reply")
        assert annotations_service.detail(demo_wb, principal, ann.id)["replies"][-1]["body"] == LONG_REPLY.strip()
        assert draft_on_disk(demo_wb, principal, ann.id) is None  # sent again: nothing left to send twice
        await press(pilot, "c")
        assert app.screen.query_one(TextArea).text == ""
