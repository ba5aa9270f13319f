"""Extension use case: what changed in a site's threads (replies, resolutions) since a time.

The documented annotation list carries no replies, so a replica would otherwise read each
moved annotation's detail. This feed lets a sync read all thread changes of a site in a few
pages. Cursors are signed like the documented list's and bound to the site and ``since``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage import thread_feed as repo
from workbench.domain.cursors import InvalidCursor, decode_cursor, encode_cursor
from workbench.domain.errors import Invalid
from workbench.domain.roles import Principal
from workbench.domain.since import check_since_ms
from workbench.services import sites as sites_svc
from workbench.services.context import Workbench

MAX_LIMIT = 1000
DEFAULT_LIMIT = 500


@dataclass(slots=True)
class FeedPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def thread_changes(
    wb: Workbench, principal: Principal, site_id: str, *, since_ms: int = 0, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> FeedPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    check_since_ms(since_ms)
    sites_svc.get_site(wb, principal, site_id)  # 404 outside the caller's scope
    scope = f"thread-changes|{site_id}|{since_ms}"
    phase, after = "reply", None
    if cursor:
        key = decode_cursor(wb.secret, scope, cursor)
        if len(key) != 3 or key[0] not in ("reply", "resolution") or not isinstance(key[1], int) or not isinstance(key[2], str):
            raise InvalidCursor()
        phase, after = key[0], (key[1], key[2])
    items: list[dict[str, Any]] = []
    last: tuple[str, int, str] | None = None
    with wb.store.read() as db:
        if phase == "reply":
            replies = repo.replies_since(db, site_id, since_ms, after, limit + 1)
            more = len(replies) > limit
            for r in replies[:limit]:
                items.append({"kind": "reply", "data": r.to_public()})
                last = ("reply", r.created_at, r.id)
            if more and last is not None:  # last is set: the page holds at least one reply
                return FeedPage(items, encode_cursor(wb.secret, scope, list(last)))
            after = None
        room = limit - len(items)
        if room > 0:
            resolutions = repo.resolutions_since(db, site_id, since_ms, after, room + 1)
            for s in resolutions[:room]:
                items.append({"kind": "resolution", "data": s.to_public()})
                last = ("resolution", s.created_at, s.id)
            if len(resolutions) > room and last is not None:  # last is set: room > 0 rows were added
                return FeedPage(items, encode_cursor(wb.secret, scope, list(last)))
        elif last is not None:
            # The page filled up exactly at the end of the replies: resolutions come next.
            return FeedPage(items, encode_cursor(wb.secret, scope, ["resolution", -1, ""]))
    return FeedPage(items, None)
