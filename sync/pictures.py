"""Pull of pictures: the screenshots and before/after evidence of the annotations and resolutions a
pull brought, fetched from the bundled server's ``GET /uploads/{key}`` into this replica's uploads.

Which pictures: those the workspace's records name and no ``uploads`` row does (storage's
``pictures_not_held``, or ``pictures_not_held_since`` the last pass that left none behind), newest
record first, at most ``MOST_PICTURES_A_SYNC`` or ``MOST_PICTURE_BYTES_A_SYNC`` a run: the rest are
left for the next sync (the note says how many), and a pass that left some is not done. Each
fetched file gets its row, so the next sync asks for nothing again and ``admin sweep-uploads``
does not take it for an orphan. Each picture is read at most
``MAX_UPLOAD_BYTES`` (streamed, stopped at the cap) and judged as the server judges an upload
(an image of its content type that decodes) before it is kept; its bytes are written whole or
not at all (``Store.put_blob``: a temporary file, then a rename), then its row commits. A
killed sync leaves at most a file without a row, fetched again and replaced next time.

A picture the server refuses or no longer holds (or that is no image) is skipped: the records stand
without it, the run's note counts it, and its failure is kept (``sync_picture_failures``) so that it is
asked for again after 1, 2, 4, ... passes (``BACKOFF_MOST_PASSES``, at most a day), not at every sync;
one that comes clears its record. A pass that asked for none of them still left them behind. A server
out of reach (after the client's retries) ends the pictures, not the run, which pulled its records. A
server without the route (the documented API has none: a 405, or a 404 that is not the route's, which
the bundled server marks with ``code`` ``upload_not_found``, and an older one with its words) has no
pictures to give; the run says so once and goes on.
"""

from __future__ import annotations

from urllib.parse import quote

from storage import annotations as ann_repo
from storage import sync_cursors as cursors
from storage.blobs import write_blob
from storage.upload_sweep import PART
from sync.client import NotTheApi, Response, Unavailable
from sync.part import EnginePart
from workbench.domain.errors import UPLOAD_NOT_FOUND, Invalid, TooLarge
from workbench.domain.images import MAX_UPLOAD_BYTES, check_image
from workbench.domain.media_types import media_type

# The words of the route's own refusal of a key it serves nothing under, from a server older than its
# ``code`` (UPLOAD_NOT_FOUND): still taken, so a replica of such a server tells the two 404s apart too.
_NOT_A_PICTURE = "Upload not found"
# The records' change counter when a pass last found every picture held (sync_cursors' digest).
_DONE_AT = "pictures"
# Where that pass's records ended (storage's ``pictures_mark``): the next pass reads only what changed after it.
_MARK = "pictures-mark"
# More annotations changed than this since the last pass (a first sync, a long time away): read the whole workspace.
SCOPED_MOST = 10_000
# How many passes that looked for missing pictures this replica has made (sync_cursors' digest): the
# clock of the failures' backoff. It counts syncs, not time, as the cost to bound is each sync's requests.
_PASSES = "pictures-passes"
# A picture that failed n times in a row waits 2**(n-1) passes before it is asked for again (the next
# sync after one failure, then every 2nd, 4th, ...), at most this many, and never more than a day (a
# replica synced weekly would otherwise wait months for a picture the server has since got back).
BACKOFF_MOST_PASSES = 32
BACKOFF_MOST_MS = 24 * 3600 * 1000
# What one sync fetches at most: a first sync of a large workspace took the time and disk of all its
# pictures in one run. The rest, oldest records last, come with the next syncs (the note says how many).
MOST_PICTURES_A_SYNC = 500
MOST_PICTURE_BYTES_A_SYNC = 200 * 1024 * 1024


