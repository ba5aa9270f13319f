"""The annotations list as the store's raw rows: one page read with its checks, its cursor, and a kept
page brought up to date from the change journal (the API's hot list, server/hotpath.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage import annotations as repo
from storage import sites as sites_repo
from workbench.domain.annotations import parse_kind, parse_status
from workbench.domain.cursors import InvalidCursor, decode_cursor, encode_cursor
from workbench.domain.errors import Invalid, NotFound
from workbench.domain.paging import DEFAULT_LIMIT, check_limit
from workbench.domain.records import Site
from workbench.domain.roles import Principal
from workbench.domain.since import check_since_ms
from workbench.services.context import Workbench


def site_or_404(db: Connection, principal: Principal, site_id: str) -> Site:
    """The site, when it is the caller's to see (its workspace; an MCP token's own site); else 404."""
    site = sites_repo.get_site(db, principal.workspace_id, site_id)
    if site is None or (principal.site_id is not None and principal.site_id != site_id):
        raise NotFound("Site not found")
    return site


@dataclass(frozen=True, slots=True)
class RowListing:
    """What one annotations page was asked for, validated (its cursor decoded to ``after``)."""

    site_id: str
    status: str | None
    kind: str | None
    since_ms: int | None
    auto_fix: bool | None
    after: tuple[int, str] | None
    limit: int

    @property
    def scope(self) -> str:
        # The cursor is bound to the listing and its filters: reusing it elsewhere is tampering.
        return f"annotations|{self.site_id}|{self.status}|{self.kind}|{self.since_ms}|{self.auto_fix}"


@dataclass(slots=True)
class RowPage:
    """``Page`` as the store's raw rows (``storage.annotations.annotation_from_row`` makes each a record),
    with what ``refresh_annotation_rows`` needs to bring it up to date later."""

    rows: list[tuple[Any, ...]]
    next_cursor: str | None
    listing: RowListing
    # The rows as read: the page's, and the next one when there is more (it bounds the page).
    window: list[tuple[Any, ...]]
    # The change journal's newest entry, read before the rows; None on PostgreSQL, which has none.
    position: int | None
    # Each window row's place by id. Rows keep their places across refreshes, so this is built once
    # per read page, not once per refresh (50 ids hashed: a fifth of a refresh's CPU).
    places: dict[str, int] = dataclasses.field(default_factory=dict)


# A kept page whose annotations changed more often than this since it was read is read whole.
REFRESH_MOST = 64


def list_annotation_rows(
    wb: Workbench,
    principal: Principal,
    site_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    since_ms: int | None = None,
    auto_fix: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> RowPage:
    """``list_annotations`` with the same checks, as raw rows: the API reuses a row's encoding
    while the row is unchanged, so a page rebuilt after one write re-encodes one row, not 50."""
    listing = row_listing(principal, site_id, status=status, kind=kind, since_ms=since_ms, auto_fix=auto_fix, limit=limit)
    db = wb.store.db
    if cursor:
        try:
            listing = after_cursor(wb, listing, cursor)
        except Invalid:
            site_or_404(db, principal, site_id)  # a site that is not there is a 404 first, whatever the cursor
            raise
    position = repo.journal_position(db) if wb.store.dialect == "sqlite" else None
    # The site is checked by the page's own statement (see page_statement).
    window = repo.list_page_rows(
        db, site_id, status=listing.status, kind=listing.kind, since_ms=listing.since_ms, auto_fix=listing.auto_fix,
        after=listing.after, limit=limit + 1, workspace_id=principal.workspace_id,
    )
    if not window:
        site_or_404(db, principal, site_id)
    return _row_page(wb, listing, window, position)


def row_listing(
    principal: Principal,
    site_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    since_ms: int | None = None,
    auto_fix: bool | None = None,
    limit: int = DEFAULT_LIMIT,
) -> RowListing:
    """The page asked for, checked without the store (its cursor aside: ``after_cursor``)."""
    check_limit(limit)
    if status is not None:
        status = parse_status(status).value
    if kind is not None:
        kind = parse_kind(kind).value
    if since_ms is not None:
        check_since_ms(since_ms)
    if principal.site_id is not None and principal.site_id != site_id:
        raise NotFound("Site not found")
    return RowListing(site_id, status, kind, since_ms, auto_fix, None, limit)


def after_cursor(wb: Workbench, listing: RowListing, cursor: str) -> RowListing:
    """``listing`` from where ``cursor`` left off; Invalid when the cursor is not one of its own
    (``list_annotation_rows`` first asks whether the site is there: a 404 comes first)."""
    key = decode_cursor(wb.secret, listing.scope, cursor)
    if len(key) != 2 or not isinstance(key[0], int) or not isinstance(key[1], str):
        raise InvalidCursor()
    return dataclasses.replace(listing, after=(key[0], key[1]))


def page_statement(principal: Principal, listing: RowListing) -> tuple[str, list[object]] | None:
    """The one statement ``list_annotation_rows`` reads ``listing``'s rows with, for a read made
    elsewhere (PostgreSQL's event loop); None when it needs the store first (a ``since`` asks how
    many rows moved, to pick its index). It checks the site itself: a row proves the site is the
    caller's workspace's, so only an empty page must ask whether the site is there at all."""
    if listing.since_ms is not None:
        return None
    return repo.list_page_sql(
        listing.site_id, status=listing.status, kind=listing.kind, auto_fix=listing.auto_fix, after=listing.after,
        limit=listing.limit + 1, workspace_id=principal.workspace_id,
    )


def read_page(wb: Workbench, listing: RowListing, window: list[tuple[Any, ...]]) -> RowPage:
    """The page of ``window``, rows ``page_statement`` read elsewhere (PostgreSQL's event loop):
    not a source for ``refresh_annotation_rows``, which needs SQLite's change journal."""
    return _row_page(wb, listing, window, None)


def refresh_annotation_rows(wb: Workbench, principal: Principal, kept: RowPage) -> RowPage | None:
    """``kept`` brought up to date by reading only the annotations changed since it was read (the
    change journal, storage/schema.py ``m022``), or None when it must be read whole: the journal
    no longer reaches back, too much changed, or a change moved a row into or out of the page.

    A changed row the page's filter still admits replaces its old self in place (rows keep their
    place: the sort key never changes); a changed row outside the page's range stays out."""
    listing = kept.listing
    if kept.position is None:
        return None
    db = wb.store.db
    site_or_404(db, principal, listing.site_id)
    # Read before the rows: a change committed after it is read again next time.
    journal = repo.changed_since(db, kept.position, REFRESH_MOST)
    if journal is None:
        return None
    position, changed = journal
    if not changed:
        return dataclasses.replace(kept, position=position)
    sql, params = repo.list_page_sql(
        listing.site_id, status=listing.status, kind=listing.kind, since_ms=listing.since_ms, auto_fix=listing.auto_fix,
        after=listing.after, ids=sorted(changed),
    )
    found = {row[repo.ROW_ID]: row for row in db.execute(sql, params).fetchall()}
    window = kept.window
    # A full page's window ends one row past the page: below that row the page cannot reach.
    bottom = _sort_key(window[-1]) if len(window) > listing.limit else None
    for annotation_id in changed:
        row = found.get(annotation_id)
        inside = row is not None and (bottom is None or _sort_key(row) >= bottom)
        place = kept.places.get(annotation_id)
        if row is not None and place is not None and inside and _sort_key(row) == _sort_key(window[place]):
            if window is kept.window:
                window = list(window)
            window[place] = row
        elif place is not None or inside:
            return None
    if window is kept.window:
        # Nothing the page shows changed (the usual case when writes are spread over a big site):
        # the very same rows, so the server reuses the page's bytes (server/hotpath.py).
        return dataclasses.replace(kept, position=position)
    # Every row kept its place, the cursor's too: the same next_cursor, without signing it again.
    # Only the row past the page changed: the page's rows are the same ones.
    rows = window[: listing.limit] if len(window) > listing.limit else window
    if rows == kept.rows:
        rows = kept.rows
    return dataclasses.replace(kept, rows=rows, window=window, position=position)


def _sort_key(row: tuple[Any, ...]) -> tuple[int, str]:
    return row[repo.ROW_CREATED_AT], row[repo.ROW_ID]


def _row_page(wb: Workbench, listing: RowListing, window: list[tuple[Any, ...]], position: int | None) -> RowPage:
    rows, next_cursor = window, None
    if len(window) > listing.limit:
        rows = window[: listing.limit]
        next_cursor = encode_cursor(wb.secret, listing.scope, list(_sort_key(rows[-1])))
    return RowPage(rows, next_cursor, listing, window, position, {row[repo.ROW_ID]: i for i, row in enumerate(window)})


def public_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """The public shape (``Annotation.to_public``) of one raw row of ``list_annotation_rows``."""
    return repo.annotation_from_row(row).to_public()
