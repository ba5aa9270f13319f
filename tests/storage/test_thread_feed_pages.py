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

from storage import thread_feed
from tests.plans import vm_steps
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
