"""Triage writes answered by HotWritesMiddleware: the declared routes' answers, without the router.

Each refusal is sent to the app twice: as built, and with the hot writes taken out of its stack
(the declared FastAPI routes then answer). Status, body, content type and challenge must agree
for every kind of bad body, refused caller and precondition. Accepted writes must answer with
the routes' shape and headers, keep the Idempotency-Key promise, and never reach the router
(what makes them cheap), while a request the layer is unsure of still does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from tests.conftest import TEST_SETTINGS, bearer
from workbench.server.app import create_app
from workbench.server.hotwrites import HotWritesMiddleware
from workbench.services.demo import load_demo


def _layer_before(app: FastAPI, kind: type) -> Any:
    """The stack's layer whose ``.app`` is the first layer of ``kind`` (each ASGI layer holds the next as .app)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer.app, kind):
        layer = layer.app
    return layer


@pytest.fixture
def both(wb, creds) -> Iterator[tuple[TestClient, TestClient]]:
    load_demo(wb, annotations=30)
    declared = create_app(wb, TEST_SETTINGS)
    with TestClient(create_app(wb, TEST_SETTINGS)) as hot, TestClient(declared) as plain:
        outer = _layer_before(declared, HotWritesMiddleware)
        outer.app = outer.app.app  # the declared routes answer every write
        yield hot, plain


def _first_id(c: TestClient, creds: dict) -> str:
    return c.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=bearer(creds["member_token"])).json()["items"][0]["id"]


def test_every_refusal_is_the_declared_routes(both, creds):
    hot, declared = both
    member = bearer(creds["member_token"])
    target = _first_id(hot, creds)
    version = hot.get(f"/api/v1/annotations/{target}", headers=member).json()["version"]
    one = f"/api/v1/annotations/{target}"
    json_ct = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("PATCH", one, b'{"summary": "x"}', {**json_ct}),
        ("PATCH", one, b'{"summary": "x"}', {**json_ct, **bearer("gfat_" + "x" * 40)}),
        ("PATCH", one, b'{"summary": "x"}', {**json_ct, **bearer(creds["store_api_key"])}),
        ("PATCH", one, b'{"summary": "x"}', {**json_ct, "Authorization": "Basic abc"}),
        ("PATCH", "/api/v1/annotations/no-such-annotation", b'{"summary": "x"}', {**json_ct, **member}),
        ("PATCH", "/api/v1/annotations/bad%00id", b'{"summary": "x"}', {**json_ct, **member}),
        ("PATCH", one + "?q=%00", b'{"summary": "x"}', {**json_ct, **member}),
        ("PATCH", one, b"", {**json_ct, **member}),
        ("PATCH", one, b"{not json", {**json_ct, **member}),
        ("PATCH", one, b"[1, 2]", {**json_ct, **member}),
        ("PATCH", one, b"{}", {**json_ct, **member}),
        ("PATCH", one, b'{"summary": 5}', {**json_ct, **member}),
        ("PATCH", one, b'{"status": "nope"}', {**json_ct, **member}),
        ("PATCH", one, b'{"status": null}', {**json_ct, **member}),
        ("PATCH", one, b'{"status": ["new"]}', {**json_ct, **member}),
        ("PATCH", one, b'{"status": true}', {**json_ct, **member}),
        ("PATCH", one, b'{"status": 5}', {**json_ct, **member}),
        ("PATCH", one, b'{"summary": "a\xff"}', {**json_ct, **member}),
        ("PATCH", one, b'{"summary": "x", "extra": 1}', {**json_ct, **member}),
        ("PATCH", one, b'{"summary": "a\\u0000b"}', {**json_ct, **member}),
        ("PATCH", one, b'{"summary": "x"}', {"Content-Type": "text/plain", **member}),
        ("PATCH", one, b'{"summary": "x"}', {"Content-Type": "application/x-www-form-urlencoded", **member}),
        ("PATCH", one, b'{"summary": "x"}', {**json_ct, **member, "If-Match": "garbage"}),
        ("PATCH", one, b'{"summary": "x"}', {**json_ct, **member, "If-Match": f'"v{version + 7}"'}),
        ("PATCH", one, b'{"assignee_id": "nobody-here"}', {**json_ct, **member}),
        ("POST", one + "/replies", b'{"body": "x"}', {**json_ct}),
        ("POST", one + "/replies", b'{"body": "x"}', {**json_ct, **bearer(creds["store_api_key"])}),
        ("POST", "/api/v1/annotations/no-such-annotation/replies", b'{"body": "x"}', {**json_ct, **member}),
        ("POST", one + "/replies", b'{"body": ""}', {**json_ct, **member}),
        ("POST", one + "/replies", b'{"text": "x"}', {**json_ct, **member}),
        ("POST", one + "/replies", b'{"body": "' + b"x" * 70_000 + b'"}', {**json_ct, **member}),
        ("POST", one + "/replies", b"null", {**json_ct, **member}),
        ("POST", one + "/replies", b'{"body": "a\xff"}', {**json_ct, **member}),
        ("POST", one + "/replies", b'{"body": "x", "author_name": "Olive Owner"}',
         {**json_ct, **bearer(creds["owner_session"], creds["workspace_id"])}),
        ("POST", one + "/replies", b'{"body": "x"}', {"Content-Type": "text/plain", **member}),
        ("POST", one + "/replies", b'{"body": "x"}', {**json_ct, **member, "Idempotency-Key": ""}),
    ]
    for method, path, body, headers in cases:
        got = hot.request(method, path, content=body, headers=headers)
        want = declared.request(method, path, content=body, headers=headers)
        assert got.status_code >= 400, (method, path, body[:40], got.status_code)
        assert (got.status_code, got.content, got.headers.get("content-type"), got.headers.get("www-authenticate")) == \
            (want.status_code, want.content, want.headers.get("content-type"), want.headers.get("www-authenticate")), (method, path, body[:40])
    # Nothing above wrote anything.
    assert hot.get(one, headers=member).json()["version"] == version


