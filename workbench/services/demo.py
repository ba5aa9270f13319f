"""Extension: fill a store with realistic, deterministic demo data (sites, annotations, threads, evidence).

Everything is generated from a seeded RNG so screenshots and tests see the same store. Bulk
rows go in with one ``executemany`` per table inside one transaction.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from storage import accounts as accounts_repo
from storage import annotations as repo
from storage import inbox as inbox_repo
from storage import sites as sites_repo
from workbench.domain.annotations import AutoFixDefault, Kind, StakeholderCreate, Status
from workbench.domain.clock import new_id
from workbench.domain.records import Annotation, Reply, Resolution, Site
from workbench.domain.roles import Role
from workbench.services import sites
from workbench.services.bootstrap import ensure_workspace, owner_principal
from workbench.services.context import Workbench
from workbench.services.demo_sessions import load_demo_sessions

PAGES = [
    "/",
    "/products",
    "/products/trail-runner-2",
    "/cart",
    "/checkout",
    "/checkout/payment",
    "/account",
    "/search?q=boots",
    "/blog/spring-drop",
    "/help/returns",
]
SELECTORS = [
    "header nav > a.cta",
    "main h1.hero-title",
    "#add-to-cart",
    "form#checkout button[type=submit]",
    ".price--sale",
    "footer .newsletter input",
    "img.product-gallery__main",
    ".cart-summary .total",
    "#search-input",
    "a.skip-link",
]
BODIES: dict[str, list[str]] = {
    "bug": [
        "The Add to cart button does nothing on the second click.",
        "Checkout crashes when I apply the SPRING10 coupon.",
        "Prices show NaN in the cart summary after removing an item.",
        "The search box loses focus after every keystroke.",
        "Payment step spins forever when the card is declined.",
    ],
    "design": [
        "The hero heading is too small next to the product image.",
        "Spacing between the price and the button feels cramped.",
        "The sale badge clashes with the brand orange.",
        "Make the hero heading larger and bold.",
        "Cards in the grid have uneven heights on tablet.",
    ],
    "copy": [
        "Typo: 'recieve' in the shipping banner.",
        "The returns page says 14 days but the FAQ says 30.",
        "'Proceed' is vague; say 'Continue to payment'.",
        "The newsletter promise sounds spammy.",
        "Error message 'Oops!' does not say what went wrong.",
    ],
    "accessibility": [
        "The grey placeholder text has very low contrast on white.",
        "The skip link is never visible when focused.",
        "Product images have no alt text.",
        "Focus ring disappears on the checkout button.",
        "The size picker cannot be used with a keyboard.",
    ],
    "performance": [
        "The product gallery takes 6 seconds to show on 3G.",
        "Scrolling the blog stutters because of the parallax header.",
        "The cart page loads three fonts nobody sees.",
        "Search suggestions lag about a second behind typing.",
    ],
    "question": [
        "Can we show delivery estimates before checkout?",
        "Should the wishlist be visible to logged-out users?",
        "Is free shipping over 50 or over 75?",
        "Can guests track their orders?",
    ],
    "idea": [
        "Let customers save their size per brand.",
        "Add a sticky Add to cart bar on mobile.",
        "Show recently viewed items on the 404 page.",
        "Offer Apple Pay on the product page.",
    ],
    "praise": ["The new filter drawer is lovely.", "Checkout feels much faster than before.", "Great product photography on the new arrivals."],
}
REPLIES = [
    "Reproduced on Chrome and Safari.",
    "Filed as SHOP-{n}.",
    "Design is looking at options this week.",
    "Fixed on staging, please confirm.",
    "This is intended behaviour for now; revisit next quarter.",
    "Thanks! Passing this on to the team.",
    "Can you share which device you used?",
]
NAMES = ["Priya", "Jonas", "Mei", "Carlos", "Amara", "Luca", "Sofia", "Tom"]
STYLES = [
    {"color": "#9a9a9a", "background-color": "#ffffff", "font-size": "12px"},
    {"font-size": "28px", "font-weight": "400"},
    {"outline": "none"},
    None,
    None,
]


def load_demo(wb: Workbench, *, annotations: int = 320, seed: int = 7) -> dict[str, Any]:
    """Fill the bootstrap workspace with demo data, once. Returns what was added (or nothing)."""
    ws_id, owner_id, first_site = ensure_workspace(wb)
    # All of it in one transaction, the "demo_loaded" mark included: a process killed part way
    # (the TUI's first start fills an empty store this way) left the demo's sites without their
    # annotations, which the next run created again, or annotations without the sessions, which
    # no run would add once "demo data already present".
    with wb.store.write():
        return _load(wb, ws_id, owner_id, first_site, annotations, seed)


def _load(wb: Workbench, ws_id: str, owner_id: str, first_site: Site, annotations: int, seed: int) -> dict[str, Any]:
    db = wb.store.db
    if accounts_repo.meta_get(db, "demo_loaded") is not None:
        return {"loaded": False, "reason": "demo data already present"}
    rng = random.Random(seed)
    principal = owner_principal(ws_id, owner_id)
    site_list: list[Site] = [first_site]
    for after, (name, url) in enumerate((("Acme docs", "https://docs.acme.example"), ("Acme marketing", "https://www.acme.example")), 1):
        site = sites.create_site(wb, principal, name, url)
        if site.created_at < first_site.created_at + after:
            # Made in the storefront's millisecond, the three sites listed in the order of their ids'
            # random bits, and "the first site" (the CLI's, stdio MCP's default) was any of them: most
            # often one without an auto-fix annotation, so README's `annotations list --auto-fix` listed nothing.
            # Its updated_at moves with it: left behind, the site read as changed before it was made.
            moved = first_site.created_at + after
            site = replace(site, created_at=moved, updated_at=max(site.updated_at, moved))
            sites_repo.update_site(db, site.id, created_at=site.created_at, updated_at=site.updated_at)
        site_list.append(site)
    stakeholders = [
        sites.create_stakeholder(
            wb,
            principal,
            first_site.id,
            StakeholderCreate(name="Dana (Head of Product)", email="dana@acme.example", auto_fix_default=AutoFixDefault.OPTIONAL_ON.value),
        ),
        sites.create_stakeholder(
            wb, principal, first_site.id, StakeholderCreate(name="Eli (Brand)", email="eli@acme.example", auto_fix_default=AutoFixDefault.OPTIONAL_OFF.value)
        ),
        sites.create_stakeholder(wb, principal, site_list[1].id, StakeholderCreate(name="Fran (Support)", auto_fix_default=AutoFixDefault.NEVER.value)),
    ]
    members = [u.id for u, _ in accounts_repo.list_members(db, ws_id)]
    now = wb.clock()
    anns, replies, resolutions = build(rng, ws_id, site_list, stakeholders, members, annotations, now, repliers=repliers(wb, ws_id))
    with wb.store.write() as db:
        repo.add_annotations(db, anns)
        site_of = {a.id: a.site_id for a in anns}
        db.executemany(
            "INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_id, author_name, body, persona_id, created_at, site_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(r.id, r.annotation_id, r.workspace_id, r.author_kind, r.author_id, r.author_name, r.body, r.persona_id, r.created_at,
              site_of[r.annotation_id]) for r in replies],
        )
        for res in resolutions:
            repo.add_resolution(db, res)
        accounts_repo.meta_set(db, "demo_loaded", str(now))
        if wb.store.dialect == "sqlite":
            # The threads just written, indexed for the inbox's search in this transaction (SQLite's
            # only: PostgreSQL has no inbox index), leaving the upkeep nothing to do.
            inbox_repo.index_pending(db)
            repo.index_text_pending(db)
        wb.audit(db, principal, "demo.load", "workspace", ws_id, {"annotations": len(anns)}, at=now)
    sessions = load_demo_sessions(wb, principal)  # feedback rounds with comments, studies with test sessions
    return {"loaded": True, "sites": len(site_list), "annotations": len(anns), "replies": len(replies), "resolutions": len(resolutions), **sessions}


def repliers(wb: Workbench, ws_id: str) -> list[tuple[str, str]]:
    """(user id, name) of who writes the demo's threads: the people who triage, the OWNER first, then the MEMBERs."""
    people = sorted(accounts_repo.list_members(wb.store.db, ws_id), key=lambda m: -Role(m[1]).rank)
    return [(u.id, u.name) for u, role in people if Role(role).rank >= Role.MEMBER.rank]


