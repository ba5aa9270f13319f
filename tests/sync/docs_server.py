"""A documents-only annotations server, written from greatfeedback-api.txt alone, for sync tests.

It offers what the document names and nothing of the bundled server's: bearer API tokens
(a 401 carries ``WWW-Authenticate: Bearer error="invalid_token"``), sites, personas, the
annotation list (filters, ``since`` in epoch ms, HMAC-signed cursors, limit 50 by default and
200 at most), the annotation detail with replies and resolutions, PATCH (no ETag, no
``If-Match``), replies (``{body, author_name?}``; the author "is agent for token callers") and
``Idempotency-Key`` on POST. Where the document leaves a shape open it takes the plainest
reading: a reply names its author by ``author_name`` only (flat, the one author field the
document names), a 429 answers with a plain-text reason and no ``Retry-After``. Rate limits
are fixed windows, per token and per IP, and both must allow a request (a refused request is
not counted).

There is no ``thread-changes``, no studies list, no ETag, no ``version``. A new reply moves
its annotation's ``updated_at``, the only way the documented list can announce it.

From feedback-sessions-api.txt it serves the two reads a replica makes: the sessions list
(``limit``/``offset``, newest first, ``{data, meta}``) and a session's comments, seeded with
``make_seed(..., feedback_rounds=N)``; the one bearer stands for the store API key too.

Run: ``python -m tests.sync.docs_server --seed seed.json --port P --state state.json
--log requests.jsonl [--per-ip 30 --per-token 600 --window 60]``. The state file (the
server's data after each write) and the request log (one JSON line per request: method,
path, status, the rate-limit window it fell in) are what tests read to check the server side.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

STATUSES = ("new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
SITE_ID = "site-docs"
DASHBOARD_AUTHOR = "Dana Designer"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def make_seed(token: str, annotations: int, *, dashboard_replies: int = 1, feedback_rounds: int = 0) -> dict[str, Any]:
    """A workspace's data: one site, ``annotations`` annotations, and on the first
    ``dashboard_replies`` of them a reply a dashboard user wrote; ``feedback_rounds`` review
    rounds (the newest in review, the others done) with two comments each."""
    t0 = now_ms() - 3_600_000
    anns = [
        {
            "id": f"ann-{i:04d}", "site_id": SITE_ID, "page_url": f"https://shop.example/p/{i}", "selector": "main > h1",
            "kind": "bug", "body": f"Heading {i} overlaps the hero image", "status": "new", "summary": None,
            "assignee_id": None, "auto_fix": False, "created_at": t0 + i, "updated_at": t0 + i,
        }
        for i in range(annotations)
    ]
    replies = [
        {"id": f"rep-seed-{i:04d}", "annotation_id": anns[i]["id"], "body": f"Seen on mobile too ({i})",
         "author_name": DASHBOARD_AUTHOR, "created_at": t0 + 1000 + i}
        for i in range(min(dashboard_replies, annotations))
    ]
    return {
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "sites": [{"id": SITE_ID, "name": "Shop", "url": "https://shop.example", "created_at": t0, "updated_at": t0}],
        "annotations": anns,
        "replies": replies,
        "feedback_sessions": [
            {"id": f"fs-{i:03d}", "status": "in_review" if i == feedback_rounds - 1 else "done",
             "feedbackUrl": f"https://shop-preview.example/r/{i}", "deploymentUrl": None, "errorMessage": None,
             "createdAt": iso(t0 + 10_000 * i), "updatedAt": iso(t0 + 10_000 * i + 5)}
            for i in range(feedback_rounds)
        ],
        "feedback_comments": {
            f"fs-{i:03d}": [
                {"id": f"fc-{i:03d}-{j}", "content": f"Round {i}: make heading {j} larger", "pagePath": "/",
                 "status": "open", "taskInstruction": None, "createdAt": iso(t0 + 10_000 * i + j)}
                for j in range(2)
            ]
            for i in range(feedback_rounds)
        },
    }


class Data:
    """The server's state, one lock around it; written to ``state_path`` after every write."""

    def __init__(self, seed: dict[str, Any], state_path: Path) -> None:
        self.lock = threading.Lock()
        self.token_sha256: str = seed["token_sha256"]
        self.sites = {s["id"]: s for s in seed["sites"]}
        self.annotations = {a["id"]: a for a in seed["annotations"]}
        self.replies: list[dict[str, Any]] = list(seed["replies"])
        self.feedback_sessions: list[dict[str, Any]] = list(seed.get("feedback_sessions") or [])
        self.feedback_comments: dict[str, list[dict[str, Any]]] = dict(seed.get("feedback_comments") or {})
        self.idempotency: dict[tuple[str, str, str], tuple[str, int, Any]] = {}
        self.state_path = state_path
        self.cursor_key = secrets.token_bytes(32)
        self.save()

    def save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"annotations": self.annotations, "replies": self.replies}))
        os.replace(tmp, self.state_path)


