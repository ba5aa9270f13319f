"""Remotes of a store: where to sync, and the credentials each needs (kept in the system keyring).

A remote's name and URL live in the store (``sync_remotes``); its secrets never do. They go
to the system keyring under the service ``workbench:<data dir>:<name>`` (one entry per kind:
``token``, ``store_key``, ``jwt``). At sync time each secret is read from its environment
variable when that is set (``WORKBENCH_TOKEN``, ``WORKBENCH_STORE_KEY``, ``WORKBENCH_JWT``:
scripts and CI), else from the keyring. Where no keyring backend exists, adding a remote says
so and the environment variables are the way to supply them.

``keyring`` is imported where a secret is read or kept: loading it and its backends' entry points
took ~40 ms, which every CLI command paid at start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from storage import sync_state
from workbench.domain.clock import iso_ms
from workbench.domain.errors import Conflict, Invalid, NotFound
from workbench.domain.widget import is_web_url
from workbench.services.context import Workbench

# kind -> (environment variable, what it is for)
SECRETS: dict[str, tuple[str, str]] = {
    "token": ("WORKBENCH_TOKEN", "API token (gfat_…) for sites and annotations"),
    "store_key": ("WORKBENCH_STORE_KEY", "store API key for feedback sessions"),
    "jwt": ("WORKBENCH_JWT", "JWT for test sessions"),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_NAME = 64  # characters of a remote's name, as _NAME allows
MAX_URL = 500  # characters of its URL, as a base URL (domain.widget.parse_base_url)


@dataclass(slots=True)
class RemoteInfo:
    name: str
    url: str
    workspace_id: str | None
    last_sync_at: int | None
    last_error: str | None
    credentials: dict[str, str] = field(default_factory=dict)  # kind -> "env" | "keyring" | "missing"

    def to_public(self) -> dict[str, object]:
        return {
            "name": self.name, "url": self.url, "workspace_id": self.workspace_id, "last_sync_at": iso_ms(self.last_sync_at),
            "last_error": self.last_error, "credentials": dict(self.credentials),
        }


@dataclass(slots=True)
class SavedSecrets:
    stored: list[str]  # kinds written to the keyring
    keyring_error: str | None  # why nothing could be written (no backend), if so


def service_name(wb: Workbench, name: str) -> str:
    return f"workbench:{wb.store.data_dir}:{name}"


def keyring_problem() -> str | None:
    """None when a usable keyring backend exists, else a sentence saying why not."""
    import keyring

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken backend configuration is "no keyring" to us
        return f"the keyring backend failed to load ({exc})"
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return "no system keyring backend is available"
    return None


def credential_advice(name: str, kind: str | None = None) -> str:
    """Where a remote's credential (``kind``, or every one) can come from, as advice to end a message.

    With no keyring ``remote login`` can keep nothing, so it is never suggested: only the
    environment variables, and ``workbench sync`` in a terminal (which asks on each run).
    """
    variables = [SECRETS[kind][0]] if kind is not None else [var for var, _ in SECRETS.values()]
    named = " or ".join(variables) if kind is not None else f"{variables[0]} (and {', '.join(variables[1:])})"
    problem = keyring_problem()
    if problem is None:
        login = f"`workbench remote login {name}" + (f" --only {kind}`" if kind is not None else "`")
        return f"run {login} or set {named}"
    return f"set {named} for each run, or run `workbench sync` in a terminal, which asks each time ({problem}, so nothing can be kept)"


def _check(name: str, url: str | None = None) -> None:
    if not _NAME.match(name):
        raise Invalid("Remote names are 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    # The one URL check (a host, a port that parses, no whitespace): urlsplit alone raised on
    # "http://[::1" and passed a port past 65535, to fail at every sync as "cannot reach".
    if url is not None and not is_web_url(url):
        raise Invalid("The remote URL must be an http:// or https:// URL, like http://localhost:11001")
    # A server's API root, as snippet's --base is: a 20 KB URL was stored and listed, and its host
    # (one 20,000-letter label) only failed at each sync as a server that could not be reached.
    if url is not None and len(url) > MAX_URL:
        raise Invalid(f"The remote URL must be at most {MAX_URL} characters: the server's address, like http://localhost:11001")


def add(
    wb: Workbench, name: str, url: str, secrets: dict[str, str | None] | None = None, *, studies: list[str] | None = None
) -> SavedSecrets:
    """Add (or re-point) a remote and store the secrets given (empty ones are skipped).

    ``studies`` names study ids (jobIds) whose test sessions to sync when the remote cannot
    list its studies (the documented API has no such list; ``workbench serve`` has one).
    """
    _check(name, url)
    url = url.rstrip("/")
    with wb.store.write() as db:
        existing = sync_state.get_remote(db, name)
        if existing is not None and existing.url != url and existing.workspace_id is not None:
            raise Conflict(f"Remote {name!r} already syncs {existing.url}; remove it first to point it elsewhere")
        sync_state.add_remote(db, name, url, wb.clock())
        if studies:
            known = existing.study_ids if existing is not None else []
            sync_state.update_remote(db, name, study_ids=list(dict.fromkeys([*known, *studies])))
    return save_secrets(wb, name, secrets or {})


def save_secrets(wb: Workbench, name: str, secrets: Mapping[str, str | None]) -> SavedSecrets:
    import keyring
    import keyring.errors

    if get(wb, name) is None:
        raise _unknown(name)
    wanted = {k: v.strip() for k, v in secrets.items() if k in SECRETS and v and v.strip()}
    if not wanted:
        return SavedSecrets([], keyring_problem())
    problem = keyring_problem()
    if problem is not None:
        return SavedSecrets([], problem)
    stored = []
    try:
        for kind, value in wanted.items():
            keyring.set_password(service_name(wb, name), kind, value)
            stored.append(kind)
    except keyring.errors.KeyringError as exc:
        return SavedSecrets(stored, f"the keyring refused the secret ({exc})")
    return SavedSecrets(stored, None)


def load_secrets(wb: Workbench, name: str, env: dict[str, str] | None = None) -> tuple[dict[str, str | None], dict[str, str]]:
    """The secrets to sync with and where each came from ("env", "keyring" or "missing")."""
    import keyring
    import keyring.errors

    environ: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    usable = keyring_problem() is None
    for kind, (var, _) in SECRETS.items():
        value = (environ.get(var) or "").strip() or None
        source = "env" if value else "missing"
        if value is None and usable:
            try:
                value = keyring.get_password(service_name(wb, name), kind)
            except keyring.errors.KeyringError:
                value = None
            if value:
                source = "keyring"
        values[kind] = value
        sources[kind] = source
    return values, sources


def delete_secrets(wb: Workbench, name: str) -> None:
    import keyring
    import keyring.errors

    if keyring_problem() is not None:
        return
    for kind in SECRETS:
        try:
            keyring.delete_password(service_name(wb, name), kind)
        except keyring.errors.KeyringError:
            pass


def get(wb: Workbench, name: str) -> sync_state.Remote | None:
    return sync_state.get_remote(wb.store.db, name)


def list_remotes(wb: Workbench) -> list[RemoteInfo]:
    out = []
    for r in sync_state.list_remotes(wb.store.db):
        _, sources = load_secrets(wb, r.name)
        out.append(RemoteInfo(r.name, r.url, r.workspace_id, r.last_sync_at, r.last_error, sources))
    return out


def _unknown(name: str) -> NotFound:
    """No remote is named ``name``; a name past any remote's length is quoted by its start, so a
    20 KB argument is not said back whole."""
    shown = name if len(name) <= MAX_NAME else name[: MAX_NAME] + "…"
    return NotFound(f"No remote named {shown!r}")


def find(wb: Workbench, name: str | None) -> sync_state.Remote:
    """The named remote, or the only one when no name is given."""
    remotes = sync_state.list_remotes(wb.store.db)
    if name is None:
        if not remotes:
            raise NotFound("No remote yet; add one with `workbench remote add NAME URL`")
        if len(remotes) > 1:
            raise Invalid(f"Several remotes ({', '.join(r.name for r in remotes)}); name one with --remote")
        return remotes[0]
    for r in remotes:
        if r.name == name:
            return r
    raise _unknown(name)


def remove(wb: Workbench, name: str, *, force: bool = False) -> None:
    """Forget a remote (its replica's rows stay as local data). Unsent changes need ``force``."""
    remote = find(wb, name)
    with wb.store.write() as db:
        if remote.workspace_id is not None and not force:
            counts = sync_state.count_entries(db, remote.workspace_id)
            waiting = sum(counts.values())
            if waiting:
                raise Conflict(f"{waiting} change(s) for {name!r} are not synced yet; sync first or remove with --force")
        sync_state.remove_remote(db, name)
    delete_secrets(wb, name)
