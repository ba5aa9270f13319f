"""A search's prefix rewritten as the words it completes (``storage.search_prefix``): exactly what FTS5's prefix finds, or left alone.

Each rewrite is checked against FTS5's own answer to the prefix over the same index, on text
chosen to trip it: words porter stems to something that does not stem to itself, accents and
capitals, hyphenated words, a prefix that is a whole word, and a vocabulary past the cap.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import annotations as ann_repo
from storage import search_prefix
from tests.storage.records import T0, annotation, reply
from workbench.services import inbox
from workbench.services.bootstrap import bootstrap, owner_principal
from workbench.services.context import Workbench

WORDS = [
    "check", "checkout", "checked", "checking", "checker", "checklist", "checkouts", "chequer", "cheque",
    "agreed", "agreement", "agree", "coupon", "coupons", "couple", "café", "Café", "CAFÉ", "caffeine",
    "naïve", "naively", "e-mail", "email", "emails", "step", "steps", "stepped", "payment", "pay", "paying",
    "paid", "über", "uber", "zebra", "the", "their", "there", "then",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Workbench]:
    w = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: T0 + 86_400_000)
    yield w
    w.store.close()


@pytest.fixture
def world(store: Workbench) -> dict:
    """300 annotations of random words from ``WORDS`` (a third with a reply), created a minute apart."""
    creds = bootstrap(store)
    ws, site, owner = creds["workspace_id"], creds["site_id"], creds["owner_user_id"]
    rng = random.Random(7)
    rows = [annotation(ws, site, f"a{i:03}", body=" ".join(rng.choices(WORDS, k=6)), created_at=T0 + i * 60_000,
                       updated_at=T0 + i * 60_000) for i in range(300)]
    with store.store.write() as db:
        ann_repo.add_annotations(db, rows)
        for i, row in enumerate(rows[::3]):
            ann_repo.add_reply(db, reply(row, f"r{i:03}", body=" ".join(rng.choices(WORDS, k=3))))
    return {"principal": owner_principal(ws, owner)}


def matches(db: sqlite3.Connection, fts: str) -> list[int]:
    return [r for (r,) in db.execute("SELECT rowid FROM inbox_fts WHERE inbox_fts MATCH ? ORDER BY rowid DESC", [fts])]


PREFIXES = ["check", "checko", "chec", "che", "agre", "agreed", "coup", "caf", "Caf", "CAFÉ", "café", "naï", "uber",
            "über", "e", "em", "ste", "pay", "pai", "the", "zebra", "zz", "checkouts", "step"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_rewrite_finds_exactly_what_the_prefix_finds(store: Workbench, world: dict, prefix: str) -> None:
    db = store.store.db
    fts = '"' + prefix + '"*'
    rewritten = search_prefix.expand(db, fts)
    assert rewritten is not None and matches(db, rewritten) == matches(db, fts)


def test_a_prefix_of_words_that_search_as_themselves_is_read_as_words(store: Workbench, world: dict) -> None:
    db = store.store.db
    rewritten = search_prefix.expand(db, '"check"*')
    # check, checker, checklist, checkout (checked and checking stem to check; checkouts to checkout)
    assert rewritten == '("check" OR "checker" OR "checklist" OR "checkout")'
    assert search_prefix.expand(db, '"coup"*') == '("coupl" OR "coupon")'
    # Within an expression: only the prefixes change, quoting and operators are kept.
    both = search_prefix.expand(db, '("step" OR "coup"*) AND ("pay")')
    assert both == '("step" OR ("coupl" OR "coupon")) AND ("pay")'


@pytest.mark.parametrize(
    ("fts", "why"),
    [
        ('"agre"*', "agreed is indexed as agre, which would be searched as agr"),
        ('"e-ma"*', "two words: a phrase whose last word is a prefix"),
        ('"zz"*', "nothing completes it"),
        ('"check"', "not a prefix"),
    ],
)
def test_a_prefix_that_cannot_be_rewritten_exactly_is_left_to_fts5(store: Workbench, world: dict, fts: str, why: str) -> None:
    assert search_prefix.expand(store.store.db, fts) == fts, why


def test_more_words_than_the_cap_are_left_to_fts5(store: Workbench, world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    db = store.store.db
    rewritten = search_prefix.expand(db, '"c"*')
    assert rewritten is not None and rewritten != '"c"*'  # under the cap: rewritten
    words = rewritten.count(" OR ") + 1
    monkeypatch.setattr(search_prefix, "MAX_WORDS", words - 1)
    assert search_prefix.expand(db, '"c"*') == '"c"*'


def test_a_read_only_connection_can_rewrite(store: Workbench, world: dict, tmp_path: Path) -> None:
    ro = sqlite3.connect(f"file:{tmp_path / 'data' / 'workbench.db'}?mode=ro", uri=True, isolation_level=None)
    try:
        assert search_prefix.expand(ro, '"check"*') == '("check" OR "checker" OR "checklist" OR "checkout")'
        assert not ro.in_transaction  # the temporary tables' writes leave no transaction open
    finally:
        ro.close()


@pytest.mark.parametrize("text", ["check*", "coup* -checkout", "pay* OR zebra", "-check* step", "agre* check*"])
def test_the_inbox_window_is_the_same_with_and_without_the_rewrite(
    store: Workbench, world: dict, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    f = inbox.InboxFilter(text=text, sources=("annotation",))
    rewritten = [r.id for r in inbox.window(store, world["principal"], f, 0, 40)]
    deep = [r.id for r in inbox.window(store, world["principal"], f, 40, 40)]
    monkeypatch.setattr(search_prefix, "expand", lambda db, fts: fts)
    assert rewritten == [r.id for r in inbox.window(store, world["principal"], f, 0, 40)]
    assert deep == [r.id for r in inbox.window(store, world["principal"], f, 40, 40)]
    assert rewritten  # the corpus has matches for every one of these
