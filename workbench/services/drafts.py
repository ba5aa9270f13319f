"""Reply drafts: the text of a reply being written, kept in the store until it is sent.

An offline reviewer may write a long reply and lose the machine (a kill, a crash, a flat
battery) before sending it; the front end saves the text here as it is typed, and the reply
dialog opens with it again. One draft per user, workspace and annotation, in the store's
``meta`` table beside the user's preferences (a row per draft, no schema of its own to migrate;
never synced: a draft is nobody else's business). Sending the reply drops the draft in the
same transaction, so a crash can never leave both the reply sent and its draft waiting to be
sent again. Undoing a sent reply brings its text back as the draft (``restore``), in the undo's
transaction, unless a draft is already there: that one was typed after the reply, so it is the
newer and is kept. Redoing the reply sends it again, and drops the draft it had brought back
(``drop_resent``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage import accounts as accounts_repo
from workbench.domain.blank import is_blank

if TYPE_CHECKING:
    from sqlite3 import Connection

    from workbench.domain.annotations import ReplyCreate
    from workbench.domain.records import Reply
    from workbench.domain.roles import Principal
    from workbench.services.context import Workbench

# A reply's body may hold 20,000 characters; a draft a little more, so text pasted past the limit
# is kept for the user to cut down rather than lost.
MAX_DRAFT = 40_000


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    saved_at: int  # epoch ms


def _key(principal: Principal, annotation_id: str) -> str:
    return f"draft:{principal.user_id}:{principal.workspace_id}:reply:{annotation_id}"


def load(wb: Workbench, principal: Principal, annotation_id: str) -> Draft | None:
    """The reply draft of this annotation, or None."""
    raw = accounts_repo.meta_get(wb.store.db, _key(principal, annotation_id))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        return Draft(str(value["text"]), int(value["at"]))
    except (ValueError, KeyError, TypeError):
        return None  # not a draft this version wrote: as if none


def save(wb: Workbench, principal: Principal, annotation_id: str, text: str) -> None:
    """Keep ``text`` as the draft (blank text drops it: there is nothing to lose)."""
    with wb.store.write() as db:
        if is_blank(text):
            _drop(db, principal, annotation_id)
        else:
            accounts_repo.meta_set(db, _key(principal, annotation_id), json.dumps({"text": text[:MAX_DRAFT], "at": wb.clock()}))


def send_reply(wb: Workbench, principal: Principal, annotation_id: str, req: ReplyCreate) -> Reply:
    """Post the reply (recorded for undo) and drop its draft, both or neither."""
    from workbench.services import undo

    with wb.store.write() as db:
        reply = undo.reply(wb, principal, annotation_id, req)
        _drop(db, principal, annotation_id)
    return reply


def restore(wb: Workbench, db: Connection, principal: Principal, annotation_id: str, text: str) -> bool:
    """An undone reply's ``text`` as the annotation's draft again, in the caller's transaction;
    False when a draft is there already (kept: it is newer than the reply) or the text is blank."""
    key = _key(principal, annotation_id)
    if is_blank(text) or accounts_repo.meta_get(db, key) is not None:
        return False
    accounts_repo.meta_set(db, key, json.dumps({"text": text[:MAX_DRAFT], "at": wb.clock()}))
    return True


def drop_resent(db: Connection, principal: Principal, annotation_id: str, text: str) -> None:
    """A redone reply was sent again with ``text``: drop the draft if it still holds that text
    (what its undo brought back), as sending drops a draft. One edited since is words the redo
    did not send, and is kept."""
    raw = accounts_repo.meta_get(db, _key(principal, annotation_id))
    if raw is None:
        return
    try:
        kept = str(json.loads(raw)["text"])
    except (ValueError, KeyError, TypeError):
        return  # not a draft this version wrote: left alone
    if kept == text[:MAX_DRAFT]:
        _drop(db, principal, annotation_id)


def _drop(db: Connection, principal: Principal, annotation_id: str) -> None:
    db.execute("DELETE FROM meta WHERE key = ?", [_key(principal, annotation_id)])
