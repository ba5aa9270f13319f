"""The thread feed's pages (storage/thread_feed.py): what they hold, and that each reads about one page.

The work a statement does is counted in SQLite's virtual machine steps (a progress handler
called every step), which do not depend on the machine's speed: a page that walks from the
feed's start to its keyset, or a feed with nothing new that walks every resolution, reads
rows in proportion to the history and shows here as many times the steps of the first page.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable

import pytest

from storage import annotations, thread_feed
from storage import sync_mirror as mirror
from tests.plans import vm_steps
from workbench.domain.records import Reply, Resolution
from workbench.services import sites
from workbench.services.bootstrap import owner_principal
from workbench.services.context import Workbench

ROWS = 1500
PAGE = 50


@pytest.fixture
def feed(engine: str, wb: Workbench, creds: dict) -> tuple[sqlite3.Connection, str]:
    """A site with ROWS annotations, a reply and a resolution each, at distinct times; every
    resolution notified a while after it was made, some long after (a late notification)."""
    db = wb.store.db
    site, ws = creds["site_id"], creds["workspace_id"]
    rng = random.Random(7)
    with wb.store.write() as w:
        for i in range(ROWS):
            at = 1_000_000 + i * 10
            aid = f"a{i:05d}"
            w.execute(
                "INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at) "
                "VALUES (?, ?, ?, 'https://x.example/', 'bug', 'b', 'resolved', ?, ?)", [aid, ws, site, at, at],
            )
            w.execute(
                "INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at) "
                "VALUES (?, ?, ?, 'visitor', 'V', 'r', ?)", [f"r{i:05d}", aid, ws, at + 1],
            )
            late = rng.random() < 0.05
            w.execute(
                "INSERT INTO resolutions (id, annotation_id, workspace_id, explanation, created_by, created_at, notification_status, notified_at) "
                "VALUES (?, ?, ?, 'fixed', 'u', ?, 'sent', ?)", [f"s{i:05d}", aid, ws, at + 2, at + 2 + (ROWS * 10 if late else 3)],
            )
    return db, site


def walk(db: sqlite3.Connection, fetch: Callable, site: str, since: int) -> list:
    """Every page of a feed from ``since``, as a client follows it."""
    out, after = [], None
    while True:
        page = fetch(db, site, since, after, PAGE)
        out += page
        if len(page) < PAGE:
            return out
        after = (page[-1].created_at, page[-1].id)


@pytest.mark.sqlite_only("SQLite's virtual machine steps; PostgreSQL plans the same statements its own way")
@pytest.mark.parametrize("fetch", [thread_feed.replies_since, thread_feed.resolutions_since], ids=["replies", "resolutions"])
def test_a_page_deep_in_the_feed_reads_about_what_the_first_page_reads(feed, fetch):
    db, site = feed
    first = vm_steps(db, lambda: fetch(db, site, 0, None, PAGE))
    rows = walk(db, fetch, site, 0)
    deep = rows[ROWS * 9 // 10]
    assert vm_steps(db, lambda: fetch(db, site, 0, (deep.created_at, deep.id), PAGE)) < 2 * first


@pytest.mark.sqlite_only("SQLite's virtual machine steps; PostgreSQL plans the same statements its own way")
def test_resolutions_with_nothing_new_read_next_to_nothing(feed):
    db, site = feed
    newest = db.execute("SELECT max(max(created_at), max(notified_at)) FROM resolutions").fetchone()[0]
    first = vm_steps(db, lambda: thread_feed.resolutions_since(db, site, 0, None, PAGE))
    assert thread_feed.resolutions_since(db, site, newest + 1, None, PAGE) == []
    assert vm_steps(db, lambda: thread_feed.resolutions_since(db, site, newest + 1, None, PAGE)) < first


@pytest.fixture
def small_site(feed, wb: Workbench, creds: dict) -> str:
    """A second site with a few threads, made among the first's: one annotation in every 100."""
    ws = creds["workspace_id"]
    site = sites.create_site(wb, owner_principal(ws, creds["owner_user_id"]), "Help centre", "https://help.example").id
    with wb.store.write() as w:
        for i in range(0, ROWS, 100):
            at = 1_000_000 + i * 10 + 5
            aid = f"h{i:05d}"
            w.execute(
                "INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at) "
                "VALUES (?, ?, ?, 'https://help.example/', 'bug', 'b', 'resolved', ?, ?)", [aid, ws, site, at, at],
            )
            thread = Reply(f"hr{i:05d}", aid, ws, "visitor", None, "V", "r", None, at + 1)
            annotations.add_reply(w, thread)
            annotations.add_resolution(w, Resolution(f"hs{i:05d}", aid, ws, None, None, None, "fixed", "u", at + 2, "sent", at + 3))
    return site


