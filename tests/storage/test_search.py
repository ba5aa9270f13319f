"""The inbox's search over a temporary store: each operator and qualifier, the list's order, the index kept by triggers.

Queries go through ``workbench.services.inbox`` (which resolves names and the clock) into
``storage.inbox``, the SQL under test; ``sources=("annotation",)`` keeps the demo-less store's
rows to the ones each test writes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import annotations as ann_repo
from storage import inbox as repo
from storage.inbox import Query
from tests.storage.records import T0, annotation, reply
from tests.stores import stop_upkeep
from workbench.domain.errors import Invalid
from workbench.services import inbox
from workbench.services.bootstrap import owner_principal
from workbench.services.context import Workbench

DAY = 86_400_000
NOW = T0 + 30 * DAY


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Workbench]:
    w = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: NOW)
    yield w
    w.store.close()


@pytest.fixture
def world(store: Workbench) -> dict:
    """Six annotations with one distinguishing trait each; the site is named "Acme shop"."""
    from workbench.services.bootstrap import bootstrap

    creds = bootstrap(store)
    ws, site, owner = creds["workspace_id"], creds["site_id"], creds["owner_user_id"]
    with store.store.write() as db:
        db.execute("UPDATE sites SET name = 'Acme shop' WHERE id = ?", [site])
        rows = [
            annotation(ws, site, "a0", body="Checkout crashes on the coupon step", created_at=T0, updated_at=T0),
            annotation(ws, site, "a1", body="The payment step spins forever", kind="design", status="triaged",
                       assignee_id=owner, created_at=T0 + DAY, updated_at=T0 + 20 * DAY),
            annotation(ws, site, "a2", body="Step two of payment is slow", status="resolved", summary="Shipped in v2",
                       created_at=T0 + 2 * DAY, updated_at=T0 + 2 * DAY, auto_fix=True),
            annotation(ws, site, "a3", body="Low contrast on the checkout button", kind="accessibility",
                       page_url="https://shop.example/checkout/payment", created_at=T0 + 25 * DAY, updated_at=T0 + 25 * DAY),
            annotation(ws, site, "a4", body="Coupons vanish after login", submitter_name="Maria Lopez",
                       created_at=T0 + 28 * DAY, updated_at=T0 + 28 * DAY),
            annotation(ws, site, "a5", body="Checking out twice charges twice", status="duplicate",
                       created_at=T0 + 29 * DAY, updated_at=T0 + 29 * DAY),
        ]
        ann_repo.add_annotations(db, rows)
        ann_repo.add_reply(db, reply(rows[4], "r4", body="Reproduced with the SPRING10 voucher"))
    return {"ws": ws, "site": site, "principal": owner_principal(ws, owner)}


def found(store: Workbench, world: dict, text: str) -> list[str]:
    f = inbox.InboxFilter(text=text, sources=("annotation",))
    rows = inbox.window(store, world["principal"], f, 0, 100)
    assert inbox.count(store, world["principal"], f) == len(rows)
    return [r.id for r in rows]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Words, whole and stemmed, over body, summary and thread; every status unless named.
        ("checkout", ["a3", "a0"]),
        ("crash", ["a0"]),  # "crashes" stems to "crash"
        ("coupon", ["a4", "a0"]),  # "Coupons" too
        ("shipped", ["a2"]),  # the summary
        ("voucher", ["a4"]),  # a reply
        ("check*", ["a5", "a3", "a0"]),  # a prefix
        ('"payment step"', ["a1"]),  # a phrase: a2 has both words, not in that order
        ("payment step", ["a2", "a1"]),
        ("checkout -contrast", ["a0"]),
        ("-checkout -coupon", ["a5", "a2", "a1"]),  # excluding only: every other row
        ("contrast OR voucher", ["a4", "a3"]),
        ("step contrast OR slow", ["a2"]),  # OR binds its neighbours: step AND (contrast OR slow)
        # Qualifiers.
        ("status:triaged", ["a1"]),
        ("status:resolved,duplicate", ["a5", "a2"]),
        ("-status:new", ["a5", "a2", "a1"]),
        ("status:awaiting", ["a4", "a3", "a1", "a0"]),
        ("kind:design", ["a1"]),
        ("-kind:bug", ["a3", "a1"]),
        ('site:"acme shop" payment', ["a2", "a1"]),
        ("source:annotation step", ["a2", "a1", "a0"]),
        ("assignee:@me", ["a1"]),
        ("assignee:none step", ["a2", "a0"]),
        ("is:autofix", ["a2"]),
        ("-is:autofix step", ["a1", "a0"]),
        ("page:/checkout", ["a3"]),
        ("author:maria", ["a4"]),
        ("age:<7d", ["a5", "a4", "a3"]),
        ("age:>27d", ["a2", "a1", "a0"]),
        ("age:<7d checkout", ["a3"]),
        ("updated:>2025-12-13", ["a5", "a4", "a3", "a1"]),
        ("updated:2025-11-24..2025-11-26", ["a2", "a0"]),
        ("status:new checkout OR coupon -contrast age:<60d", ["a4", "a0"]),
        # Punctuation only: nothing (and no FTS syntax error).
        ('"*(', []),
    ],
)
def test_each_operator_and_qualifier_selects_its_rows(store, world, text, expected):
    assert found(store, world, text) == expected


def test_a_member_is_found_by_name_and_unknown_names_are_refused(store, world):
    owner_name = store.store.db.execute("SELECT name FROM users WHERE id = ?", [world["principal"].user_id]).fetchone()[0]
    assert found(store, world, f'assignee:"{owner_name.upper()}"') == ["a1"]
    with pytest.raises(Invalid, match='No member named "nobody-here"'):
        found(store, world, "assignee:nobody-here")
    with pytest.raises(Invalid, match='No site, store or study named "Elsewhere"'):
        found(store, world, "site:Elsewhere")
    with pytest.raises(Invalid, match='Unknown qualifier "colour:"'):
        inbox.check(store, world["principal"], inbox.InboxFilter(text="colour:red"))


def test_a_typed_query_searches_every_status_unless_one_is_named(store, world):
    everything = inbox.InboxFilter(sources=("annotation",))
    assert [r.id for r in inbox.window(store, world["principal"], everything, 0, 10)] == ["a4", "a3", "a1", "a0"]
    typed = everything.with_(text="step")
    assert [r.id for r in inbox.window(store, world["principal"], typed, 0, 10)] == ["a2", "a1", "a0"]
    # A status chosen in the filter form still holds; one typed in the query replaces it.
    assert [r.id for r in inbox.window(store, world["principal"], typed.with_(status="resolved"), 0, 10)] == ["a2"]
    retyped = typed.with_(status="resolved", text="step status:triaged")
    assert [r.id for r in inbox.window(store, world["principal"], retyped, 0, 10)] == ["a1"]


def test_search_windows_follow_the_list_order_even_within_one_second(store, world):
    """The index orders by second then rowid: rows of one second inserted out of order still list by (created_at, id)."""
    rng = random.Random(12)
    ws, site = world["ws"], world["site"]
    rows = [
        annotation(ws, site, f"s{rng.randrange(10**6):06d}-{i:03d}", body="needle" if i % 3 else "hay",
                   created_at=T0 + 40 * DAY + rng.randrange(3000), updated_at=T0)
        for i in range(240)
    ]
    with store.store.write() as db:
        ann_repo.add_annotations(db, rows)
    expected = sorted((r for r in rows if r.body == "needle"), key=lambda r: (r.created_at, r.id), reverse=True)
    q = Query(workspace_id=ws, sources=("annotation",), fts='"needle"')
    db = store.store.db
    for offset, limit in [(0, 10), (0, 40), (7, 13), (50, 40), (150, 40), (155, 10)]:
        assert [r.id for r in repo.window(db, q, offset, limit)] == [r.id for r in expected[offset : offset + limit]], (offset, limit)
    assert repo.count(db, q) == len(expected)
    for i in (0, 17, len(expected) - 1):
        assert repo.count_before(db, q, expected[i].created_at, expected[i].id) == i


def _vocabulary(db, table: str) -> list[tuple]:
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_v USING fts5vocab(main, {table}, 'instance')")
    return db.execute(f"SELECT term, doc, col, offset FROM temp.{table}_v ORDER BY 1, 2, 3, 4").fetchall()


def _fresh_vocabulary(db) -> list[tuple]:
    """The index as built from scratch out of the annotations and replies now stored."""
    db.execute("DROP TABLE IF EXISTS temp.fresh")
    db.execute("CREATE VIRTUAL TABLE temp.fresh USING fts5(body, summary, thread, content='', tokenize='porter')")
    db.execute(
        "INSERT INTO temp.fresh(rowid, body, summary, thread) SELECT ((created_at / 1000) << 30) | a.rowid, body, summary, "
        "(SELECT group_concat(b, ' ') FROM (SELECT body AS b FROM replies r WHERE r.annotation_id = a.id ORDER BY created_at, id)) "
        "FROM annotations a"
    )
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fresh_v USING fts5vocab(temp, fresh, 'instance')")
    return db.execute("SELECT term, doc, col, offset FROM temp.fresh_v ORDER BY 1, 2, 3, 4").fetchall()


def test_m016_indexes_the_annotations_and_replies_a_store_already_has(tmp_path):
    from storage.db import SCHEMA_VERSION, Store
    from workbench.services.demo import load_demo

    wb = Workbench.open(str(tmp_path), mailer=None)
    load_demo(wb, annotations=60)
    # The store as it was before m016: no search index, no triggers.
    wb.store.db.executescript(
        "DROP TABLE inbox_fts; DELETE FROM _sqlite_migrations WHERE name = 'm016_search_index'; PRAGMA user_version = 0;"
        + "".join(f"DROP TRIGGER inbox_fts_{t};" for t in ("insert", "update", "delete", "reply_insert", "reply_delete", "reply_update"))
    )
    wb.store.close()
    store = Store(tmp_path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("SELECT count(*) FROM inbox_fts WHERE inbox_fts MATCH 'checkout'").fetchone()[0] > 0
    assert _vocabulary(store.db, "inbox_fts") == _fresh_vocabulary(store.db)
    store.close()


def test_the_search_index_follows_every_write(store, world):
    """After edits, replies added and removed, a moved date and a delete, the index equals one built afresh."""
    with store.store.write() as db:
        ann_repo.update_annotation(db, "a0", {"body": "Checkout froze", "summary": "Known issue"})
        ann_repo.update_annotation(db, "a1", {"status": "ack"})  # no indexed text changes
        ann_repo.update_annotation(db, "a3", {"created_at": T0 + 3 * DAY})
        a0 = annotation(world["ws"], world["site"], "a0")
        ann_repo.add_reply(db, reply(a0, "r0a", body="first zebra", created_at=T0 + 5))
        ann_repo.add_reply(db, reply(a0, "r0b", body="second giraffe", created_at=T0 + 3))
        db.execute("UPDATE replies SET body = 'second okapi' WHERE id = 'r0b'")
        db.execute("DELETE FROM replies WHERE id = 'r0a'")
        db.execute("DELETE FROM replies WHERE id = 'r4'")
        db.execute("DELETE FROM annotations WHERE id = 'a5'")
    assert found(store, world, "froze") == ["a0"] and found(store, world, "okapi") == ["a0"]
    assert found(store, world, "zebra") == [] and found(store, world, "giraffe") == [] and found(store, world, "voucher") == []
    assert found(store, world, "twice") == []
    assert found(store, world, "contrast") == ["a3"]
    db = store.store.db
    assert _vocabulary(db, "inbox_fts") == _fresh_vocabulary(db)



def _pending(db) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in db.execute("SELECT annotation_id, body, summary, thread FROM inbox_fts_pending")}


def test_a_change_waits_aside_once_and_a_search_indexes_it_first(store, world):
    """A reply or an edit leaves the index alone and keeps the annotation's document as indexed,
    once however many changes follow; the next search re-indexes it and finds exactly what is stored."""
    db = store.store.db
    stop_upkeep(store.store)  # so only the search can index
    with store.store.write() as w:
        repo.index_pending(w)  # the fixture's reply
    indexed = _vocabulary(db, "inbox_fts")
    a0 = annotation(world["ws"], world["site"], "a0")
    a4 = annotation(world["ws"], world["site"], "a4")
    with store.store.write() as w:
        ann_repo.add_reply(w, reply(a0, "r0a", body="first zebra", created_at=T0 + 5))
    with store.store.write() as w:
        ann_repo.add_reply(w, reply(a0, "r0b", body="second giraffe", created_at=T0 + 6))
        ann_repo.update_annotation(w, "a0", {"summary": "Known okapi"})
        ann_repo.add_reply(w, reply(a4, "r4b", body="lemur too", created_at=T0 + 28 * DAY + 9))
        ann_repo.update_annotation(w, "a5", {"status": "open"})  # no indexed text: nothing waits
    assert _vocabulary(db, "inbox_fts") == indexed
    assert _pending(db) == {
        "a0": ("Checkout crashes on the coupon step", None, None),
        "a4": ("Coupons vanish after login", None, "Reproduced with the SPRING10 voucher"),
    }
    assert found(store, world, "zebra giraffe okapi") == ["a0"] and found(store, world, "lemur voucher") == ["a4"]
    assert _pending(db) == {}
    assert _vocabulary(db, "inbox_fts") == _fresh_vocabulary(db)
    # Deleted while waiting: the document as indexed is the one taken out.
    with store.store.write() as w:
        ann_repo.add_reply(w, reply(a4, "r4c", body="tapir", created_at=T0 + 28 * DAY + 10))
        w.execute("DELETE FROM replies WHERE annotation_id = 'a4'")
        w.execute("DELETE FROM annotations WHERE id = 'a4'")
    assert _pending(db) == {}
    assert found(store, world, "tapir") == [] and found(store, world, "voucher") == []
    assert _vocabulary(db, "inbox_fts") == _fresh_vocabulary(db)


def test_the_store_indexes_what_waits_soon_after_its_writes(store, world):
    """Without any search, the store's upkeep thread re-indexes a changed thread after the write."""
    db = store.store.db
    with store.store.write() as w:
        ann_repo.add_reply(w, reply(annotation(world["ws"], world["site"], "a0"), "r0a", body="first zebra", created_at=T0 + 5))
    assert repo.search_pending(db)
    deadline = time.monotonic() + 30
    while repo.search_pending(db):  # the condition this test needs: the upkeep has run
        assert time.monotonic() < deadline, "the upkeep thread never indexed the waiting document"
        time.sleep(0.02)
    assert _vocabulary(db, "inbox_fts") == _fresh_vocabulary(db)


def test_excluding_words_walks_past_a_run_of_excluded_rows(store, world):
    """The newest 150 rows hold the excluded word: the walk goes further until the window is full."""
    ws, site = world["ws"], world["site"]
    rows = [
        annotation(ws, site, f"x{i:03d}", body="noise here" if i >= 100 else f"quiet {i}", created_at=T0 + 40 * DAY + i * 700,
                   updated_at=T0)
        for i in range(250)
    ]
    with store.store.write() as db:
        ann_repo.add_annotations(db, rows)
    db = store.store.db
    q = Query(workspace_id=ws, sources=("annotation",), fts_exclude='"noise"')
    everything = inbox.window(store, world["principal"], inbox.InboxFilter(sources=("annotation",), status=inbox.ALL), 0, 1000)
    expected = [r.id for r in everything if "noise" not in r.text]
    for offset, limit in [(0, 40), (30, 40), (90, 40)]:
        assert [r.id for r in repo.window(db, q, offset, limit)] == expected[offset : offset + limit], (offset, limit)
    assert repo.count(db, q) == len(expected)