def build(
    rng: random.Random, ws_id: str, site_list: list[Site], stakeholders: list, members: list[str], count: int, now: int,
    *, repliers: list[tuple[str, str]],
) -> tuple[list[Annotation], list[Reply], list[Resolution]]:
    """Generate ``count`` annotations spread over every status and kind, with threads and evidence.

    ``members`` (user ids) are the assignees; ``repliers`` (user id, name) write the threads,
    each reply under its own author's id and name.
    """
    statuses = list(Status)
    kinds = list(Kind)
    anns: list[Annotation] = []
    replies: list[Reply] = []
    resolutions: list[Resolution] = []
    for i in range(count):
        created = now - rng.randint(60_000, 45 * 24 * 3600 * 1000)
        site = site_list[i % len(site_list)] if i % 4 else site_list[0]
        kind = kinds[i % len(kinds)] if i < len(kinds) * 2 else rng.choice(kinds)
        status = statuses[i % len(statuses)] if i < len(statuses) * 2 else rng.choices(statuses, weights=[30, 12, 12, 10, 20, 8, 8])[0]
        sh = rng.choice([s for s in stakeholders if s.site_id == site.id] or [None]) if rng.random() < 0.3 else None
        auto_fix = bool(sh and sh.auto_fix_default != "never" and rng.random() < 0.6)
        body = rng.choice(BODIES[kind.value])
        summary = None
        if status is Status.RESOLVED:
            summary = rng.choice(["Shipped in v2.4", "Fixed in #" + str(1000 + i), "Copy updated"])
        elif status is Status.WONT_FIX:
            summary = "Working as intended"
        elif status is Status.DUPLICATE and anns:
            summary = f"duplicate of {anns[rng.randrange(len(anns))].id}"
        ann_id = new_id(created)
        anns.append(
            Annotation(
                id=ann_id, workspace_id=ws_id, site_id=site.id, page_url=site.url + rng.choice(PAGES), selector=rng.choice(SELECTORS),
                kind=kind.value, body=body, status=status.value, summary=summary,
                assignee_id=rng.choice(members) if status in (Status.TRIAGED, Status.IN_PROGRESS) else None,
                auto_fix=auto_fix, submitter_name=sh.name if sh else rng.choice([None, *NAMES]),
                submitter_email=sh.email if sh else None, stakeholder_token=sh.token if sh else None,
                screenshot_key=None, computed_styles=rng.choice(STYLES) if kind in (Kind.DESIGN, Kind.ACCESSIBILITY) else None,
                created_at=created, updated_at=created + rng.randint(0, 3_600_000), version=1,
            )
        )
        for j in range(rng.choice([0, 0, 1, 1, 2, 3])):
            # The id and the name were once drawn apart (a name with another user's id). This
            # draw is kept so every later value, and the TUI's snapshots of them, stay as they were.
            rng.choice(members)
            author_id, author_name = rng.choice(repliers)
            replies.append(
                Reply(
                    id=new_id(created + j + 1), annotation_id=ann_id, workspace_id=ws_id, author_kind="user", author_id=author_id,
                    author_name=author_name, body=rng.choice(REPLIES).format(n=2000 + i),
                    persona_id=None, created_at=created + (j + 1) * 600_000,
                )
            )
        if status is Status.RESOLVED and rng.random() < 0.5:
            resolutions.append(
                Resolution(
                    id=new_id(created + 10), annotation_id=ann_id, workspace_id=ws_id, before_key=None, after_key=None,
                    diff_url=f"https://github.com/acme/shop/pull/{400 + i}", explanation=f"Addressed: {body}",
                    created_by=members[0], created_at=created + 7_200_000, notification_status="replied", notified_at=created + 7_200_500,
                )
            )
    return anns, replies, resolutions