class Limiter:
    """Fixed windows per key; a request must fit in every bucket it falls in."""

    def __init__(self, limits: dict[str, int], window: float) -> None:
        self.limits = limits
        self.window = window
        self.start = time.monotonic()
        self.counts: dict[tuple[str, str], tuple[int, int]] = {}
        self.lock = threading.Lock()

    def current(self) -> int:
        return int((time.monotonic() - self.start) // self.window)

    def take(self, keys: dict[str, str]) -> tuple[int, str | None]:
        """The current window, and the reason a bucket refuses the request (None: counted in each)."""
        with self.lock:
            w = self.current()
            for bucket, key in keys.items():
                idx, n = self.counts.get((bucket, key), (w, 0))
                if idx == w and n >= self.limits[bucket]:
                    return w, f"Rate limit exceeded: {self.limits[bucket]} requests per {self.window:g} s per {bucket}"
            for bucket, key in keys.items():
                idx, n = self.counts.get((bucket, key), (w, 0))
                self.counts[(bucket, key)] = (w, n + 1 if idx == w else 1)
            return w, None


def _public_annotation(a: dict[str, Any]) -> dict[str, Any]:
    return {**a, "created_at": iso(a["created_at"]), "updated_at": iso(a["updated_at"])}


def _public_reply(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "created_at": iso(r["created_at"])}


def create_app(data: Data, limiter: Limiter, log_path: Path) -> Starlette:
    log = log_path.open("a", buffering=1)
    log_lock = threading.Lock()

    def error(status: int, reason: str) -> JSONResponse:
        return JSONResponse({"detail": reason}, status)

    def authed(request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        digest = hashlib.sha256(credential.strip().encode()).hexdigest()
        return scheme.lower() == "bearer" and hmac.compare_digest(digest, data.token_sha256)

    def sign(key: list[Any]) -> str:
        raw = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
        mac = hmac.new(data.cursor_key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{raw}.{mac}"

    def unsign(cursor: str) -> list[Any] | None:
        raw, _, mac = cursor.partition(".")
        want = hmac.new(data.cursor_key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(mac, want):
            return None
        return json.loads(base64.urlsafe_b64decode(raw))

    def page(request: Request, rows: list[dict[str, Any]], key: Any, public: Any) -> Response:
        try:
            limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return error(400, "limit must be an integer")
        if not 1 <= limit <= MAX_LIMIT:
            return error(400, f"limit must be between 1 and {MAX_LIMIT}")
        rows = sorted(rows, key=key)
        cursor = request.query_params.get("cursor")
        if cursor:
            after = unsign(cursor)
            if after is None:
                return error(400, "Invalid cursor")
            rows = [r for r in rows if list(key(r)) > after]
        items = rows[:limit]
        nxt = sign(list(key(items[-1]))) if len(rows) > limit else None
        return JSONResponse({"items": [public(r) for r in items], "next_cursor": nxt})

    async def sites(request: Request) -> Response:
        return page(request, list(data.sites.values()), lambda s: (s["id"],),
                    lambda s: {**s, "created_at": iso(s["created_at"]), "updated_at": iso(s["updated_at"])})

    async def site(request: Request) -> Response:
        s = data.sites.get(request.path_params["id"])
        if s is None:
            return error(404, "Site not found")
        return JSONResponse({**s, "created_at": iso(s["created_at"]), "updated_at": iso(s["updated_at"])})

    async def personas(request: Request) -> Response:
        items = [
            {"id": "per-a11y", "slug": "a11y-auditor", "name": "Accessibility auditor", "category": "accessibility",
             "description": "Checks contrast and focus order", "is_default": True},
            {"id": "per-copy", "slug": "copy-editor", "name": "Copy editor", "category": "copy",
             "description": "Reads every word twice", "is_default": True},
        ]
        # "Ordered: category asc, defaults before customs in a category, name asc", paged like every list.
        return page(request, items, lambda p: (p["category"], not p["is_default"], p["name"].lower(), p["name"], p["id"]), lambda p: p)

    async def annotations(request: Request) -> Response:
        if request.path_params["id"] not in data.sites:
            return error(404, "Site not found")
        q = request.query_params
        rows = [a for a in data.annotations.values() if a["site_id"] == request.path_params["id"]]
        if q.get("status"):
            if q["status"] not in STATUSES:
                return error(400, f"Unknown status: {q['status']}")
            rows = [a for a in rows if a["status"] == q["status"]]
        if q.get("kind"):
            rows = [a for a in rows if a["kind"] == q["kind"]]
        if q.get("auto_fix") in ("true", "false"):
            rows = [a for a in rows if a["auto_fix"] == (q["auto_fix"] == "true")]
        if q.get("since"):
            try:
                since = int(q["since"])
            except ValueError:
                return error(400, "since must be epoch milliseconds")
            rows = [a for a in rows if a["updated_at"] >= since]
        return page(request, rows, lambda a: (a["updated_at"], a["id"]), _public_annotation)

    def detail(ann: dict[str, Any]) -> dict[str, Any]:
        replies = sorted((r for r in data.replies if r["annotation_id"] == ann["id"]), key=lambda r: (r["created_at"], r["id"]))
        return {**_public_annotation(ann), "replies": [_public_reply(r) for r in replies], "resolutions": []}

    async def annotation(request: Request) -> Response:
        ann = data.annotations.get(request.path_params["id"])
        if ann is None:
            return error(404, "Annotation not found")
        if request.method == "GET":
            return JSONResponse(detail(ann))
        try:
            body = await request.json()
        except ValueError:
            return error(422, "Body must be JSON")
        if not isinstance(body, dict) or set(body) - {"status", "summary", "assignee_id"}:
            return error(422, "Body: {status?, summary?, assignee_id?}")
        if "status" in body and body["status"] not in STATUSES:
            return error(400, f"Unknown status: {body['status']}")
        with data.lock:
            ann.update(body)
            ann["updated_at"] = max(now_ms(), ann["updated_at"] + 1)
            data.save()
        return JSONResponse(_public_annotation(ann))

    async def replies(request: Request) -> Response:
        ann = data.annotations.get(request.path_params["id"])
        if ann is None:
            return error(404, "Annotation not found")
        raw = await request.body()
        key = request.headers.get("idempotency-key")
        scope = (data.token_sha256, request.url.path, key or "")  # one token; never the plaintext
        digest = hashlib.sha256(raw).hexdigest()
        with data.lock:
            if key and scope in data.idempotency:
                seen_digest, status, payload = data.idempotency[scope]
                if seen_digest != digest:
                    return error(422, "Idempotency-Key reused with a different body")
                return JSONResponse(payload, status, headers={"Idempotent-Replayed": "true"})
        try:
            body = json.loads(raw)
        except ValueError:
            return error(422, "Body must be JSON")
        if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"].strip():
            return error(422, "Body: {body, author_name?}; body is required")
        name = body.get("author_name")
        if name is not None and not isinstance(name, str):
            return error(422, "author_name must be a string")
        with data.lock:
            at = now_ms()
            r = {"id": f"rep-{secrets.token_hex(6)}", "annotation_id": ann["id"], "body": body["body"],
                 "author_name": name or "agent", "created_at": at}
            data.replies.append(r)
            ann["updated_at"] = max(at, ann["updated_at"] + 1)
            if key:
                data.idempotency[scope] = (digest, 201, _public_reply(r))
            data.save()
        return JSONResponse(_public_reply(r), 201)

    async def gate(request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith("/api/"):
            window = limiter.current()
            response = await call_next(request)
        else:
            keys = {"IP": request.client.host if request.client else "?"}
            if authed(request):
                keys["token"] = data.token_sha256
            window, refused = limiter.take(keys)
            if refused is not None:
                response = PlainTextResponse(refused, 429)
            elif "token" not in keys:
                response = JSONResponse(
                    {"detail": "Unknown API token"}, 401, headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="Unknown API token"'},
                )
            else:
                response = await call_next(request)
        with log_lock:
            log.write(json.dumps({"method": request.method, "path": request.url.path, "status": response.status_code, "window": window}) + "\n")
        return response

    async def feedback_sessions(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", 50))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return error(400, "limit and offset must be integers")
        if not 1 <= limit <= 100 or offset < 0:
            return error(400, "limit must be between 1 and 100, offset at least 0")
        rows = sorted(data.feedback_sessions, key=lambda f: f["createdAt"], reverse=True)
        return JSONResponse({"data": rows[offset:offset + limit], "meta": {"count": len(rows), "offset": offset, "limit": limit}})

    async def feedback_comments(request: Request) -> Response:
        comments = data.feedback_comments.get(request.path_params["id"])
        if comments is None:
            return error(404, "Feedback session not found")
        return JSONResponse({"data": comments, "meta": {"count": len(comments)}})

    routes = [
        Route("/api/v1/feedback-sessions", feedback_sessions),
        Route("/api/v1/feedback-sessions/{id}/comments", feedback_comments),
        Route("/api/v1/sites", sites),
        Route("/api/v1/sites/{id}", site),
        Route("/api/v1/sites/{id}/annotations", annotations),
        Route("/api/v1/annotations/{id}", annotation, methods=["GET", "PATCH"]),
        Route("/api/v1/annotations/{id}/replies", replies, methods=["POST"]),
        Route("/api/personas/mine", personas),
    ]
    return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=gate)])


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--seed", type=Path, required=True, help="JSON from make_seed()")
    ap.add_argument("--state", type=Path, required=True, help="where to write the data after each write")
    ap.add_argument("--log", type=Path, required=True, help="request log, one JSON line per request")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--per-ip", type=int, default=30)
    ap.add_argument("--per-token", type=int, default=600)
    ap.add_argument("--window", type=float, default=60.0, help="rate-limit window in seconds")
    args = ap.parse_args()
    data = Data(json.loads(args.seed.read_text()), args.state)
    limiter = Limiter({"IP": args.per_ip, "token": args.per_token}, args.window)
    uvicorn.run(create_app(data, limiter, args.log), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