class PicturePull(EnginePart):
    """Fetch the pulled records' pictures this replica does not hold."""

    def pull_pictures(self) -> None:
        # Done only when the records moved since a pass that left nothing behind (the counter moves
        # with every pulled page, so a run killed before its pictures still looks again next time),
        # and then over what changed since that pass; the first pass reads the whole workspace.
        db = self.store.db
        moved = str(ann_repo.changes(db, self.ws))
        if cursors.get_digest(db, self.name, _DONE_AT) == moved:
            return
        # The change journal is SQLite's (a replica's); read before looking, so a write meanwhile is
        # looked at again next time.
        mark = ann_repo.pictures_mark(db) if self.store.dialect == "sqlite" else None
        failures, now = cursors.picture_failures(db, self.name), self.clock()
        wanted = self._since_last_pass(mark)
        if wanted is None:
            # The newest this run may fetch, and those waiting among them: the walk stops there.
            most = MOST_PICTURES_A_SYNC + len(failures)
            wanted = ann_repo.pictures_not_held(db, self.ws, most)
            missing = ann_repo.count_pictures_not_held(db, self.ws) if len(wanted) >= most else len(wanted)
        else:
            missing = len(wanted)
        if not wanted:
            self._done_at(moved, mark)
            return
        this_pass = int(cursors.get_digest(db, self.name, _PASSES) or 0) + 1
        with self.store.write() as w:
            cursors.set_digest(w, self.name, _PASSES, str(this_pass))
        # A picture that keeps failing (lost on the server, refused, no image) was asked for at every
        # sync, forever: it waits out its backoff, and is still missing (the pass is not done).
        due = [p for p in wanted if not _waiting(failures.get(p[0]), this_pass, now)]
        waiting = len(wanted) - len(due)
        asked = due[:MOST_PICTURES_A_SYNC]  # newest records first (storage's order)
        skipped = got_bytes = 0
        reached = len(asked)
        for i, (key, annotation_id, kind) in enumerate(asked):
            if got_bytes >= MOST_PICTURE_BYTES_A_SYNC:
                reached = i
                break
            self.progress("pictures", i, len(asked))
            try:
                self.store.upload_path(key)
            except ValueError:
                skipped += 1  # a key that would leave the uploads directory is never written
                continue
            if key.endswith(PART):
                skipped += 1  # the sweep's name for a half-written file: never a picture's
                continue
            try:
                resp = self.client.get(f"/uploads/{quote(key, safe='/')}", ok=(403, 404, 405), max_bytes=MAX_UPLOAD_BYTES)
            except Unavailable as exc:
                # The records are already here: pictures out of reach are for the next sync, not this one's failure.
                self.report.notes.append(f"pictures stopped after {self.report.pictures} of {len(asked)}: {exc.reason}; the next sync goes on")
                return
            if resp.status in (404, 405) and not self._the_routes_404(resp):
                self.report.notes.append(f"pictures are not available from this server (GET /uploads answered {resp.status})")
                return
            if resp.status != 200 or resp.over_limit or not self._keep(key, annotation_id, kind, resp.headers.get("content-type", ""), resp.content):
                skipped += 1
                with self.store.write() as w:
                    cursors.picture_failed(w, self.name, key, this_pass, self.clock())
                continue
            self.report.pictures += 1
            got_bytes += len(resp.content)
        self.progress("pictures", reached, reached)
        left = max(0, missing - waiting - reached)  # neither asked for nor waiting: for the next sync
        if not skipped and not waiting and not left:
            self._done_at(moved, mark)
            return
        if left:
            self.report.notes.append(
                f"{left} picture(s) left for the next sync (one sync fetches at most {MOST_PICTURES_A_SYNC} pictures "
                f"or {MOST_PICTURE_BYTES_A_SYNC // (1024 * 1024)} MB, newest records first)"
            )
        if skipped or waiting:
            later = f", {waiting} of them not asked for this time" if waiting else ""
            self.report.notes.append(
                f"{skipped + waiting} picture(s) could not be fetched (refused, missing or not an image on the server){later}; "
                "later syncs try again, less often the more one fails"
            )

    def _since_last_pass(self, mark: tuple[int, int] | None) -> list[tuple[str, str, str]] | None:
        """The pictures missing among the records changed since the last pass that left none behind
        (None: no such pass, or too much changed since: the whole workspace is read)."""
        saved = cursors.get_digest(self.store.db, self.name, _MARK)
        if mark is None or saved is None:
            return None
        position, rowid = (int(part) for part in saved.split(":"))
        return ann_repo.pictures_not_held_since(self.store.db, self.ws, (position, rowid), SCOPED_MOST)

    def _done_at(self, moved: str, mark: tuple[int, int] | None) -> None:
        with self.store.write() as db:
            cursors.set_digest(db, self.name, _DONE_AT, moved)
            if mark is not None:
                cursors.set_digest(db, self.name, _MARK, f"{mark[0]}:{mark[1]}")
            cursors.forget_picture_failures(db, self.name)  # none is missing: none waits

    @staticmethod
    def _the_routes_404(resp: Response) -> bool:
        """Whether a 404 is the route's own (no picture under this key), not a server without the route."""
        if resp.status != 404:
            return False
        try:
            data = resp.data
        except NotTheApi:  # a web page's 404: not the route's JSON
            return False
        return isinstance(data, dict) and (data.get("code") == UPLOAD_NOT_FOUND or data.get("detail") == _NOT_A_PICTURE)

    def _keep(self, key: str, annotation_id: str, kind: str, content_type: str, data: bytes) -> bool:
        """Store one fetched picture and its row; False (nothing written) when it is no image of its type."""
        ct = media_type(content_type)
        try:
            check_image(ct, data, "The picture")
        except (Invalid, TooLarge):
            return False
        digest = write_blob(self.store, key, data)
        with self.store.write() as db:
            if ann_repo.get_upload(db, key) is None:
                ann_repo.add_upload(
                    db, key=key, workspace_id=self.ws, annotation_id=annotation_id, kind=kind, content_type=ct,
                    size=len(data), sha256=digest, at=self.clock(),
                )
            cursors.picture_fetched(db, self.name, key)
        return True


def _waiting(failure: cursors.PictureFailure | None, this_pass: int, now: int) -> bool:
    """Whether a picture that failed before still waits out its backoff at ``this_pass``."""
    if failure is None:
        return False
    wait = min(1 << min(failure.attempts - 1, 16), BACKOFF_MOST_PASSES)
    # A count below the failure's: the digests were forgotten (a discarded session change forgets them
    # all), and the count began again; waiting for it to come back up could be 32 syncs: ask now.
    return 0 <= this_pass - failure.failed_pass < wait and now - failure.failed_at < BACKOFF_MOST_MS
