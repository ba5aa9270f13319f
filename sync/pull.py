"""Pull of the annotation side of a remote: sites, personas, annotations and their threads.

Pull: sites, personas (every page of each: a list cut at its first page would look like
deletions), then per site the annotations (``since`` + cursor, one transaction
per run of pages already fetched, the cursor saved with it so an interrupted pull resumes), then the threads:
from the bundled server's extension ``GET /api/v1/sites/{id}/thread-changes`` when offered,
else from each moved annotation's documented detail. The next ``since`` is the server's clock
(its ``Date`` header) when the run started, minus a margin that covers writes which took
their timestamp before the run began but committed after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from storage import accounts as accounts_repo
from storage import annotations as ann_repo
from storage import sync_cursors as cursors
from storage import sync_mirror as mirror
from storage import sync_state as state
from storage import workspaces as workspaces_repo
from sync import wire
from sync.client import NotTheApi, OtherWorkspace, Refused, Response, SyncError
from sync.crash import crash_point
from sync.part import EnginePart
from sync.push import AnnotationPush
from workbench.domain.account_records import Workspace
from workbench.domain.clock import new_id
from workbench.domain.records import Reply, Resolution

PAGE_SIZE = 200
THREAD_PAGE_SIZE = 500
# Pages already fetched are applied together, up to this many per transaction: a commit per page
# was a tenth of an initial sync, and five pages of annotations hold the write lock ~50 ms.
BATCH_PAGES = 5
MARGIN_MS = 10_000
T = TypeVar("T")


class _RestartRun(Exception):
    pass


class AnnotationPull(EnginePart):
    """Pull of sites, personas, annotations (paged, resumable) and threads."""

    def _pull_annotation_side(self) -> None:
        self.progress("sites", 0, None)
        self._forget_sites_etag_if_touched()
        with self._the_apis_root():
            resp, etag = self._get_tree("etag:sites", "/api/v1/sites", {"annotations", "threads"}, params={"limit": PAGE_SIZE})
        if resp.status == 304 and self.remote.workspace_id is not None:
            # The bundled server's ETag covers every site's annotations and threads: nothing
            # moved since the last whole pull, so no per-site `since` request is needed. The
            # replica's name is still checked: it is the replica's, not the server's, to move.
            # The 304 vouches that the server's list is the one mirrored here: its length is the total.
            (known,) = self.store.db.execute("SELECT count(*) FROM sites WHERE workspace_id = ?", [self.ws]).fetchone()
            self.progress("sites", known, known)
            self._rename_unnamed_replica()
            self._pull_personas()
            return
        sites, content = self._whole_list("/api/v1/sites", resp, {"limit": PAGE_SIZE}, wire.listed_site)
        self.progress("sites", len(sites), len(sites))
        self._ensure_replica(sites)
        digest = hashlib.sha256(content).hexdigest()
        if digest != cursors.get_digest(self.store.db, self.name, "sites"):
            with self.store.write() as db:
                for s in sites:
                    mirror.upsert_site(db, wire.site(s, self.ws, secrets.token_hex(16)))
                cursors.set_digest(db, self.name, "sites", digest)
        self._pull_personas()
        if self._capability("thread_feed") is None and sites:
            probe = self.client.get(f"/api/v1/sites/{sites[0]['id']}/thread-changes", params={"limit": 1}, ok=(404, 405))
            self._set_capability("thread_feed", probe.status == 200)
        whole = True
        for s in sites:
            label = s.get("name") or s["id"]
            run_next = self._pull_annotations(s["id"], label)
            # A thread run whose cursor the server refused starts again from its `since`, once.
            if self._capability("thread_feed") and not self._pull_thread_feed(s["id"], label, run_next):
                whole = self._pull_thread_feed(s["id"], label, run_next) and whole
        if not self._capability("thread_feed"):
            self._pull_thread_details()
        if not whole:
            # Not saved: a 304 next time would skip the threads this run left unread.
            return
        self._tree_pulled("etag:sites", etag)
        if etag:
            with self.store.write() as db:
                cursors.set_digest(db, self.name, "etag:sites:local", str(ann_repo.changes(db, self.ws)))

    def _forget_sites_etag_if_touched(self) -> None:
        """A 304 on the sites list means the server did not move; the replica must not have
        either. Any local write to the mirrored annotations since the ETag was saved (a push's
        echo, taking theirs, discarding a refusal, an undo) moves the replica's own change
        counter, and the next pull is a whole `since` pull again."""
        if self.remote.workspace_id is None:
            return
        db = self.store.db
        saved = cursors.get_digest(db, self.name, "etag:sites:local")
        if cursors.get_digest(db, self.name, "etag:sites") and saved != str(ann_repo.changes(db, self.ws)):
            with self.store.write() as w:
                cursors.set_digest(w, self.name, "etag:sites", "")

    def _ensure_replica(self, sites: list[dict[str, Any]]) -> None:
        if self.remote.workspace_id is not None:
            self.check_workspace(sites)
            self._rename_unnamed_replica()
            return
        ws_id = next((s["workspace_id"] for s in sites if s.get("workspace_id")), None) or new_id(self.clock())
        server_name = self._server_workspace_name()
        now = self.clock()
        with self.store.write() as db:
            existing = accounts_repo.get_workspace(db, ws_id)
            if existing is not None and state.remote_of_workspace(db, ws_id) not in (None, self.name):
                raise SyncError(f"workspace {ws_id} is already the replica of another remote")
            if existing is None:
                accounts_repo.add_workspace(db, Workspace(id=ws_id, name=server_name or self.remote.url, created_at=now))
            accounts_repo.set_membership(db, ws_id, self.owner_user_id, "OWNER", now)
            state.update_remote(db, self.name, workspace_id=ws_id)
        self.remote.workspace_id = ws_id

    def check_workspace(self, sites: list[dict[str, Any]]) -> None:
        """Refuse sites of another workspace than the replica's (before any is written): the
        remote's URL now serves another team, or its token is another workspace's. A server whose
        sites do not name their workspace cannot be checked, and is trusted as before."""
        theirs = next((s["workspace_id"] for s in sites if s.get("workspace_id")), None)
        if theirs is None or theirs == self.remote.workspace_id:
            return
        raise OtherWorkspace(
            f"{self.name} ({self.remote.url}) now serves workspace {theirs}, but this replica mirrors workspace "
            f"{self.remote.workspace_id}: nothing was sent or received. Give the remote that workspace's token "
            f"(`workbench remote login {self.name}`), or keep this replica and add the other server under another name"
        )

    def confirm_workspace(self) -> None:
        """Before pushing: the first sites page's workspace is the replica's (one request, made only
        when there is something to push, so a sync with nothing new costs no more)."""
        with self._the_apis_root():
            resp = self.client.get("/api/v1/sites", params={"limit": 1})
        self.check_workspace([s for s in resp.items() if isinstance(s, dict)])

    @contextlib.contextmanager
    def _the_apis_root(self) -> Iterator[None]:
        """The sites list answering 404 means the remote's URL is not the API's root: every server of
        the annotations API lists a token's sites there. Said so, rather than as a refused read."""
        try:
            yield
        except Refused as exc:
            if exc.status != 404:
                raise
            raise NotTheApi(
                f"{self.remote.url}/api/v1/sites answered 404 ({exc.reason}): the remote's URL is not the root of an "
                "annotations API server. Give the server's own address, without /api/… (like http://localhost:11001): "
                f"`workbench remote remove {self.name}`, then `workbench remote add {self.name} URL`", 404,
            ) from None

    def _server_workspace_name(self) -> str | None:
        """The server's own name for the workspace (the bundled server's extension), asked once per
        replica; a server without it leaves the replica named after the remote's URL."""
        named = self.client.get("/api/v1/workspace", ok=(401, 403, 404, 405))
        name = named.data.get("name") if named.status == 200 and isinstance(named.data, dict) else None
        return str(name)[:200] if name else None

    def _rename_unnamed_replica(self) -> None:
        """A replica made before the server's name was asked for is "<remote> (<url>)": name it once."""
        ws = accounts_repo.get_workspace(self.store.db, self.ws)
        if ws is None or ws.name != f"{self.name} ({self.remote.url})":
            return
        name = self._server_workspace_name() or self.remote.url
        with self.store.write() as db:
            workspaces_repo.rename(db, self.ws, name)

    def _pull_personas(self) -> None:
        resp = self.client.get("/api/personas/mine", params={"limit": PAGE_SIZE}, ok=(403, 404))
        if resp.status != 200:
            return
        # Mirrored whole (a persona the list lacks is deleted here): every page, or none.
        ws = self.ws
        personas, content = self._whole_list("/api/personas/mine", resp, {"limit": PAGE_SIZE}, lambda p: wire.persona(p, ws))
        digest = hashlib.sha256(content).hexdigest()
        if digest == cursors.get_digest(self.store.db, self.name, "personas"):
            return  # unchanged since the last sync: nothing to write
        with self.store.write() as db:
            mirror.mirror_personas(db, self.ws, personas)
            cursors.set_digest(db, self.name, "personas", digest)

    def _whole_list(self, path: str, first: Response, params: dict[str, Any], read: Callable[[Any], T]) -> tuple[list[T], bytes]:
        """``read`` of every item of a documented list whose first page is ``first``, its ``next_cursor``
        followed to the last page (a server that does not page sends no cursor), and the pages' bodies,
        for a digest. Every page is read before the caller writes anything: a list mirrored whole
        with an item left out would delete that row here."""
        items = first.each(read)
        bodies = [first.content]
        cursor, seen = first.next_cursor(), set()
        while cursor:
            if cursor in seen:
                # A server paging in a loop would be followed for ever: not the API's list.
                raise NotTheApi(f"{self.remote.url}{path} answered a next_cursor it had answered before, not the API's list", 200)
            seen.add(cursor)
            resp = self.client.get(path, params={**params, "cursor": cursor})
            items += resp.each(read)
            bodies.append(resp.content)
            cursor = resp.next_cursor()
        return items, b"\n".join(bodies)

    def _pages(
        self, path: str, params: dict[str, Any], cursor: str | None, parse: Callable[[Response], Any],
    ) -> Iterator[list[tuple[Response, Any]]]:
        """Pages of a cursor listing, in runs: each run is the pages already fetched when the caller asks
        (one at least, at most ``BATCH_PAGES``), so the caller applies a run in one transaction. Once the
        first page names a next one, a helper thread fetches ahead while the caller applies what it has
        (a one-page listing starts no thread). A run ends at a page that is not a 200."""

        def fetch(cur: str | None) -> tuple[Response, Any]:
            p = dict(params)
            if cur:
                p["cursor"] = cur
            resp = self.client.get(path, params=p, ok=(400,))
            return resp, (cur, parse(resp) if resp.status == 200 else None)

        first = fetch(cursor)
        nxt = first[0].next_cursor() if first[0].status == 200 else None
        if not nxt:
            yield [first]
            return
        q: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=BATCH_PAGES)
        stop = threading.Event()

        def produce() -> None:
            cur = nxt
            try:
                while not stop.is_set():
                    resp, extra = fetch(cur)
                    q.put(("page", resp, extra))
                    if resp.status != 200:
                        return
                    cur = resp.next_cursor()
                    if not cur:
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                q.put(("error", exc, None))
            finally:
                q.put(("end", None, None))

        worker = threading.Thread(target=produce, name="sync-pages", daemon=True)
        worker.start()
        try:
            yield [first]
            ended: tuple[str, Any, Any] | None = None
            while ended is None:
                run: list[tuple[Response, Any]] = []
                item = q.get()
                while True:
                    kind, resp, extra = item
                    if kind != "page":
                        ended = item
                        break
                    run.append((resp, extra))
                    if resp.status != 200 or len(run) == BATCH_PAGES:
                        break
                    try:
                        item = q.get_nowait()
                    except queue.Empty:
                        break
                if run:
                    yield run
            if ended[0] == "error":
                raise ended[1]
        finally:
            stop.set()
            while worker.is_alive():
                with contextlib.suppress(queue.Empty):
                    q.get(timeout=0.05)

    def _pull_annotations(self, site_id: str, label: str) -> int:
        resource = f"annotations:{site_id}"
        try:
            return self._pull_annotation_run(site_id, label, resource, restart=False)
        except _RestartRun:
            return self._pull_annotation_run(site_id, label, resource, restart=True)

    def _pull_annotation_run(self, site_id: str, label: str, resource: str, *, restart: bool) -> int:
        st = cursors.get_pull(self.store.db, self.name, resource)
        if st.in_run:
            since, run_next, cursor = st.run_since, st.run_next, None if restart else st.run_cursor
        else:
            since, run_next, cursor = st.watermark, None, None
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if since is not None:
            params["since"] = since
        ws = self.ws
        fallback = not self._capability("thread_feed")
        received = 0
        self.progress(f"annotations · {label}", 0, None)

        def parse(resp: Response) -> list[Any]:
            return resp.each(lambda d: wire.annotation(d, ws))

        for run in self._pages(f"/api/v1/sites/{site_id}/annotations", params, cursor, parse):
            pages = [(resp, anns) for resp, (_, anns) in run if resp.status == 200]
            if pages:
                if run_next is None:
                    run_next = (pages[0][0].server_time_ms() or self.clock() - 60_000) - MARGIN_MS
                nxt = pages[-1][0].next_cursor()
                with self.store.write() as db:
                    # Each page applied on its own: a row edited during the pull can come in two pages.
                    applied = [mirror.apply_annotations(db, anns, at=self.clock(), audit_actor=f"sync:{self.name}") for _, anns in pages]
                    if fallback:
                        cursors.add_todo(db, self.name, "thread", [i for one in applied for i in one.thread_moved])
                    cursors.save_pull(db, self.name, resource, _run_state(st, since, run_next, nxt))
                for (_, anns), one in zip(pages, applied, strict=True):
                    received += len(anns)
                    echoes = sum(1 for i in one.unchanged_fields if i in self.ctx.pushed or i in self.ctx.received_here)
                    self.report.received += one.inserted + one.updated - echoes
                    self.report.conflicts += one.conflicts
                    self.progress(f"annotations · {label}", received, None)
                    crash_point("pull:after_page")
            refused, (used_cursor, _) = run[-1]
            if refused.status == 400:
                if used_cursor and not restart:
                    raise _RestartRun  # the server no longer accepts the saved cursor: redo this run
                raise Refused(str(refused.data.get("detail") if isinstance(refused.data, dict) else refused.content[:200]), 400)
        assert run_next is not None
        return run_next

    def _pull_thread_feed(self, site_id: str, label: str, annotations_next: int) -> bool:
        """One run of a site's thread changes; False when the server refused its cursor midway (the
        run is forgotten, so the next starts from its `since`)."""
        resource = f"threads:{site_id}"
        st = cursors.get_pull(self.store.db, self.name, resource)
        if st.in_run:
            since, run_next, cursor = st.run_since, st.run_next, st.run_cursor
        else:
            since, run_next, cursor = st.watermark, None, None
        params: dict[str, Any] = {"limit": THREAD_PAGE_SIZE}
        if since is not None:
            params["since"] = since
        ws = self.ws
        count = 0

        def parse(resp: Response) -> tuple[list[Any], list[Any]]:
            changes = resp.each(lambda i: wire.thread_change(i, ws))
            return [c for c in changes if isinstance(c, Reply)], [c for c in changes if isinstance(c, Resolution)]

        for run in self._pages(f"/api/v1/sites/{site_id}/thread-changes", params, cursor, parse):
            pages = [(resp, parsed) for resp, (_, parsed) in run if resp.status == 200]
            if pages:
                if run_next is None:
                    # Replies of annotations this sync has not seen yet are skipped, so never move
                    # past the annotations' own next `since`.
                    run_next = min((pages[0][0].server_time_ms() or self.clock() - 60_000) - MARGIN_MS, annotations_next)
                nxt = pages[-1][0].next_cursor()
                received = items = 0
                with self.store.write() as db:
                    for _, parsed in pages:
                        echoes, replies, resolutions = self.ctx.split_echoes(*parsed)
                        received += mirror.apply_replies(db, replies) + mirror.apply_resolutions(db, resolutions)
                        mirror.apply_replies(db, [r for r in echoes if isinstance(r, Reply)])
                        mirror.apply_resolutions(db, [r for r in echoes if isinstance(r, Resolution)])
                        items += len(replies) + len(resolutions)
                    cursors.save_pull(db, self.name, resource, _run_state(st, since, run_next, nxt))
                self.report.received += received
                count += items
                self.progress(f"threads · {label}", count, None)
            if run[-1][0].status == 400:
                # A stale cursor: forget the run, the next starts it again from `since`.
                with self.store.write() as db:
                    cursors.save_pull(db, self.name, resource, cursors.PullState(st.watermark, None, None, None, False))
                return False
        return True

    def _pull_thread_details(self) -> None:
        ids = cursors.todo(self.store.db, self.name, "thread")
        for i, ann_id in enumerate(ids):
            self.progress("threads", i, len(ids))
            resp = self.client.get(f"/api/v1/annotations/{ann_id}", ok=(404,))
            if resp.status == 200:
                self.report.received += AnnotationPush(self.ctx).apply_detail(resp)
            with self.store.write() as db:
                cursors.done_todo(db, self.name, "thread", ann_id)
        if ids:
            self.progress("threads", len(ids), len(ids))


def _run_state(st: cursors.PullState, since: int | None, run_next: int, nxt: str | None) -> cursors.PullState:
    """Where a run stands once a page is applied: in it, at the next cursor; past its last page, done,
    its next ``since`` the watermark."""
    if nxt:
        return cursors.PullState(st.watermark, since, run_next, nxt, True)
    return cursors.PullState(run_next, None, None, None, False)
