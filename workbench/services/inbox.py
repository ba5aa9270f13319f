"""Use cases of the unified inbox: filters, one window of rows, counts and saved views.

The inbox is everything awaiting attention across the three sources: annotations in an open
status, open comments of active feedback sessions, and test sessions waiting for analysis
(``completed``) or confirmation (``analyzed``). A filter narrows it; ``status="all"`` widens it
to every row. Front ends page through it with ``count`` and ``window`` (offset/limit), which
stay fast at 100,000 annotations (see ``storage.inbox``).

Bulk actions over inbox rows are ``workbench.services.bulk``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

from storage import accounts as accounts_repo
from storage import inbox as repo
from storage.data_version import data_version
from workbench.domain.errors import Invalid, NotFound
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
    text: str = ""  # full-text search

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


def fts_expression(text: str) -> tuple[str | None, tuple[str, ...]]:
    """User text → (FTS5 prefix query, plain terms). Quoting every word keeps FTS syntax out."""
    terms = tuple(re.findall(r"\w+", text))
    if not terms:
        return None, ()
    return " ".join(f'"{t}"*' for t in terms), terms


def _query(principal: Principal, f: InboxFilter) -> repo.Query:
    sources = tuple(s for s in (f.sources or SOURCES) if s in SOURCES)
    statuses: dict[str, tuple[str, ...] | None]
    session_statuses: tuple[str, ...] | None = None
    if f.status == AWAITING:
        statuses = dict(AWAITING_STATUSES)
        session_statuses = tuple(sorted(s.value for s in ACTIVE_STATUSES))
    elif f.status == ALL:
        statuses = {s: None for s in SOURCES}
    else:
        statuses = {s: ((f.status,) if f.status in SOURCE_STATUSES[s] else ()) for s in SOURCES}
    assignee = f.assignee
    if assignee == "me":
        assignee = principal.user_id or ""
    elif assignee == "none":
        assignee = ""
    fts, terms = fts_expression(f.text)
    if f.text.strip() and fts is None:
        # Only punctuation: nothing can match, and an empty MATCH would be an FTS syntax error.
        statuses = {s: () for s in SOURCES}
    return repo.Query(
        workspace_id=principal.workspace_id,
        sources=sources,
        statuses=statuses,
        kind=f.kind,
        place_id=f.place,
        assignee=assignee,
        auto_fix=f.auto_fix,
        fts=fts,
        terms=terms,
        comment_session_statuses=session_statuses,
    )


T = TypeVar("T")
# Counts read every matching row; the TUI asks for them on each repaint and live refresh.
# They are kept until the store's data_version moves (any commit, from any process), so an
# unchanged store costs one PRAGMA per ask. Bounded: a few filters and views per session.
_COUNTS: OrderedDict[tuple, tuple[tuple[int, int], Any]] = OrderedDict()
_COUNTS_MAX = 64
_COUNTS_LOCK = threading.Lock()


def _cached(wb: Workbench, key: tuple, compute: Callable[[], T]) -> T:
    key = (wb.store.path, *key)
    version = data_version(wb.store.path)  # read before computing: a commit meanwhile invalidates the result
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


def count(wb: Workbench, principal: Principal, f: InboxFilter) -> int:
    """How many rows the filter shows (kept until the store changes)."""

    def compute() -> int:
        with wb.store.read() as db:
            return repo.count(db, _query(principal, f))

    return _cached(wb, ("count", principal.workspace_id, principal.user_id, f), compute)


def window(wb: Workbench, principal: Principal, f: InboxFilter, offset: int, limit: int) -> list[InboxRow]:
    """Rows ``[offset, offset + limit)`` of the filter, newest first."""
    with wb.store.read() as db:
        return repo.window(db, _query(principal, f), offset, limit)


def position(wb: Workbench, principal: Principal, f: InboxFilter, row: InboxRow) -> int:
    """The index ``row`` would have in the filter's list now (where to put the cursor back)."""
    with wb.store.read() as db:
        return repo.count_before(db, _query(principal, f), row.created_at, row.id)


def _members(db: Any, principal: Principal) -> list[tuple[str, str]]:
    from storage import sync_state

    if sync_state.is_replica(db, principal.workspace_id):
        # The server judges assignees: offer its members, never the local user it does not know.
        return repo.server_members(db, principal.workspace_id, principal.user_id or "")
    return [(u.id, u.name) for u, _ in accounts_repo.list_members(db, principal.workspace_id)]


def member_names(wb: Workbench, principal: Principal) -> dict[str, str]:
    """User id → name of the workspace's members as this store knows them (a replica: those it has seen)."""
    names = dict(_members(wb.store.db, principal))
    if principal.user_id and principal.user_id not in names:
        user = accounts_repo.get_user(wb.store.db, principal.user_id)
        if user is not None:
            names[principal.user_id] = user.name
    return names


def facets(wb: Workbench, principal: Principal) -> Facets:
    db = wb.store.db
    order = {s: i for i, s in enumerate(SOURCES)}
    places = sorted(repo.places(db, principal.workspace_id), key=lambda p: (order[p[2]], p[1].casefold(), p[0]))
    from storage import sync_state

    members = _members(db, principal)
    statuses = list(dict.fromkeys(s for src in SOURCES for s in SOURCE_STATUSES[src]))
    return Facets(places=places, members=members, kinds=[k.value for k in Kind], statuses=statuses,
                  replica=sync_state.is_replica(db, principal.workspace_id))


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
    views = repo.load_views(wb.store.db, principal.workspace_id)
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
        views = repo.load_views(db, principal.workspace_id)
        views[name] = f.to_dict()
        repo.save_views(db, principal.workspace_id, views)


def delete_view(wb: Workbench, principal: Principal, name: str) -> None:
    with wb.store.write() as db:
        views = repo.load_views(db, principal.workspace_id)
        if name not in views:
            raise NotFound(f"No view named '{name}'")
        del views[name]
        repo.save_views(db, principal.workspace_id, views)


def test_session_feedback(wb: Workbench, principal: Principal, session_id: str) -> Any:
    """The tester's feedback on a test session of the caller's workspace (None when not given yet).

    A read the test-sessions service does not offer on its own; it scopes the session first.
    """
    from storage import test_sessions as ts_repo
    from workbench.services import test_sessions

    session = test_sessions.get(wb, principal, session_id)
    return ts_repo.get_feedback(wb.store.db, session.id)
