"""Use cases of the unified inbox: filters, one window of rows, counts and saved views.

The inbox is everything awaiting attention across the three sources: annotations in an open
status, open comments of active feedback sessions, and test sessions waiting for analysis
(``completed``) or confirmation (``analyzed``). A filter narrows it; ``status="all"`` widens it
to every row. Front ends page through it with ``count`` and ``window`` (offset/limit), which
stay fast at 100,000 annotations (see ``storage.inbox``).

Bulk actions over inbox rows are ``workbench.services.bulk``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from sqlite3 import Connection
from typing import Any, TypeVar

from storage import accounts as accounts_repo
from storage import inbox as repo
from storage import inbox_filters as filters_repo
from storage import sync_remotes
from storage.db import WriteWouldWait, without_waiting
from workbench.domain import clock
from workbench.domain.account_records import unnamed_member
from workbench.domain.errors import Invalid, NotFound
from workbench.domain.query import Search
from workbench.domain.query import parse as parse_search
from workbench.domain.roles import Principal
from workbench.domain.statuses import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    CommentStatus,
    Kind,
    Status,
    TestSessionStatus,
)
from workbench.services.context import Workbench

SOURCES = repo.SOURCES
SOURCE_LABELS = {"annotation": "annotation", "comment": "session comment", "test": "test session"}
AWAITING = "awaiting"
ALL = "all"

# What "awaiting attention" means, per source.
AWAITING_STATUSES: dict[str, tuple[str, ...]] = {
    "annotation": tuple(s.value for s in OPEN_STATUSES),
    "comment": (CommentStatus.OPEN.value,),
    "test": (TestSessionStatus.COMPLETED.value, TestSessionStatus.ANALYZED.value),
}
SOURCE_STATUSES: dict[str, tuple[str, ...]] = {
    "annotation": tuple(s.value for s in Status),
    "comment": tuple(s.value for s in CommentStatus),
    "test": tuple(s.value for s in TestSessionStatus),
}


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What the inbox shows. Empty/None fields do not filter."""

    sources: tuple[str, ...] = ()  # () = every source
    status: str = AWAITING  # "awaiting", "all", or one raw status (applies to each source that has it)
    kind: str | None = None  # an annotation kind (selects annotations only)
    place: str | None = None  # a site, store or study id
    assignee: str | None = None  # "me", "none" or a user id (selects annotations only)
    auto_fix: bool | None = None
    text: str = ""  # the typed query (workbench/domain/query.py): words, phrases, -word, OR, qualifiers

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = list(self.sources)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboxFilter:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "sources" in known:
            known["sources"] = tuple(known["sources"] or ())
        return cls(**known)

    def with_(self, **changes: Any) -> InboxFilter:
        return replace(self, **changes)

    @property
    def is_default(self) -> bool:
        return self == InboxFilter()


# The repository's row as it is: front ends read its fields, ``key`` and ``first_line``.
InboxRow = repo.Row


@dataclass(slots=True)
class Facets:
    """The choices a filter UI offers: places, members, kinds, statuses."""

    places: list[tuple[str, str, str]]  # (id, name, source), sorted by source then name
    members: list[tuple[str, str]]  # (user id, name); on a replica, the server's members it has seen
    kinds: list[str]
    statuses: list[str]
    replica: bool = False  # members come from a server (and may be incomplete)

    def place_name(self, place_id: str | None) -> str:
        for pid, name, _ in self.places:
            if pid == place_id:
                return name
        return ""

    def member_name(self, user_id: str | None) -> str:
        for uid, name in self.members:
            if uid == user_id:
                return name
        return ""


_NOTHING: dict[str, tuple[str, ...] | None] = {s: () for s in SOURCES}