def test_accepted_writes_answer_as_the_declared_routes(both, creds):
    hot, declared = both
    member = bearer(creds["member_token"])
    target = _first_id(hot, creds)
    shapes = []
    for c, summary in ((hot, "from the hot path"), (declared, "from the route")):
        before = c.get(f"/api/v1/annotations/{target}", headers=member).json()["version"]
        patched = c.patch(f"/api/v1/annotations/{target}", json={"summary": summary, "status": "triaged"},
                          headers={**member, "If-Match": f'"v{before}"'})
        assert patched.status_code == 200
        assert patched.json()["summary"] == summary and patched.json()["version"] == before + 1
        assert patched.headers["etag"] == f'"v{before + 1}"'
        # A change to what it already is: no new version, as the route answers it.
        again = c.patch(f"/api/v1/annotations/{target}", json={"summary": summary}, headers=member)
        assert again.status_code == 200 and again.json()["version"] == before + 1
        replied = c.post(f"/api/v1/annotations/{target}/replies", json={"body": summary, "author_name": "Ana"},
                         headers={**member, "Content-Type": "application/json; charset=utf-8"})
        assert replied.status_code == 201 and replied.json()["body"] == summary
        shapes.append((sorted(patched.json()), sorted(patched.headers), sorted(replied.json()), replied.headers["content-type"]))
    assert shapes[0] == shapes[1]
    thread = [r["body"] for r in hot.get(f"/api/v1/annotations/{target}", headers=member).json()["replies"]]
    assert thread[-2:] == ["from the hot path", "from the route"]


