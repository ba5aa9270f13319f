"""Bulk actions over inbox rows: a preview of what each row would get, then one use case per row.

Each row is applied in its own transaction, and the report says per row what succeeded and what
a rule refused, with the rule's message. Kept apart from ``services.inbox`` because the inbox's
first paint needs none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.failures import StoreWriteFailed
from workbench.domain.blank import is_blank
from workbench.domain.errors import DomainError, validation_text
from workbench.domain.roles import Principal
from workbench.domain.statuses import CLOSED_STATUSES, Status, status_label
from workbench.services.context import Workbench
from workbench.services.inbox import InboxRow

if TYPE_CHECKING:
    from workbench.services.undo import Recorder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BulkAction:
    """One action applied to many rows: ``set_status`` (with an optional summary) or ``assign``."""

    kind: str  # "set_status" | "assign"
    status: str | None = None
    summary: str | None = None
    assignee_id: str | None = None  # None with kind="assign" unassigns

    def describe(self, members: dict[str, str] | None = None) -> str:
        if self.kind == "set_status":
            return f"set status to {status_label(self.status or '')}" + (f' ("{self.summary}")' if self.summary else "")
        if self.assignee_id is None:
            return "unassign"
        return f"assign to {(members or {}).get(self.assignee_id, self.assignee_id)}"


@dataclass(slots=True)
class BulkItem:
    source: str
    id: str
    label: str
    ok: bool
    message: str  # the planned change, or the refusal's reason
    # Already at the action's value: nothing to change, which is not a rule's refusal (not ok, not refused).
    unchanged: bool = False


def _label(row: InboxRow) -> str:
    if row.source == "test":
        return f"{row.extra.get('study', 'study')}: run by {row.text}"
    return row.first_line[:80]


def _already(action: BulkAction, row: InboxRow) -> str | None:
    """Why ``row`` is already as ``action`` would leave it (None: it is not, or a rule decides)."""
    if action.kind == "assign" and row.source == "annotation" and row.assignee_id == action.assignee_id:
        return "Already assigned to them" if action.assignee_id else "Already unassigned"
    if action.kind != "set_status" or row.source == "test":
        return None
    if row.source == "comment":
        return "Comment is already resolved" if action.status == "resolved" and row.status == "resolved" else None
    if row.status == action.status and not (action.status == Status.DUPLICATE.value and is_blank(action.summary or "")):
        return f"Already {status_label(action.status or '')}"
    return None


def _item(action: BulkAction, row: InboxRow, patch_problem: str | None) -> BulkItem | None:
    """The row's item when it will not change (already so, or refused); None when it may go ahead."""
    already = _already(action, row)
    if already is not None:
        return BulkItem(row.source, row.id, _label(row), False, already, unchanged=True)
    refusal = _check(action, row, patch_problem)
    return None if refusal is None else BulkItem(row.source, row.id, _label(row), False, refusal)


def _check(action: BulkAction, row: InboxRow, patch_problem: str | None) -> str | None:
    """The refusal a rule would give before trying (None: it may go ahead); a row already so is
    ``_already``'s, asked first.

    ``patch_problem`` is why the action's annotation patch does not validate (``_validated``),
    found once for all rows.
    """
    if row.source == "test":
        return "Test sessions are handled on their own screen (3)"
    if action.kind == "assign":
        if row.source != "annotation":
            return "Only annotations have an assignee"
        return None
    if action.kind != "set_status":
        return f"Unknown bulk action {action.kind}"
    if row.source == "comment":
        if action.status != "resolved":
            return "Feedback comments can only be resolved"
        return None
    if action.status == Status.DUPLICATE.value and is_blank(action.summary or ""):
        return "Duplicate needs the annotation it duplicates (summary 'duplicate of <id>')"
    return patch_problem