def _statuses(f: InboxFilter, search: Search) -> tuple[dict[str, tuple[str, ...] | None], tuple[str, ...] | None]:
    """Per source, the statuses shown, and the session statuses awaiting comments need (None: any).

    A ``status:`` in the query replaces the filter's status; otherwise a typed query searches
    every status (a search looks for something, wherever it went), unless the filter named one.
    """
    session_statuses: tuple[str, ...] | None = None
    statuses: dict[str, tuple[str, ...] | None]
    if search.statuses:
        statuses = {}
        for src in SOURCES:
            named = set(search.statuses)
            if "all" in named:
                statuses[src] = None
                continue
            chosen = {st for st in named if st in SOURCE_STATUSES[src]}
            if "awaiting" in named:
                chosen |= set(AWAITING_STATUSES[src])
            statuses[src] = tuple(st for st in SOURCE_STATUSES[src] if st in chosen)
        if set(search.statuses) == {"awaiting"}:
            session_statuses = tuple(sorted(s.value for s in ACTIVE_STATUSES))
    elif f.status == AWAITING and search.is_empty:
        statuses = dict(AWAITING_STATUSES)
        session_statuses = tuple(sorted(s.value for s in ACTIVE_STATUSES))
    elif f.status in (AWAITING, ALL):
        statuses = {s: None for s in SOURCES}
    else:
        statuses = {s: ((f.status,) if f.status in SOURCE_STATUSES[s] else ()) for s in SOURCES}
    if search.excluded_statuses:
        statuses = {
            src: tuple(st for st in (shown if shown is not None else SOURCE_STATUSES[src]) if st not in search.excluded_statuses)
            for src, shown in statuses.items()
        }
    return statuses, session_statuses


