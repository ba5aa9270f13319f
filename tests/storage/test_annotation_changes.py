"""The workspace's change counter (m018): every write to an annotation, reply or resolution moves it.

The bundled server's sites-list ETag is built on it (a 304 there spares a replica every
per-site request), so a write that left it still would hide that write from every replica.
"""

from __future__ import annotations

import itertools

from storage import annotations as ann_repo
from workbench.domain.clock import new_id
from workbench.services.demo import load_demo


def test_every_insert_update_and_delete_of_the_three_tables_moves_the_counter(wb, creds):
    load_demo(wb, annotations=20)
    db = wb.store.db
    ws = creds["workspace_id"]
    # One with no thread of its own, so deleting it at the end needs nothing else gone.
    ann_id = db.execute(
        "SELECT id FROM annotations a WHERE workspace_id = ? AND NOT EXISTS (SELECT 1 FROM replies WHERE annotation_id = a.id) "
        "AND NOT EXISTS (SELECT 1 FROM resolutions WHERE annotation_id = a.id) LIMIT 1", [ws],
    ).fetchone()[0]
    rid, sid = new_id(1), new_id(2)
    writes = [
        ("UPDATE annotations SET summary = 'x' WHERE id = ?", [ann_id]),
        ("INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_id, author_name, body, persona_id, created_at) "
         "VALUES (?, ?, ?, 'user', NULL, 'n', 'b', NULL, 1)", [rid, ann_id, ws]),
        ("UPDATE replies SET body = 'c' WHERE id = ?", [rid]),
        ("DELETE FROM replies WHERE id = ?", [rid]),
        ("INSERT INTO resolutions (id, annotation_id, workspace_id, explanation, created_by, created_at, notification_status) "
         "VALUES (?, ?, ?, 'e', 'u', 1, 'pending')", [sid, ann_id, ws]),
        ("UPDATE resolutions SET notification_status = 'emailed', notified_at = 2 WHERE id = ?", [sid]),
        ("DELETE FROM resolutions WHERE id = ?", [sid]),
        ("DELETE FROM annotations WHERE id = ?", [ann_id]),
    ]
    seen = [ann_repo.changes(db, ws)]
    for sql, params in writes:
        with wb.store.write() as w:
            w.execute(sql, params)
        seen.append(ann_repo.changes(db, ws))
    assert all(b > a for a, b in itertools.pairwise(seen)), list(zip([w[0][:30] for w in writes], seen[1:], strict=True))
    assert ann_repo.changes(db, "another-workspace") == 0
