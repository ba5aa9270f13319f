"""The first sync of a store that already holds local work: what will happen, and the user's choice.

A remote's first sync brings the server's workspace down as a workspace of its own (the
replica). When the store already holds local work (triage, replies, sessions, demo data),
the front end explains that first (``plan(...).text``) and the user chooses:

- ``merge``: send up what the documented API can create from the local work (custom
  personas, ``sync.first_sync``) and open the server's workspace from now on;
- ``separate``: keep working in the local workspace; the replica is one switch away.

Either way nothing is deleted or hidden: the local workspace stays in the switcher with
everything the API cannot create on a server (annotations of sites only this store has,
their replies and triage, feedback rounds, test sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from storage import accounts as accounts_repo
from storage import sites as sites_repo
from storage import sync_state
from workbench.domain.errors import Invalid
from workbench.services import workspaces
from workbench.services.context import Workbench

if TYPE_CHECKING:
    from sync.client import RemoteClient
    from sync.engine import Report


class Choice(StrEnum):
    MERGE = "merge"
    SEPARATE = "separate"


@dataclass(slots=True)
class Plan:
    remote: str
    url: str
    local: list[workspaces.WorkspaceView]  # local workspaces holding anything

    @property
    def sendable_personas(self) -> int:
        return sum(w.custom_personas for w in self.local)

    @property
    def text(self) -> str:
        """What will happen, for a person, before anything happens."""
        held = "\n".join(f"  • {w.label}: {w.counts_text}" for w in self.local)
        return f"{self.intro}\n{held}\n{self.outcome}"

    @property
    def intro(self) -> str:
        """The line before the list of local workspaces (a front end lays that list out itself)."""
        return f"First sync with {self.remote} ({self.url}). This store already holds local work:"

    @property
    def outcome(self) -> str:
        """The lines after that list: what each choice does."""
        n = self.sendable_personas
        return (
            f"The server's workspace comes down as a workspace of its own, beside the local one. "
            f"Nothing here is deleted or hidden.\n"
            f"merge: send up what the server's API can create ({n} custom persona{'' if n == 1 else 's'}) and open the "
            f"server's workspace from now on. Annotations of sites only this store has, their replies and triage, feedback "
            f"sessions and test sessions cannot be created through the API: they stay in the local workspace.\n"
            f"separate: keep working in the local workspace; the server's workspace is one switch away."
        )

    def to_public(self) -> dict[str, object]:
        return {"remote": self.remote, "url": self.url, "local": [w.to_public() for w in self.local],
                "sendable": {"custom_personas": self.sendable_personas}, "explanation": self.text}


class ChoiceNeeded(Invalid):
    """A first sync over local work was started without saying what to do with that work."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(f"{plan.text}\nChoose merge or separate before this first sync.")
        self.plan = plan


def plan(wb: Workbench, remote: str) -> Plan | None:
    """What the first sync with ``remote`` will do, or None when there is nothing to decide
    (the remote synced before, or the store holds no local work)."""
    r = sync_state.get_remote(wb.store.db, remote)
    if r is None or r.workspace_id is not None:
        return None
    local = [
        w for w in workspaces.list_workspaces(wb)
        if w.remote is None and (w.annotations or w.replies or w.feedback_sessions or w.test_sessions or w.custom_personas)
    ]
    return Plan(r.name, r.url, local) if local else None


def parse(value: str | None) -> Choice | None:
    if value is None:
        return None
    try:
        return Choice(value.strip().lower())
    except ValueError:
        raise Invalid("The first-sync choice is merge or separate") from None


def settle(wb: Workbench, the_plan: Plan, choice: Choice, client: RemoteClient, report: Report) -> None:
    """Carry out ``choice`` once the run made the replica; says what happened in ``report.notes``."""
    from sync.first_sync import send_custom_personas

    remote = sync_state.get_remote(wb.store.db, the_plan.remote)
    if remote is None or remote.workspace_id is None:
        return  # the run stopped before the replica existed: the next first sync asks again
    replica = workspaces.get(wb, remote.workspace_id)
    kept = ", ".join(w.label for w in the_plan.local)
    if choice is Choice.SEPARATE:
        report.notes.append(
            f"kept {kept} as a separate local workspace; the server's workspace is {replica.label!r} (W in the TUI switches)"
        )
        return
    for w in the_plan.local:
        sent = send_custom_personas(wb.store, client, w.id, replica.id)
        if sent.personas or sent.already_there:
            report.notes.append(f"sent {sent.personas} custom persona(s) of {w.label} ({sent.already_there} already there)")
        for reason in sent.refused:
            report.notes.append(f"not sent: {reason}")
    with wb.store.write() as db:
        if sites_repo.list_sites(db, replica.id):  # the default workspace always has a site (``bootstrap``)
            accounts_repo.meta_set(db, "bootstrap_workspace", replica.id)
        accounts_repo.meta_set(db, workspaces.OPEN_KEY, replica.id)
    report.notes.append(
        f"this store now opens {replica.label}; {kept} keeps what the API cannot create on a server (W in the TUI switches)"
    )
