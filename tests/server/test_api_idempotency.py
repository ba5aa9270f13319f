"""Idempotency-Key on POST writes: replay, 422 for another body, 409 while in flight, scoped per caller."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from storage.db import WriteWouldWait, without_waiting
from tests.conftest import TEST_SETTINGS, bearer
from tests.helpers import post_annotation
from workbench.server.app import create_app


def test_retry_replays_the_first_response_and_writes_once(client, creds, wb):
    a = post_annotation(client, creds)
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "reply-1"}
    first = client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "once"}, headers=h)
    second = client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "once"}, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    n = wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ?", [a["id"]]).fetchone()[0]
    assert n == 1


def test_same_key_other_body_is_422(client, creds):
    a = post_annotation(client, creds)
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "k"}
    assert client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "one"}, headers=h).status_code == 201
    r = client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "two"}, headers=h)
    assert r.status_code == 422 and "different request" in r.json()["detail"]
    assert r.json()["idempotency"] == "other_body"  # not the route's 422 of a body that fails its schema


def test_a_refusal_is_not_recorded_so_a_mended_body_goes_through_under_the_same_key(client, creds, wb):
    """A refused request wrote nothing: recorded, its key answered the mended retry with "already used with a
    different request body", and the same retry with the refusal again, though nothing had been applied."""
    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/replies"
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "mend-1"}
    refused = client.post(url, json={"body": ""}, headers=h)
    assert refused.status_code == 422 and "idempotent-replayed" not in refused.headers
    again = client.post(url, json={"body": ""}, headers=h)
    assert again.status_code == 422 and "idempotent-replayed" not in again.headers  # judged afresh, not replayed
    mended = client.post(url, json={"body": "now with words"}, headers=h)
    assert mended.status_code == 201, mended.text
    # From here the key is the mended request's: a retry replays it, and writes nothing more.
    replayed = client.post(url, json={"body": "now with words"}, headers=h)
    assert replayed.json() == mended.json() and replayed.headers.get("idempotent-replayed") == "true"
    assert wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ?", [a["id"]]).fetchone()[0] == 1
    # A refusal from the use case (not the body's model) alike: an annotation that is not there, then another body.
    missing = bearer(creds["member_token"]) | {"Idempotency-Key": "mend-2"}
    assert client.post("/api/v1/annotations/nope/replies", json={"body": "x"}, headers=missing).status_code == 404
    assert client.post("/api/v1/annotations/nope/replies", json={"body": "y"}, headers=missing).status_code == 404


def test_keys_are_scoped_per_credential(client, creds):
    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/replies"
    r1 = client.post(url, json={"body": "same"}, headers=bearer(creds["member_token"]) | {"Idempotency-Key": "shared"})
    r2 = client.post(url, json={"body": "same"}, headers=bearer(creds["guest_token"]) | {"Idempotency-Key": "shared"})
    assert r1.status_code == r2.status_code == 201 and r1.json()["id"] != r2.json()["id"]


def test_replay_survives_a_server_restart(wb, creds):
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        a = post_annotation(c, creds)
        h = bearer(creds["member_token"]) | {"Idempotency-Key": "restart"}
        first = c.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "x"}, headers=h)
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        again = c.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "x"}, headers=h)
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"


def test_retry_while_first_in_flight_is_409(wb, creds, monkeypatch):
    from workbench.services import annotations as svc

    entered, release = threading.Event(), threading.Event()
    real = svc.reply

    def slow_reply(*args, **kwargs):
        if without_waiting.get():
            # On the event loop it would block every request: go on as a write that found the
            # store busy does, waiting in the threadpool (server/writer.py).
            raise WriteWouldWait
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(svc, "reply", slow_reply)
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        a = post_annotation(c, creds)
        h = bearer(creds["member_token"]) | {"Idempotency-Key": "slow"}
        url = f"/api/v1/annotations/{a['id']}/replies"
        results = {}
        t = threading.Thread(target=lambda: results.setdefault("first", c.post(url, json={"body": "s"}, headers=h)))
        t.start()
        assert entered.wait(10)
        concurrent = c.post(url, json={"body": "s"}, headers=h)
        release.set()
        t.join(10)
    assert concurrent.status_code == 409
    # Named, so a client tells it from the route's own 409s (the review page: from a round that closed).
    assert concurrent.json() == {"detail": "A request with this Idempotency-Key is still being processed", "idempotency": "in_flight"}
    assert results["first"].status_code == 201


def test_failed_auth_does_not_burn_the_key(client, creds):
    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/replies"
    bad = client.post(url, json={"body": "x"}, headers={"Authorization": "Bearer gfat_" + "B" * 43, "Idempotency-Key": "k2"})
    assert bad.status_code == 401
    time.sleep(0)
    h = {"Authorization": "Bearer gfat_" + "B" * 43}
    assert client.post(url, json={"body": "x"}, headers=h | {"Idempotency-Key": "k2"}).status_code == 401
