"""The list's pages reuse each row's JSON while the row is unchanged, and never serve a changed row's old JSON.

After a write empties the page cache, the page is rebuilt from the store; rows whose stored
values are the same as before keep their encoding (PageCache.row), anything a write changed
(the PATCHed row, the row a reply touched) is encoded again. The page must be byte for byte
what a cache that never saw a row would build.
"""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS, bearer
from workbench.server.app import create_app
from workbench.server.pagecache import PageCache
from workbench.services.demo import load_demo


def _fresh_page(wb, path: str, headers: dict[str, str]) -> bytes:
    """The same page built by an app whose caches are empty."""
    with TestClient(create_app(wb, TEST_SETTINGS)) as fresh:
        return fresh.get(path, headers=headers).content


def test_a_page_rebuilt_after_writes_is_the_page_built_from_nothing(wb, creds):
    load_demo(wb, annotations=60)
    member = bearer(creds["member_token"])
    path = f"/api/v1/sites/{creds['site_id']}/annotations?limit=20"
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        before = c.get(path, headers=member).json()["items"]
        target, other = before[3]["id"], before[7]["id"]
        assert c.patch(f"/api/v1/annotations/{target}", json={"summary": "now summarised"}, headers=member).status_code == 200
        assert c.post(f"/api/v1/annotations/{other}/replies", json={"body": "a reply"}, headers=member).status_code == 201
        got = c.get(path, headers=member)
        after = {a["id"]: a for a in got.json()["items"]}
        assert after[target]["summary"] == "now summarised"
        assert after[target]["version"] == before[3]["version"] + 1
        assert after[other]["updated_at"] != before[7]["updated_at"]
        assert got.content == _fresh_page(wb, path, member)


def test_row_encodings_are_reused_only_for_equal_rows_and_stay_within_their_bound(wb):
    cache = PageCache(wb.store, row_bytes=100)
    calls: list[tuple] = []

    def encode(row: tuple) -> bytes:
        calls.append(row)
        return f'"{row[0]}"'.encode()

    first = cache.row(("a", 1), encode)
    assert cache.row(("a", 1), encode) is first
    assert calls == [("a", 1)]
    cache.row(("a", 2), encode)  # one value differs: another row
    assert calls == [("a", 1), ("a", 2)]
    for i in range(40):  # far past 100 bytes: the kept encodings are dropped, not grown
        cache.row(("b", i), encode)
    assert cache._rows_held <= 100
    seen = len(calls)
    cache.row(("a", 1), encode)  # dropped with the rest: encoded again
    assert len(calls) == seen + 1


def test_a_page_built_off_the_loop_is_kept_only_if_no_newer_version_came_meanwhile(wb):
    """PostgreSQL's hot path reads a page's rows in a thread: a request that saw a newer version
    while it was out must not find the older page kept under the newer version."""
    cache = PageCache(wb.store)
    assert cache.peek("k", 1) is None
    assert cache.put("k", b"at 1", 1) == b"at 1"
    assert cache.peek("k", 1) == b"at 1"
    assert cache.peek("k", 2) is None  # version 2 seen: the pages of 1 are gone
    assert cache.put("k", b"built from rows read after 1", 1) == b"built from rows read after 1"
    assert cache.peek("k", 2) is None
    assert cache.get("k", lambda: b"at 2", 2) == b"at 2"
    assert cache.peek("k", 2) == b"at 2"


def _texts(fragments: list) -> list:
    return orjson.loads(orjson.dumps(fragments))


def test_a_refreshed_page_encodes_only_the_rows_that_changed_and_never_serves_an_old_row(wb):
    cache = PageCache(wb.store)
    calls: list[tuple] = []

    def encode(row: tuple) -> bytes:
        calls.append(row)
        return f'"{row[0]}{row[1]}"'.encode()

    rows = [("r", i) for i in range(50)]
    assert _texts(cache.page_rows("k", rows, encode)) == [f"r{i}" for i in range(50)]
    assert len(calls) == 50
    # A refresh keeps the unchanged rows' objects and puts a new one in place of the changed row.
    refreshed = list(rows)
    refreshed[7] = ("changed", 7)
    assert _texts(cache.page_rows("k", refreshed, encode))[6:9] == ["r6", "changed7", "r8"]
    assert calls[50:] == [("changed", 7)]
    # Equal rows read again (new objects) go through the row encodings: found there, not encoded again.
    again = [tuple(r) for r in refreshed]
    assert _texts(cache.page_rows("k", again, encode)) == _texts(cache.page_rows("k", refreshed, encode))
    assert len(calls) == 51
    # Another page of the same rows in other places takes nothing by position.
    assert _texts(cache.page_rows("other", refreshed[::-1], encode))[0] == "r49"


def test_the_pages_row_encodings_are_dropped_with_the_row_encodings(wb):
    cache = PageCache(wb.store, row_bytes=100)
    cache.page_rows("k", [("a", 1)], lambda row: b'"a"')
    assert cache._encoded
    for i in range(40):  # past the bound: every encoding is dropped, the pages' too
        cache.row(("b", i), lambda row: b'"bbbb"')
    assert not cache._encoded or all(len(rows) == 0 for rows, _ in cache._encoded.values())


@pytest.mark.sqlite_only("a page is refreshed from SQLite's change journal; PostgreSQL reads it whole")
def test_a_page_no_write_touched_keeps_its_bytes_and_one_a_write_touched_is_encoded_again(wb, creds, monkeypatch):
    """Writes spread over a big site mostly miss its first page: the refreshed page is then the
    same rows, and its kept bytes are served without encoding them again."""
    load_demo(wb, annotations=60)
    member = bearer(creds["member_token"])
    path = f"/api/v1/sites/{creds['site_id']}/annotations?limit=10"
    from workbench.server import hotpath

    encoded: list[int] = []
    real = hotpath.encode_page

    def counting(cache, key, page):
        encoded.append(len(page.rows))
        return real(cache, key, page)

    monkeypatch.setattr(hotpath, "encode_page", counting)
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        first = c.get(path, headers=member)
        items = first.json()["items"]
        second = c.get(f"{path}&cursor={first.json()['next_cursor']}", headers=member).json()["items"]
        assert encoded == [10, 10]
        # The row past the page (read with it, to bound it), then one further down.
        for deeper in (second[0]["id"], second[5]["id"]):
            assert c.patch(f"/api/v1/annotations/{deeper}", json={"summary": "on page two"}, headers=member).status_code == 200
            again = c.get(path, headers=member)
            assert encoded == [10, 10], "a page no write touched was encoded again"
        assert c.patch(f"/api/v1/annotations/{items[2]['id']}", json={"summary": "on page one"}, headers=member).status_code == 200
        changed = c.get(path, headers=member)
        assert encoded == [10, 10, 10]
    assert again.content == first.content
    assert changed.json()["items"][2]["summary"] == "on page one"
    assert changed.content == _fresh_page(wb, path, member)