def _patch(action: BulkAction) -> Any:
    """The annotation patch ``action`` applies (pydantic validates it: a summary's length, ...)."""
    from workbench.domain.annotations import AnnotationPatch

    if action.kind == "assign":
        return AnnotationPatch(assignee_id=action.assignee_id)
    fields: dict[str, Any] = {"status": action.status}
    if action.summary and action.status in {s.value for s in CLOSED_STATUSES}:
        fields["summary"] = action.summary
    return AnnotationPatch(**fields)


def _validated(action: BulkAction) -> tuple[Any, str | None]:
    """``(patch, None)``, or ``(None, why the patch's model refuses action)`` so the preview says so."""
    from pydantic import ValidationError

    try:
        return _patch(action), None
    except ValidationError as exc:
        return None, validation_text(exc)


def preview(action: BulkAction, rows: Iterable[InboxRow], members: dict[str, str] | None = None) -> list[BulkItem]:
    """What ``apply`` would do to each row, without writing anything."""
    out = []
    _, patch_problem = _validated(action)
    for row in rows:
        item = _item(action, row, patch_problem)
        if item is not None:
            out.append(item)
            continue
        if action.kind == "set_status":
            message = f"{status_label(row.status)} → {status_label(action.status or '')}"
        else:
            message = f"{members.get(row.assignee_id, '—') if members and row.assignee_id else row.assignee_id or '—'} → " + (
                (members or {}).get(action.assignee_id or "", action.assignee_id or "unassigned")
            )
        out.append(BulkItem(row.source, row.id, _label(row), True, message))
    return out


def apply(
    wb: Workbench,
    principal: Principal,
    action: BulkAction,
    rows: Iterable[InboxRow],
    progress: Callable[[int], None] | None = None,
    recorder: Recorder | None = None,
) -> list[BulkItem]:
    """Apply ``action`` to each row, one transaction per row; report each outcome.

    ``recorder`` (a ``services.undo.Recorder``) makes the batch one undoable action: each row's
    change goes through it, its undo step in the row's transaction."""
    from pydantic import ValidationError

    from workbench.services import annotations as annotations_service

    out: list[BulkItem] = []
    patch, patch_problem = _validated(action)
    for i, row in enumerate(rows):
        label = _label(row)
        item = _item(action, row, patch_problem)
        if item is not None:
            out.append(item)
        else:
            try:
                if row.source == "comment":
                    message = _resolve_comment(wb, principal, row, recorder)
                else:
                    if recorder is not None:
                        recorder.apply_patch(row.id, patch)
                    else:
                        annotations_service.patch(wb, principal, row.id, patch)
                    if action.kind == "assign":
                        message = "assigned" if action.assignee_id else "unassigned"
                    else:
                        message = f"{status_label(row.status)} → {status_label(action.status or '')}"
                out.append(BulkItem(row.source, row.id, label, True, message))
            except DomainError as exc:
                out.append(BulkItem(row.source, row.id, label, False, exc.message))
            except ValidationError as exc:
                out.append(BulkItem(row.source, row.id, label, False, validation_text(exc)))
            except StoreWriteFailed as exc:  # a full disk: its own words (where, what to do), no traceback
                out.append(BulkItem(row.source, row.id, label, False, str(exc)))
            except Exception as exc:  # one row's failure must not lose the others' report
                log.exception("bulk %s on %s %s failed", action.kind, row.source, row.id)
                out.append(BulkItem(row.source, row.id, label, False, f"Unexpected error: {type(exc).__name__}: {exc}"))
        if progress is not None:
            progress(i + 1)
    return out


def _resolve_comment(wb: Workbench, principal: Principal, row: InboxRow, recorder: Recorder | None = None) -> str:
    from workbench.services import feedback_sessions as feedback_sessions_svc
    from workbench.services import stores

    if recorder is not None:
        recorder.set_comment_resolved(row.place_id or "", row.parent_id or "", row.id, True)
        return "open → resolved"
    store = stores.get_store(wb, principal, row.place_id or "")
    feedback_sessions_svc.set_comment_resolved(wb, store, row.parent_id or "", row.id, True, actor=principal.actor_id)
    return "open → resolved"
