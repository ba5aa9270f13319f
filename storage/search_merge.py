"""The search indexes' merging: FTS5 segments merged in short steps of their own, never inside a write.

FTS5 writes what a transaction indexes as a new segment, and by default (``automerge`` 4) the
transaction that leaves a level with enough segments merges them before it commits. The upkeep
indexing a pulled store (storage/db.py, workbench/server/search_upkeep.py) paid for that in
some of its batches: batch p99 29 ms and up to 77 ms against ~1 ms, and a triage action queued
behind one waited as long (p99 22.5 ms right after a 1M initial sync). Migration m038 turns the
automatic merge off and raises ``crisismerge`` to CRISIS_MERGE, the bound for a store no upkeep
merges. The upkeep calls ``step`` in a write transaction of its own after each batch, until
there is nothing to merge; each step writes about MERGE_PAGES pages of merged segments, and a
writer waits for one step, not for a level's whole merge.
"""

from __future__ import annotations

from sqlite3 import Connection

# The FTS5 tables (m001 and m016): the inbox's documents and the annotation search's two indexes.
INDEXES = ("inbox_fts", "annotations_fts", "replies_fts")
# Pages of merged output a step writes (about 4 KB each). Steps of 8 to 64 pages cost alike at
# p99 on a 100k store (1.4 to 3.6 ms), the step that ends a merge and drops its inputs being the
# slowest whatever the size; smaller steps only add transactions.
MERGE_PAGES = 16
# The segments a level holds before a write merges them itself (FTS5's default is 16): only a
# store whose upkeep never runs reaches it, and a search reads every segment.
CRISIS_MERGE = 64


def settings_sql() -> str:
    """The statements that hand the indexes' merging to ``step`` (migration m038)."""
    return "".join(f"INSERT INTO {t}({t}, rank) VALUES ('automerge', 0); INSERT INTO {t}({t}, rank) VALUES ('crisismerge', {CRISIS_MERGE});"
                   for t in INDEXES)


def step(db: Connection) -> bool:
    """Merge about MERGE_PAGES pages of the first index with a level to merge, inside the caller's
    write transaction: whether one had (False: nothing was written, so the caller may roll back)."""
    for t in INDEXES:
        before = db.total_changes
        db.execute(f"INSERT INTO {t}({t}, rank) VALUES ('merge', ?)", [MERGE_PAGES])
        # FTS5's own test for work done: the command counts as one change, a merge as more.
        if db.total_changes - before >= 2:
            return True
    return False
