"""The reply dialog, whose text is kept in the store as it is typed (``services.drafts``) until it is sent.

A reply can take minutes to write, offline, on a machine that may be killed before it is sent;
the form's own promise ("nothing typed is lost") held only while the process lived. Each pause
in typing (``DRAFT_DELAY``) queues the text as the annotation's draft on the write queue, off the
UI thread; closing the dialog with ``esc`` keeps it too, and the next ``c`` on the annotation
opens with it. Sending posts the reply and drops the draft in one transaction. At most the last
``DRAFT_DELAY`` of typing is lost to a kill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.timer import Timer
from textual.widgets import TextArea

from workbench.services import drafts
from workbench.tui.screens.forms import Field, FormDialog
from workbench.tui.writes import submit_write

if TYPE_CHECKING:
    from workbench.domain.roles import Principal
    from workbench.services.context import Workbench

# Long enough that a typist's words are one write, short enough that little is lost to a kill.
DRAFT_DELAY = 0.8


class ReplyDialog(FormDialog):
    """A reply to one annotation: ``Send`` posts it, ``esc`` closes and keeps the draft."""

    def __init__(self, wb: Workbench, principal: Principal, annotation_id: str, title: str) -> None:
        from workbench.domain.annotations import ReplyCreate
        from workbench.tui import format as fmt

        draft = drafts.load(wb, principal, annotation_id)
        if draft is not None:
            title += f"\n[#6fb3d2]Your draft from {fmt.esc(fmt.ago(wb.clock(), draft.saved_at))} is back; clear the text to drop it.[/]"
        super().__init__(
            title, [Field("text", "Your reply (markdown welcome)", "text", draft.text if draft else "")],
            submit=lambda values: drafts.send_reply(wb, principal, annotation_id, ReplyCreate(body=values["text"])),
            # Not "Cancel": leaving keeps the draft, and the button says so as the hint does.
            submit_label="Send", cancel_label="Close", hint="{form.save}: send · {form.cancel}: close, the draft is kept",
        )
        self.wb = wb
        self.principal = principal
        self.annotation_id = annotation_id
        self.kept: str | None = draft.text if draft else ""  # what the store holds or is about to (queued); None: unknown
        self._timer: Timer | None = None

    @on(TextArea.Changed)
    def _typed(self) -> None:
        if self.saving:
            return  # the send drops the draft: a save queued after it would bring it back
        self._stop_timer()
        self._timer = self.set_timer(DRAFT_DELAY, self._keep)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _keep(self) -> None:
        self._timer = None
        text = str(self.values()["text"])
        if self.saving or text == self.kept:
            return
        self.kept = text

        app = self.app  # the dialog may be closed (esc) when the outcome comes back

        def not_kept(reason: str) -> None:
            self.kept = None  # the next pause tries again
            app.notify(f"The draft could not be kept: {reason}", title="Reply draft", severity="warning", timeout=8, markup=False)

        submit_write(self, drafts.save, self.wb, self.principal, self.annotation_id, text, done=lambda _: None, refused=not_kept)

    def action_submit(self) -> None:
        self._stop_timer()
        super().action_submit()

    def action_cancel(self) -> None:
        self.keep_for_later()  # what was typed since the last pause
        super().action_cancel()

    def keep_for_later(self) -> None:
        """What was typed since the last pause, kept now (not while sending: ``_keep``). ``esc`` and a
        quit both keep the draft: asking "lose it?" within a pause of the last key was a question
        about nothing, for the next ``c`` opens with it."""
        self._stop_timer()
        self._keep()

    def unsent(self) -> bool:
        """Text not yet in the store (nor on its way: a refused draft save): a quit asks first."""
        return not self.saving and self.values().get("text") != self.kept