def test_a_keyed_reply_on_the_hot_path_is_written_once(both, creds):
    hot, _ = both
    member = bearer(creds["member_token"])
    target = _first_id(hot, creds)
    path = f"/api/v1/annotations/{target}/replies"
    keyed = {**member, "Idempotency-Key": "reply-once"}
    first = hot.post(path, json={"body": "only once"}, headers=keyed)
    retry = hot.post(path, content=orjson.dumps({"body": "only once"}, option=orjson.OPT_INDENT_2), headers=keyed)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    other = hot.post(path, json={"body": "something else"}, headers=keyed)
    assert other.status_code == 422
    replies = hot.get(f"/api/v1/annotations/{target}", headers=member).json()["replies"]
    assert [r["body"] for r in replies].count("only once") == 1


def test_triage_writes_are_answered_before_the_router(wb, creds):
    load_demo(wb, annotations=5)
    app = create_app(wb, TEST_SETTINGS)
    reached: list[str] = []
    member = bearer(creds["member_token"])
    with TestClient(app) as c:
        layer = _layer_before(app, HotWritesMiddleware).app  # the hot writes; the router is past it
        router = layer.app

        async def counting_router(scope, receive, send):
            reached.append(f"{scope['method']} {scope['path']}")
            await router(scope, receive, send)

        layer.app = counting_router
        target = _first_id(c, creds)
        assert c.patch(f"/api/v1/annotations/{target}", json={"summary": "quick"}, headers=member).status_code == 200
        assert c.post(f"/api/v1/annotations/{target}/replies", json={"body": "quick"}, headers=member).status_code == 201
        assert reached == []
        # Unsure of it (a body the model refuses): the route answers, with the body it was sent.
        refused = c.patch(f"/api/v1/annotations/{target}", json={"summary": 5}, headers=member)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "summary"]
        assert reached == [f"PATCH /api/v1/annotations/{target}"]


def test_a_triage_write_is_counted_once_whether_answered_here_or_by_the_route(wb, creds):
    """Counted ahead of the stack: one the route answers (a body it refuses) is not counted again."""
    load_demo(wb, annotations=5)
    settings = dataclasses.replace(TEST_SETTINGS, token_limit=4, ip_limit=1000)
    with TestClient(create_app(wb, settings), client=("203.0.113.9", 5000)) as c:
        member = bearer(creds["member_token"])
        target = c.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=member).json()["items"][0]["id"]
        one = f"/api/v1/annotations/{target}"
        codes = [
            c.patch(one, json={"summary": "5"}, headers=member).status_code,
            c.patch(one, json={"summary": 5}, headers=member).status_code,
            c.post(one + "/replies", json={"body": ""}, headers=member).status_code,
        ]
        assert codes == [200, 422, 422]  # four requests with the list's
        refused = c.post(one + "/replies", json={"body": "one too many"}, headers=member)
        assert refused.status_code == 429 and "per-token" in refused.json()["detail"] and refused.headers["retry-after"]


def test_a_triage_body_that_does_not_arrive_in_time_is_408_and_writes_nothing(wb, creds):
    load_demo(wb, annotations=5)
    app = create_app(wb, dataclasses.replace(TEST_SETTINGS, body_timeout_seconds=0.2))
    with TestClient(app) as c:
        member = bearer(creds["member_token"])
        target = c.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=member).json()["items"][0]
    sent: list[Message] = []

    async def trickle() -> Message:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b'{"summary": ', "more_body": True}
        await asyncio.sleep(60)  # the rest never comes
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-length", b"30"), (b"content-type", b"application/json"), (b"authorization", member["Authorization"].encode())]
    scope = {"type": "http", "method": "PATCH", "path": f"/api/v1/annotations/{target['id']}", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 5000), "scheme": "http", "server": ("t", 80), "root_path": "", "http_version": "1.1"}
    asyncio.run(asyncio.wait_for(app(scope, trickle, send), 10))
    start = next(m for m in sent if m.get("type") == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m.get("type") == "http.response.body")
    assert start["status"] == 408 and b"did not arrive within 1 s" in body
    with TestClient(app) as c:
        assert c.get(f"/api/v1/annotations/{target['id']}", headers=member).json()["version"] == target["version"]
