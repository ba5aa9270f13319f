"""The annotation search's full-text indexes kept after the write (migration m023, ``storage.annotations``).

A write leaves ``annotations_fts`` and ``replies_fts`` alone and keeps each changed row once,
with the text the index holds for it; ``index_text_pending`` brings the index to what is
stored. FTS5's own ``integrity-check`` compares an index with its content table and raises on
any missing, extra or stale document, so it is the oracle here.
"""

from __future__ import annotations

import random
import time

import pytest

from storage import annotations as repo
from tests.storage.records import T0, annotation, reply
from tests.stores import stop_upkeep
from workbench.services import annotations as svc
from workbench.services.bootstrap import owner_principal
from workbench.services.context import Workbench


@pytest.fixture
def world(wb: Workbench, creds: dict) -> dict:
    ws, site = creds["workspace_id"], creds["site_id"]
    with wb.store.write() as db:
        repo.add_annotations(db, [annotation(ws, site, "a0", body="Checkout crashes"), annotation(ws, site, "a1", body="Slow payment")])
        repo.add_reply(db, reply(annotation(ws, site, "a0"), "r0", body="Seen with a voucher"))
        repo.index_text_pending(db)
    return {"ws": ws, "site": site, "principal": owner_principal(ws, creds["owner_user_id"])}


def _check(db) -> None:
    for table in repo.TEXT_INDEXES:
        db.execute(f"INSERT INTO {table}_fts ({table}_fts, rank) VALUES ('integrity-check', 1)")


def _segments(db) -> tuple:
    return tuple(db.execute(f"SELECT count(*), total(length(block)) FROM {t}_fts_data").fetchone() for t in repo.TEXT_INDEXES)


def _pending(db, table: str) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in db.execute(f"SELECT * FROM {table}_fts_pending")}


def test_a_write_leaves_the_index_alone_and_a_search_indexes_first(wb, world):
    """Inserts, edits and deletes wait, each row once with the text as indexed; the service's
    search indexes them first and finds exactly what is stored."""
    stop_upkeep(wb.store)
    db = wb.store.db
    before = _segments(db)
    a0 = annotation(world["ws"], world["site"], "a0")
    with wb.store.write() as w:
        repo.update_annotation(w, "a0", {"summary": "Known okapi"})
        repo.update_annotation(w, "a0", {"body": "Checkout froze"})  # the first change's text is kept
        repo.update_annotation(w, "a1", {"status": "triaged"})  # no indexed text: nothing waits
        repo.add_reply(w, reply(a0, "r1", body="lemur too", created_at=T0 + 5))
        w.execute("UPDATE replies SET body = 'only a tapir' WHERE id = 'r0'")
        w.execute("DELETE FROM annotations WHERE id = 'a1'")
    assert _segments(db) == before
    a0_rowid = db.execute("SELECT rowid FROM annotations WHERE id = 'a0'").fetchone()[0]
    assert _pending(db, "annotations")[a0_rowid] == (1, "Checkout crashes", None)  # as first indexed
    assert sorted(_pending(db, "annotations").values()) == [(1, "Checkout crashes", None), (1, "Slow payment", None)]
    assert sorted(_pending(db, "replies").values()) == [(0, None), (1, "Seen with a voucher")]
    with pytest.raises(Exception, match="malformed"):
        _check(db)  # the oracle sees the index behind
    principal = world["principal"]
    assert svc.search(wb, principal, "okapi froze") == ["a0"]
    assert svc.search(wb, principal, "lemur") == ["a0"] and svc.search(wb, principal, "tapir") == ["a0"]
    assert svc.search(wb, principal, "crashes") == [] and svc.search(wb, principal, "voucher") == []
    assert svc.search(wb, principal, "payment") == []
    assert not repo.text_pending(db)
    _check(db)


def test_random_writes_and_partial_upkeep_keep_the_index_exact(wb, world):
    """Inserts, text and other edits, deletes, REPLACEs that reuse an id, replies added, edited
    and removed, with upkeep batches of any size in between: once indexed, each index equals
    its table."""
    stop_upkeep(wb.store)
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "okapi", "zebra", "lemur", None]
    ws, site = world["ws"], world["site"]
    ids = ["a0", "a1"]
    replies: list[str] = ["r0"]
    made = 0
    for step in range(400):
        with wb.store.write() as w:
            for _ in range(rng.randint(1, 4)):
                op = rng.random()
                if op < 0.2:
                    made += 1
                    new = f"n{made}"
                    repo.add_annotations(w, [annotation(ws, site, new, body=f"{rng.choice(words[:-1])} {step}")])
                    ids.append(new)
                elif op < 0.45 and ids:
                    field = rng.choice(["body", "summary"])
                    value = rng.choice(words) if field == "summary" else str(rng.choice(words[:-1]))
                    repo.update_annotation(w, rng.choice(ids), {field: value})
                elif op < 0.55 and ids:
                    repo.update_annotation(w, rng.choice(ids), {"status": rng.choice(["open", "triaged"])})
                elif op < 0.62 and ids:
                    gone = ids.pop(rng.randrange(len(ids)))
                    w.execute("DELETE FROM replies WHERE annotation_id = ?", [gone])
                    w.execute("DELETE FROM annotations WHERE id = ?", [gone])
                    replies = [r for r in replies if w.execute("SELECT 1 FROM replies WHERE id = ?", [r]).fetchone()]
                elif op < 0.7 and ids:
                    # A mirror's upsert: the old row deleted (its DELETE trigger fires), a new one inserted.
                    target = rng.choice(ids)
                    w.execute("INSERT OR REPLACE INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, "
                              "created_at, updated_at) VALUES (?, ?, ?, 'https://s/', 'bug', ?, 'new', 0, 0)",
                              [target, ws, site, f"replaced {rng.choice(words[:-1])}"])
                    replies = [r for r in replies if w.execute("SELECT 1 FROM replies WHERE id = ?", [r]).fetchone()]
                elif op < 0.85 and ids:
                    made += 1
                    new = f"r{made}"
                    repo.add_reply(w, reply(annotation(ws, site, rng.choice(ids)), new, body=f"{rng.choice(words[:-1])} reply"))
                    replies.append(new)
                elif op < 0.93 and replies:
                    w.execute("UPDATE replies SET body = ? WHERE id = ?", [f"{rng.choice(words[:-1])} edited", rng.choice(replies)])
                elif replies:
                    w.execute("DELETE FROM replies WHERE id = ?", [replies.pop(rng.randrange(len(replies)))])
        if rng.random() < 0.3:
            with wb.store.write() as w:
                repo.index_text_pending(w, rng.choice([1, 3, 50]))
    with wb.store.write() as w:
        repo.index_text_pending(w)
    assert not repo.text_pending(wb.store.db)
    _check(wb.store.db)


def test_the_store_indexes_what_waits_soon_after_its_writes(wb, world):
    """Without any search, the store's upkeep thread indexes what a write left waiting."""
    db = wb.store.db
    with wb.store.write() as w:
        repo.add_reply(w, reply(annotation(world["ws"], world["site"], "a1"), "r9", body="quokka"))
    assert repo.text_pending(db)
    deadline = time.monotonic() + 30
    while repo.text_pending(db):  # the condition this test needs: the upkeep has run
        assert time.monotonic() < deadline, "the upkeep thread never indexed the waiting reply"
        time.sleep(0.02)
    _check(db)
    assert db.execute("SELECT count(*) FROM replies_fts WHERE replies_fts MATCH 'quokka'").fetchone()[0] == 1
