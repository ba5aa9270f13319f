"""Cursor pagination: signed cursors, last page null, and no skips or repeats while rows change."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import bearer
from tests.helpers import post_annotation
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.services import annotations as svc


def _seed(wb, creds, n):
    for i in range(n):
        svc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://x/", body=f"note {i}"))


def _all_pages(client, url, headers, limit):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        pages += 1
        if cursor is None:
            return seen, pages


def test_default_limit_50_and_last_page_null(client, creds, wb):
    _seed(wb, creds, 120)
    h = bearer(creds["member_token"])
    url = f"/api/v1/sites/{creds['site_id']}/annotations"
    first = client.get(url, headers=h).json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    seen, pages = _all_pages(client, url, h, 50)
    assert len(seen) == 120 == len(set(seen)) and pages == 3
    exact = client.get(url, params={"limit": 200}, headers=h).json()
    assert len(exact["items"]) == 120 and exact["next_cursor"] is None


def test_tampered_or_foreign_cursor_is_400(client, creds, wb):
    _seed(wb, creds, 5)
    h = bearer(creds["member_token"])
    url = f"/api/v1/sites/{creds['site_id']}/annotations"
    cursor = client.get(url, params={"limit": 2}, headers=h).json()["next_cursor"]
    payload, sig = cursor.split(".")
    raw = base64.urlsafe_b64decode(payload + "==")
    forged = base64.urlsafe_b64encode(raw.replace(b"[", b"[9", 1)).rstrip(b"=").decode() + "." + sig
    for bad in [forged, cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "garbage", "a.b.c", "%%%"]:
        assert client.get(url, params={"cursor": bad}, headers=h).status_code == 400, bad
    # Other spellings of the same bytes (QA finding 9): only the issued string pages on.
    last = sig[-1]
    alike = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" if c != last
             and base64.urlsafe_b64decode(sig[:-1] + c + "==") == base64.urlsafe_b64decode(sig + "==")]
    assert alike  # 22 characters encode 16 bytes: the last one has unused bits
    for bad in [cursor[:-1] + alike[0], cursor + "=", payload + "." + sig.replace("-", "+").replace("_", "/"),
                payload + "=." + sig]:
        if bad != cursor:
            assert client.get(url, params={"cursor": bad}, headers=h).status_code == 400, bad
    # A cursor issued for another filter set is refused too.
    assert client.get(url, params={"cursor": cursor, "status": "new"}, headers=h).status_code == 400
    assert client.get(url, params={"cursor": cursor, "limit": 2}, headers=h).status_code == 200


def test_paging_while_rows_are_inserted_and_edited_neither_skips_nor_repeats(client, creds, wb):
    _seed(wb, creds, 60)
    h = bearer(creds["member_token"])
    url = f"/api/v1/sites/{creds['site_id']}/annotations"
    before = {x["id"] for x in client.get(url, params={"limit": 200}, headers=h).json()["items"]}
    seen, cursor = [], None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params, headers=h).json()
        seen += [x["id"] for x in page["items"]]
        # Concurrent writers: new rows arrive and already-seen rows are edited between pages.
        post_annotation(client, creds, "arrived mid-listing")
        if page["items"]:
            client.patch(f"/api/v1/annotations/{page['items'][0]['id']}", json={"status": "ack"}, headers=h)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert before <= set(seen), "a row that existed before paging began was skipped"


@pytest.mark.parametrize("limit", [1, 200])
def test_limit_bounds_accepted(client, creds, limit):
    r = client.get(f"/api/v1/sites/{creds['site_id']}/annotations", params={"limit": limit}, headers=bearer(creds["guest_token"]))
    assert r.status_code == 200