def _both(first: tuple[str, ...] | None, second: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Values both choices allow (None: no choice made)."""
    if first is None:
        return second
    if second is None:
        return first
    return tuple(v for v in second if v in first)


def _places(db: Connection, principal: Principal, names: tuple[str, ...]) -> tuple[str, ...]:
    known = filters_repo.places(db, principal.workspace_id)
    out: list[str] = []
    for name in names:
        found = [pid for pid, pname, _ in known if name.casefold() in (pname.casefold(), pid.casefold())]
        if not found:
            listed = ", ".join(sorted({f'"{n}"' for _, n, _ in known})[:8]) or "none yet"
            raise Invalid(f'No site, store or study named "{name}" (known: {listed})')
        out += found
    return tuple(out)


def _assignees(db: Connection, principal: Principal, names: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        if name == "@me":
            out.append(principal.user_id or "")
        elif name == "none":
            out.append("")
        else:
            found = _members_named(db, principal, name)
            if not found:
                raise Invalid(f'No member named "{name}": use a name, an email, @me or none')
            out += found
    return tuple(out)


def _members_named(db: Connection, principal: Principal, name: str) -> list[str]:
    """The ids of the members ``name`` names (their name, email or id, any case), as this store knows
    them: a replica also knows the server's members it has seen (repliers, assignees)."""
    from storage import sync_state

    members = [(u.id, u.name, u.email) for u, _ in accounts_repo.list_members(db, principal.workspace_id)]
    if sync_state.is_replica(db, principal.workspace_id):
        members += [(uid, n, "") for uid, n in filters_repo.server_members(db, principal.workspace_id, principal.user_id or "")]
    return list(dict.fromkeys(uid for uid, n, email in members if name.casefold() in (n.casefold(), email.casefold(), uid.casefold())))


def members_named(wb: Workbench, principal: Principal, name: str) -> list[str]:
    """The ids of the members ``name`` names, as ``assignee:`` in a query reads it (``annotation assign`` too)."""
    return _members_named(wb.store.db, principal, name)


def _query(principal: Principal, f: InboxFilter, db: Connection | None = None, now_ms: int | None = None) -> repo.Query:
    search = parse_search(f.text, now_ms if now_ms is not None else clock.now_ms())
    sources = tuple(s for s in (f.sources or SOURCES) if s in SOURCES)
    sources = tuple(s for s in sources if (not search.sources or s in search.sources) and s not in search.excluded_sources)
    statuses, session_statuses = _statuses(f, search)
    kinds = _both((f.kind,) if f.kind else None, search.kinds or None)
    if search.excluded_kinds:
        kinds = tuple(k for k in (kinds if kinds is not None else tuple(k.value for k in Kind)) if k not in search.excluded_kinds)
    places: tuple[str, ...] | None = (f.place,) if f.place else None
    assignee = {"me": principal.user_id or "", "none": ""}.get(f.assignee or "", f.assignee)
    assignees: tuple[str, ...] | None = (assignee,) if assignee is not None else None
    if search.sites or search.assignees:
        if db is None:
            raise ValueError("resolving names needs the store")
        if search.sites:
            places = _both(places, _places(db, principal, search.sites))
        if search.assignees:
            assignees = _both(assignees, _assignees(db, principal, search.assignees))
    auto_fix = f.auto_fix
    if search.auto_fix is not None:
        if auto_fix is not None and auto_fix != search.auto_fix:
            statuses = dict(_NOTHING)
        auto_fix = search.auto_fix
    if search.matches_nothing:
        # Only punctuation: nothing can match, and an empty MATCH would be an FTS syntax error.
        statuses = dict(_NOTHING)
    return repo.Query(
        workspace_id=principal.workspace_id,
        sources=sources,
        statuses=statuses,
        kinds=kinds,
        place_ids=places,
        assignees=assignees,
        auto_fix=auto_fix,
        fts=search.fts_match(),
        fts_exclude=search.fts_exclude(),
        groups=tuple(tuple(t.text for t in g) for g in search.groups),
        excluded=tuple(t.text for t in search.excluded),
        pages=search.pages,
        authors=search.authors,
        created=search.created,
        updated=search.updated,
        comment_session_statuses=session_statuses,
    )


def check(wb: Workbench, principal: Principal, f: InboxFilter) -> None:
    """Raise ``Invalid`` (unknown qualifier, bad date, unknown site…) before a front end applies ``f``."""
    with wb.store.read() as db:
        _query(principal, f, db, wb.clock())


T = TypeVar("T")
# Counts read every matching row; the TUI asks for them on each repaint and live refresh.
# They are kept until the store's data_version moves (any commit, from any process), so an
# unchanged store costs one PRAGMA per ask. Bounded: a few filters and views per session.
_COUNTS: OrderedDict[tuple, tuple[tuple[int, int], Any]] = OrderedDict()
_COUNTS_MAX = 64
_COUNTS_LOCK = threading.Lock()


def _cached(wb: Workbench, key: tuple, compute: Callable[[], T]) -> T:
    key = (wb.store.path, *key)
    version = wb.store.version()  # read before computing: a commit meanwhile invalidates the result
    with _COUNTS_LOCK:
        hit = _COUNTS.get(key)
        if hit is not None and hit[0] == version:
            _COUNTS.move_to_end(key)
            return hit[1]
    value = compute()
    with _COUNTS_LOCK:
        _COUNTS[key] = (version, value)
        _COUNTS.move_to_end(key)
        while len(_COUNTS) > _COUNTS_MAX:
            _COUNTS.popitem(last=False)
    return value


# A search indexes at most this many pending annotations itself (a few ms), and only when no
# other writer holds the store: front ends call it from their UI thread, which must never wait.
INDEX_BEFORE_SEARCH = 200


def _index_current(wb: Workbench, f: InboxFilter) -> None:
    """A typed query may search ``inbox_fts``: annotations whose changes are pending (migration
    m020) are indexed first, so a search finds what is stored. More than INDEX_BEFORE_SEARCH (a
    large pull), or a store another writer holds: the upkeep indexes the rest
    within moments, and its commit repaints an open search as any change does."""
    if not f.text:
        return
    token = without_waiting.set(True)
    try:
        index_pending(wb, INDEX_BEFORE_SEARCH)
    except WriteWouldWait:
        pass
    finally:
        without_waiting.reset(token)


def index_pending(wb: Workbench, limit: int = repo.INDEX_BATCH) -> bool:
    """Index up to ``limit`` pending annotations (the oldest) in one write, when any wait (SQLite's
    stores only: PostgreSQL has no inbox index): whether more may wait."""
    if wb.store.dialect != "sqlite" or not repo.search_pending(wb.store.db):
        return False
    with wb.store.write() as db:
        return repo.index_pending(db, limit) == limit


def merge_search_step(wb: Workbench) -> bool:
    """One short step merging the search indexes' segments (storage/search_merge.py), in a write
    of its own, when an index has a merge to make (SQLite's stores only): whether one had."""
    return wb.store.dialect == "sqlite" and wb.store.merge_search_step()


def count(wb: Workbench, principal: Principal, f: InboxFilter) -> int:
    """How many rows the filter shows (kept until the store changes)."""
    _index_current(wb, f)

    def compute() -> int:
        with wb.store.read() as db:
            return repo.count(db, _query(principal, f, db, wb.clock()))

    return _cached(wb, ("count", principal.workspace_id, principal.user_id, f), compute)


def window(wb: Workbench, principal: Principal, f: InboxFilter, offset: int, limit: int) -> list[InboxRow]:
    """Rows ``[offset, offset + limit)`` of the filter, newest first."""
    _index_current(wb, f)
    with wb.store.read() as db:
        return repo.window(db, _query(principal, f, db, wb.clock()), offset, limit)


def page(wb: Workbench, principal: Principal, f: InboxFilter, cursor: str | None, limit: int) -> tuple[list[InboxRow], str | None]:
    """Up to ``limit`` rows of the filter after ``cursor`` (a previous page's; None: the first
    page), newest first, and the next page's cursor (None: this was the last).

    The cursor holds the last row's sort key, signed and bound to the filter as the API's are,
    so a row added or closed meanwhile never makes the next page repeat or skip one.
    """
    import json

    from workbench.domain.cursors import InvalidCursor, decode_cursor, encode_cursor

    secret = wb.secret
    scope = "inbox.page:" + json.dumps(f.to_dict(), sort_keys=True)
    after: tuple[int, str] | None = None
    if cursor is not None:
        key = decode_cursor(secret, scope, cursor)
        if len(key) != 2 or not isinstance(key[0], int) or not isinstance(key[1], str):
            raise InvalidCursor()
        after = (key[0], key[1])
    _index_current(wb, f)
    with wb.store.read() as db:
        q = _query(principal, f, db, wb.clock())
        start = repo.count_before(db, q, *after) if after is not None else 0
        # One extra row says whether a next page exists; one more covers the cursor's own row.
        rows = repo.window(db, q, start, limit + 2)
    if after is not None:
        rows = [r for r in rows if (r.created_at, r.id) < after]
    shown = rows[:limit]
    more = len(rows) > limit and bool(shown)
    return shown, encode_cursor(secret, scope, [shown[-1].created_at, shown[-1].id]) if more else None


def position(wb: Workbench, principal: Principal, f: InboxFilter, row: InboxRow) -> int:
    """The index ``row`` would have in the filter's list now (where to put the cursor back)."""
    _index_current(wb, f)
    with wb.store.read() as db:
        return repo.count_before(db, _query(principal, f, db, wb.clock()), row.created_at, row.id)


def _members(db: Any, principal: Principal, replica: bool) -> list[tuple[str, str]]:
    if replica:
        # The server judges assignees: offer its members, never the local user it does not know.
        return filters_repo.server_members(db, principal.workspace_id, principal.user_id or "")
    return [(u.id, u.name) for u, _ in accounts_repo.list_members(db, principal.workspace_id)]


def member_name(user_id: str, names: dict[str, str]) -> str:
    """How a member is named to a person (an assignee in the TUI and the CLI alike): the name in
    ``names`` (``member_names``), else ``unnamed_member``'s words, which say no name is known here."""
    return names.get(user_id) or unnamed_member(user_id)


def member_names(wb: Workbench, principal: Principal) -> dict[str, str]:
    """User id → name of the workspace's members as this store knows them (a replica: those it has seen)."""
    names = dict(_members(wb.store.db, principal, sync_remotes.is_replica(wb.store.db, principal.workspace_id)))
    if principal.user_id and principal.user_id not in names:
        user = accounts_repo.get_user(wb.store.db, principal.user_id)
        if user is not None:
            names[principal.user_id] = user.name
    return names


def facets(wb: Workbench, principal: Principal) -> Facets:
    db = wb.store.db
    order = {s: i for i, s in enumerate(SOURCES)}
    places = sorted(filters_repo.places(db, principal.workspace_id), key=lambda p: (order[p[2]], p[1].casefold(), p[0]))
    replica = sync_remotes.is_replica(db, principal.workspace_id)
    statuses = list(dict.fromkeys(s for src in SOURCES for s in SOURCE_STATUSES[src]))
    return Facets(places=places, members=_members(db, principal, replica), kinds=[k.value for k in Kind], statuses=statuses,
                  replica=replica)


def summary_counts(wb: Workbench, principal: Principal) -> dict[str, int]:
    """What a status bar shows: awaiting per source, plus each annotation status (kept until the store changes)."""

    def compute() -> dict[str, int]:
        out: dict[str, int] = {}
        with wb.store.read() as db:
            statuses = repo.annotation_status_counts(db, principal.workspace_id)
            for source in SOURCES:
                if source == "annotation":
                    # The same rows the status counts just read: add them up instead of counting again.
                    out["awaiting:annotation"] = sum(statuses.get(s, 0) for s in AWAITING_STATUSES["annotation"])
                else:
                    out[f"awaiting:{source}"] = repo.count(db, _query(principal, InboxFilter(sources=(source,))))
            for status, n in statuses.items():
                out[f"annotation:{status}"] = n
        return out

    return dict(_cached(wb, ("summary", principal.workspace_id, principal.user_id), compute))


# -- saved views ---------------------------------------------------------------------------
def list_views(wb: Workbench, principal: Principal) -> dict[str, InboxFilter]:
    views = filters_repo.load_views(wb.store.db, principal.workspace_id)
    out: dict[str, InboxFilter] = {}
    for name in sorted(views, key=str.casefold):
        try:
            out[name] = InboxFilter.from_dict(views[name])
        except TypeError:
            continue  # a view saved by a newer version with fields we do not know
    return out


def save_view(wb: Workbench, principal: Principal, name: str, f: InboxFilter) -> None:
    name = name.strip()
    if not name:
        raise Invalid("A view needs a name")
    if len(name) > 60:
        raise Invalid("View names are at most 60 characters")
    with wb.store.write() as db:
        views = filters_repo.load_views(db, principal.workspace_id)
        views[name] = f.to_dict()
        filters_repo.save_views(db, principal.workspace_id, views)


def delete_view(wb: Workbench, principal: Principal, name: str) -> None:
    with wb.store.write() as db:
        views = filters_repo.load_views(db, principal.workspace_id)
        if name not in views:
            raise NotFound(f"No view named '{name}'")
        del views[name]
        filters_repo.save_views(db, principal.workspace_id, views)


def test_session_feedback(wb: Workbench, principal: Principal, session_id: str) -> Any:
    """The tester's feedback on a test session of the caller's workspace (None when not given yet).

    A read the test-sessions service does not offer on its own; it scopes the session first.
    """
    from storage import test_sessions as ts_repo
    from workbench.services import test_sessions

    session = test_sessions.get(wb, principal, session_id)
    return ts_repo.get_feedback(wb.store.db, session.id)