@pytest.mark.sqlite_only("SQLite's virtual machine steps; PostgreSQL plans the same statements its own way")
@pytest.mark.parametrize("fetch", [thread_feed.replies_since, thread_feed.resolutions_since], ids=["replies", "resolutions"])
def test_a_small_sites_feed_reads_its_own_rows_not_the_other_sites(feed, small_site, fetch):
    """Its whole feed, and its feed since a time most of the way through, cost what its few rows
    cost: a store-wide time index made them walk the large site's rows between its own (1,500
    reads for its 15 here; at 1M annotations a small site's first page read the whole store's)."""
    db, big = feed
    whole = vm_steps(db, lambda: fetch(db, small_site, 0, None, PAGE))
    late = 1_000_000 + ROWS * 10 * 8 // 10
    recent = vm_steps(db, lambda: fetch(db, small_site, late, None, PAGE))
    assert len(fetch(db, small_site, 0, None, PAGE)) == ROWS // 100
    assert len(fetch(db, small_site, late, None, PAGE)) == ROWS // 100 // 5
    big_page = vm_steps(db, lambda: fetch(db, big, 0, None, PAGE))
    # The large site's first page reads PAGE rows; the small site's whole feed reads its 15.
    assert whole < big_page, (whole, big_page)
    assert recent < big_page / 2, (recent, big_page)


def test_every_writer_gives_a_thread_its_annotations_site(feed, small_site, wb: Workbench):
    """The feed reads a row by its site: the writes name it (storage/annotations.py), a replica's
    too (storage/sync_mirror.py), and a row inserted without one gets it from its annotation."""
    db, big = feed
    with wb.store.write() as w:
        w.execute(
            "INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at) "
            "VALUES ('raw', 'h00100', ?, 'visitor', 'V', 'r', 5)", [db.execute("SELECT workspace_id FROM annotations WHERE id = 'h00100'").fetchone()[0]],
        )
        mirror.apply_replies(w, [Reply("mirrored", "h00200", "w", "user", "u", "U", "m", None, 6)])
        mirror.apply_resolutions(w, [Resolution("mirrored-s", "h00300", "w", None, None, None, "x", "u", 7, "sent", None)])
    sites_of = dict(db.execute(
        "SELECT id, site_id FROM replies WHERE id IN ('raw', 'mirrored', 'hr00000', 'r00001') "
        "UNION ALL SELECT id, site_id FROM resolutions WHERE id IN ('mirrored-s', 'hs00000')"
    ).fetchall())
    assert sites_of == {"raw": small_site, "mirrored": small_site, "hr00000": small_site, "r00001": big,
                        "mirrored-s": small_site, "hs00000": small_site}
    assert db.execute("SELECT count(*) FROM replies WHERE site_id IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM resolutions WHERE site_id IS NULL").fetchone()[0] == 0


@pytest.mark.parametrize("fraction", [0, 0.3, 0.7, 0.99, 1.2])
def test_the_feed_holds_each_resolution_made_or_notified_since_once_in_order(feed, fraction):
    """The merged ranges against the definition, read whole: made since, or made before and notified since
    (on both engines: PostgreSQL runs the same statement without SQLite's index hints)."""
    db, site = feed
    since = 1_000_000 + int(ROWS * 10 * fraction)
    got = walk(db, thread_feed.resolutions_since, site, since)
    want = db.execute(
        "SELECT id FROM resolutions WHERE created_at >= ? OR notified_at >= ? ORDER BY created_at, id", [since, since]
    ).fetchall()
    assert [r.id for r in got] == [w[0] for w in want]
    late = [r for r in got if r.created_at < since]
    assert bool(late) == (fraction > 0), "a late notification is in the feed once its time comes"
    replies = walk(db, thread_feed.replies_since, site, since)
    assert [r.id for r in replies] == [w[0] for w in db.execute(
        "SELECT id FROM replies WHERE created_at >= ? ORDER BY created_at, id", [since]
    )]
