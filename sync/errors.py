"""The failures of a sync run, apart from the HTTP client so that the op registry (imported by
every service that writes an outbox entry) does not load httpx with them."""

from __future__ import annotations


class SyncError(Exception):
    """Base of the sync client's failures; ``reason`` is safe to show a user, ``code`` is what a
    script branches on when a run stops on one (the CLI's ``--json`` error code)."""

    code = "refused"

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class AuthFailed(SyncError):
    """401: the credential is missing, wrong, revoked or expired. Stop and ask for a new one."""

    code = "unauthenticated"

    def __init__(self, reason: str, status: int | None = 401, credential: str = "token") -> None:
        super().__init__(reason, status)
        self.credential = credential


class WorkspaceDeleted(SyncError):
    """The server says the workspace the credential belongs to was deleted (a 401 to a token or a
    store key, a 403 to a session). Not ``AuthFailed``: another credential of the same workspace
    is refused alike, so asking for one only misleads; its OWNER restoring it is what helps."""

    code = "workspace_deleted"


class Refused(SyncError):
    """A 4xx refusal (not 401/412/429): the server said no, with a reason."""


class Unavailable(SyncError):
    """The remote could not be reached (or kept failing) after bounded retries."""

    code = "unreachable"


class Ambiguous(SyncError):
    """A write may or may not have been applied (no definite answer came back)."""

    code = "no_answer"


class OtherWorkspace(SyncError):
    """The server's sites belong to another workspace than the one the replica mirrors: the URL
    now serves another team (a server set up again), or the credentials are another workspace's.
    Nothing may be pushed there or pulled here: the two workspaces' data would mix."""

    code = "other_workspace"


class NotTheApi(SyncError):
    """The remote answered with something that is not the API's JSON (a web page, a proxy's
    notice): its URL is not a server of the annotations API. The run stops; nothing is refused."""

    code = "not_the_api"


class Stopped(Exception):
    """The front end quitting ended the request in flight (``sync.client.StoppableTransport``).

    Not a ``SyncError``: nothing failed, and no run may record it as the server's answer. What
    the request carried was not acknowledged, so it stays in the outbox with its Idempotency-Key."""
