"""A first sync's "send my local work up": what of a local workspace the documented API can create on a server.

Of what a local workspace holds, the documented API creates only custom personas
(``POST /api/personas``). Sites, and so their annotations, replies and triage, are made by
the dashboard and the widget; feedback rounds' comments come from reviewers; test sessions
belong to the server's studies. Those stay in the local workspace, which stays in view.

Each persona goes with an ``Idempotency-Key`` derived from its local id, so a resend after a
lost answer cannot make it twice; one the server already has (same slug) is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage import personas as personas_repo
from storage.db import Store
from sync import wire
from sync.client import RemoteClient, SyncError


@dataclass(slots=True)
class Sent:
    personas: int = 0
    already_there: int = 0
    refused: list[str] = field(default_factory=list)  # "name: the server's reason"


def send_custom_personas(store: Store, client: RemoteClient, local_ws: str, replica_ws: str) -> Sent:
    """Create ``local_ws``'s custom personas in the server's workspace; mirror each into ``replica_ws``."""
    out = Sent()
    there = {p.slug for p in personas_repo.list_personas(store.db, replica_ws)}
    for p in personas_repo.list_personas(store.db, local_ws):
        if p.is_default:
            continue
        if p.slug in there:
            out.already_there += 1
            continue
        body = {"name": p.name, "slug": p.slug, "category": p.category, "description": p.description, "focus": list(p.focus),
                "voice": p.voice}
        try:
            resp = client.request("POST", "/api/personas", json=body, headers={"Idempotency-Key": f"wb-first-sync-{p.id}"},
                                  safe_to_resend=True)
            created = resp.one(lambda d: wire.persona(d, replica_ws))
        except SyncError as exc:  # refused (a GUEST token), the server stopped answering, or not its answer: told, not fatal
            out.refused.append(f"{p.name}: {exc.reason}")
            continue
        with store.write() as db:
            if personas_repo.get_persona(db, replica_ws, created.id) is None:
                personas_repo.add_personas(db, [created])
        there.add(p.slug)
        out.personas += 1
    return out
