"""Three-way merge, field by field (workbench.domain.merge)."""

from __future__ import annotations

from workbench.domain.merge import ANNOTATION_FIELDS, dirty, merge

BASE = {"status": "new", "summary": None, "assignee_id": None}


def test_one_side_changes_win():
    m = merge(BASE, {**BASE, "status": "ack"}, {**BASE, "summary": "filed"}, ANNOTATION_FIELDS)
    assert m.values == {"status": "ack", "summary": "filed", "assignee_id": None}
    assert m.taken == ["summary"] and not m.conflicts


def test_same_change_on_both_sides_is_no_conflict():
    m = merge(BASE, {**BASE, "status": "resolved"}, {**BASE, "status": "resolved"}, ANNOTATION_FIELDS)
    assert m.values["status"] == "resolved" and not m.conflicts


def test_different_changes_conflict_and_keep_mine():
    m = merge(BASE, {**BASE, "status": "won_t_fix"}, {**BASE, "status": "resolved"}, ANNOTATION_FIELDS)
    assert m.conflicts == {"status": ("won_t_fix", "resolved")}
    assert m.values["status"] == "won_t_fix"


def test_none_is_a_value_like_any_other():
    m = merge({**BASE, "assignee_id": "u1"}, {**BASE, "assignee_id": None}, {**BASE, "assignee_id": "u1"}, ANNOTATION_FIELDS)
    assert m.values["assignee_id"] is None and not m.conflicts


def test_dirty_lists_local_changes():
    assert dirty(BASE, {**BASE, "summary": "x"}, ANNOTATION_FIELDS) == {"summary": "x"}
    assert dirty(BASE, BASE, ANNOTATION_FIELDS) == {}
