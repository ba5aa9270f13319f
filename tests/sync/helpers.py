"""Comparing replicas with the server: the documented shapes of everything a workspace holds."""

from __future__ import annotations

from typing import Any

from storage import annotations as repo
from workbench.domain.records import Reply, Resolution
from workbench.services.context import Workbench


def snapshot(wb: Workbench, workspace_id: str) -> dict[str, dict[str, Any]]:
    db = wb.store.db
    anns = {}
    for (ann_id,) in db.execute("SELECT id FROM annotations WHERE workspace_id = ?", [workspace_id]).fetchall():
        a = repo.get_annotation(db, workspace_id, ann_id)
        assert a is not None
        anns[ann_id] = a.to_public()
    replies = {
        r[0]: Reply(*r).to_public()
        for r in db.execute(
            "SELECT id, annotation_id, workspace_id, author_kind, author_id, author_name, body, persona_id, created_at "
            "FROM replies WHERE workspace_id = ?", [workspace_id]
        ).fetchall()
    }
    resolutions = {
        r[0]: Resolution(*r).to_public()
        for r in db.execute(
            "SELECT id, annotation_id, workspace_id, before_key, after_key, diff_url, explanation, created_by, created_at, "
            "notification_status, notified_at FROM resolutions WHERE workspace_id = ?", [workspace_id]
        ).fetchall()
    }
    sites = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, name, url FROM sites WHERE workspace_id = ?", [workspace_id])}
    return {"annotations": anns, "replies": replies, "resolutions": resolutions, "sites": sites}


def integrity_ok(wb: Workbench) -> bool:
    return wb.store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def outbox_size(wb: Workbench) -> int:
    return wb.store.db.execute("SELECT count(*) FROM sync_outbox").fetchone()[0]
