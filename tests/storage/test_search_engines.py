"""Annotation search finds the same annotations on SQLite (FTS5) and on PostgreSQL (tsvector).

One corpus, the demo data and hand-made edge cases (stems, prefixes, phrases, exclusions,
punctuation, short words, non-ASCII), is written to both engines with the same clock and
seed, and ids drawn from one seeded generator, so both stores hold the same rows under the
same ids. Every query then runs through ``workbench.services.annotations.search`` on each,
and the ids found must be equal. SQLite's answer for the hand-made rows is also checked
against what the query means, so two engines agreeing on nothing cannot pass.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator

import pytest

from storage import annotations as ann_repo
from tests.pg_cluster import Cluster
from tests.storage.records import T0, annotation, reply
from workbench.domain import clock
from workbench.domain.errors import Invalid
from workbench.domain.roles import Principal
from workbench.services import annotations as svc
from workbench.services.bootstrap import bootstrap, owner_principal
from workbench.services.context import Workbench
from workbench.services.demo import load_demo

NOW = T0 + 86_400_000

# id → (body, summary, replies): one trait each.
EDGES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "e-crash": ("Checkout crashes when the coupon is applied", None, ()),
    "e-crashing": ("Crashing again on Safari", None, ()),
    "e-checkbox": ("The checkbox for terms is hidden", None, ()),
    "e-phrase": ("The payment step spins forever on mobile", None, ()),
    "e-reversed": ("Step two of payment is slow", None, ()),
    "e-columns": ("Nothing happens after payment", "Step one fixed", ()),
    "e-reply": ("Discount field ignores codes", None, ("Reproduced with the SPRING10 voucher", "Also the coupon box")),
    "e-punct": ("Send e-mail to foo@bar.com from https://shop.example/cart?x=1 (v2.0.1) don't", None, ()),
    "e-snake": ("The snake_case_name leaks, C++ too; 10% off #hashtag", None, ()),
    "e-accents": ("Café crème at ZÜRICH is naïve", None, ()),
    "e-scripts": ("Привет мир and 日本語のテキスト with 🔥fire", None, ()),
    "e-sharp-s": ("Die Straße ist İstanbul", None, ()),
    "e-short": ("It is as it was: JS on iOS, say hey to us", None, ()),
    "e-stopwords": ("Sign up is not working, turn it off", None, ()),
    "e-numbers": ("404 error and error404s after 3.14 seconds", None, ()),
    "e-decomposed": ("Cafe\u0301 latte, a\u0308b n\u0303o", None, ()),
    "e-greek": ("Ο λόγος ΛΌΓΟΣ", None, ()),
    "e-tokens": ("1e5 0x1f 1,000 3rd 2nd 10px 1.5x -5 +7 __init__ foo__bar rock'n'roll o'clock", None, ()),
    "e-typography": ("it\u2019s the user\u2019s \u201cquoted\u201d word \u2014 dash\u2013range\u2026more", None, ()),
    "e-spaces": ("tab\tsep\nnew\u00a0nbsp\u2003em", None, ()),
    "e-markup": ("<b>bold</b> &amp; entity a/b/c path C:\\dir\\file.txt", None, ()),
    "e-mixed": ("abc\u0414\u0415\u0424 STRASSE \u01d6 \u0140 \u0133 \u0153uvre \u00c6sir", None, ()),
    "e-cjk": ("\u4e2d\u6587 \ud55c\uad6d\uc5b4 \u30c6\u30b9\u30c8", None, ()),
    "e-emoji": ("\U0001f44d\U0001f3fd ok \u2764\ufe0f love", None, ()),
    "e-inflections": ("sing singing sings sang y ys s", None, ()),
}

# (query, the hand-made ids SQLite's FTS5 finds for it): what each case is about.
CASES: list[tuple[str, set[str]]] = [
    ("crash", {"e-crash", "e-crashing"}),  # stems: "crashes", "Crashing"
    ("crashes", {"e-crash", "e-crashing"}),
    ("check*", {"e-crash", "e-checkbox"}),  # a prefix
    ("checking*", {"e-crash", "e-checkbox"}),  # a prefix is stemmed first ("check")
    ("chec*", {"e-crash", "e-checkbox"}),
    ('"payment step"', {"e-phrase"}),  # a phrase: in that order
    ('"step payment"', set()),
    ("payment step", {"e-phrase", "e-reversed", "e-columns"}),  # words: anywhere in body and summary
    ('"after payment"', {"e-columns"}),
    ('"payment step" OR "step one"', {"e-phrase", "e-columns"}),
    ('"payment nothing"', set()),
    ('"happens after payment step one"', set()),  # a phrase never runs from the body into the summary
    ("voucher", {"e-reply"}),  # a reply
    ("spring10", {"e-reply"}),
    ("coupon OR voucher", {"e-crash", "e-reply"}),
    ("coupon -voucher", {"e-crash", "e-reply"}),  # the reply "Also the coupon box" has no voucher
    ("payment -mobile", {"e-reversed", "e-columns"}),  # an exclusion
    ('payment -"payment step"', {"e-reversed", "e-columns"}),
    ("payment -nothing -two", {"e-phrase"}),
    ("step OR payment -coupon", {"e-phrase", "e-reversed", "e-columns"}),
    ("mail", {"e-punct"}),  # punctuation splits words as FTS5 does
    ("e-mail", {"e-punct"}),
    ('"e mail"', {"e-punct"}),
    ("foo@bar.com", {"e-punct"}),
    ("bar", {"e-punct", "e-tokens"}),  # "foo__bar"
    ("example", {"e-punct"}),
    ("cart", {"e-punct"}),
    ("x", {"e-punct"}),
    ("v2", {"e-punct"}),
    ("don't", {"e-punct"}),
    ("don", {"e-punct"}),
    ("t", {"e-punct"}),
    ("snake", {"e-snake"}),
    ("snake_case_name", {"e-snake"}),
    ("case", {"e-snake"}),
    ("c", {"e-snake", "e-markup"}),
    ("10", {"e-snake"}),
    ("hashtag", {"e-snake"}),
    ("cafe", {"e-accents", "e-decomposed"}),  # accents fold as FTS5's unicode61 folds them
    ("CAFÉ", {"e-accents", "e-decomposed"}),
    ("creme", {"e-accents"}),
    ("zurich", {"e-accents"}),
    ("naive", {"e-accents"}),
    ("привет", {"e-scripts"}),  # other scripts, case-folded
    ("ПРИВЕТ", {"e-scripts"}),
    ("日本語のテキスト", {"e-scripts"}),
    ("日本語", set()),  # one word: no segmentation in either engine
    ("fire", {"e-scripts"}),
    ("🔥", set()),
    ("straße", {"e-sharp-s"}),
    ("istanbul", {"e-sharp-s"}),
    ("is", {"e-crash", "e-checkbox", "e-reversed", "e-accents", "e-short", "e-stopwords"}),  # short words stay whole
    ("as", {"e-short"}),
    ("a", {"e-markup"}),  # "a/b/c"; not "as"
    ("i", set()),
    ("js", {"e-short"}),
    ("j", set()),
    ("ios", {"e-short"}),
    ("hey", {"e-short"}),
    ("us", {"e-short"}),
    ("as*", {"e-short"}),
    ("is*", {"e-crash", "e-checkbox", "e-reversed", "e-accents", "e-short", "e-stopwords", "e-sharp-s"}),  # "ist", "İstanbul"
    ("not", {"e-stopwords"}),  # no stop words: FTS5 indexes every word
    ("up", {"e-stopwords"}),
    ("off", {"e-snake", "e-stopwords"}),
    ("404", {"e-numbers"}),
    ("error404", {"e-numbers"}),  # "error404s" stems to it
    ("14", {"e-numbers"}),
    ("_", set()),  # no word: an empty phrase, which matches nothing
    ("_ OR voucher", {"e-reply"}),
    ("voucher -_", {"e-reply"}),
    ('"', set()),
    ("-", set()),
    ('"; DROP TABLE', set()),
    ("zzz", set()),
]


def _corpus(wb: Workbench) -> Principal:
    creds = bootstrap(wb)
    load_demo(wb)
    ws, site = creds["workspace_id"], creds["site_id"]
    with wb.store.write() as db:
        for n, (ann_id, (body, summary, replies)) in enumerate(EDGES.items()):
            row = annotation(ws, site, ann_id, body=body, summary=summary, created_at=T0 + n, updated_at=T0 + n)
            ann_repo.add_annotation(db, row)
            for k, text in enumerate(replies):
                ann_repo.add_reply(db, reply(row, f"{ann_id}-r{k}", body=text))
    return owner_principal(ws, creds["owner_user_id"])


class _SeededOs:
    """``os`` for workbench/domain/clock.py, whose ids take their random bits from ``urandom``."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def urandom(self, n: int) -> bytes:
        return self._rng.randbytes(n)


class Engine:
    """One engine's copy of the corpus: its store, and each annotation's contents by id."""

    def __init__(self, wb: Workbench) -> None:
        self.wb = wb
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(clock, "os", _SeededOs(14))
            self.principal = _corpus(wb)
        replies: dict[str, list[str]] = {}
        for ann_id, body in wb.store.db.execute("SELECT annotation_id, body FROM replies").fetchall():
            replies.setdefault(ann_id, []).append(body)
        self.contents = {
            ann_id: (body, summary or "", tuple(sorted(replies.get(ann_id, []))))
            for ann_id, body, summary in wb.store.db.execute("SELECT id, body, summary FROM annotations").fetchall()
        }

    def ids(self, query: str) -> list[str]:
        return svc.search(self.wb, self.principal, query)

    def answer(self, query: str) -> list[str] | str:
        """The ids found, or the refusal (``-5`` only excludes, ``C:`` reads as a qualifier)."""
        try:
            return self.ids(query)
        except Invalid as exc:
            return exc.message


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster) -> Iterator[tuple[Engine, Engine]]:
    root = tmp_path_factory.mktemp("search")
    lite = Workbench.open(str(root / "sqlite"), mailer=None, clock=lambda: NOW)
    with pg_cluster.database() as url:
        pg = Workbench.open(str(root / "pg"), database=url, mailer=None, clock=lambda: NOW)
        try:
            yield Engine(lite), Engine(pg)
        finally:
            pg.store.close()
            lite.store.close()


def _every_word(engine: Engine) -> list[str]:
    """Every word of the corpus, lower-case, and its first three letters as a prefix; the
    edge cases' words also as written, upper-case, and with the punctuation around them."""
    words: set[str] = set()
    for body, summary, replies in engine.contents.values():
        words.update(w.lower() for w in re.findall(r"\w+", " ".join([body, summary, *replies])))
    edges = " ".join(body for body, _s, _r in EDGES.values())
    words.update(w for w in edges.split() if w not in ("OR", "AND", "NOT"))
    words.update(w.upper() for w in re.findall(r"\w+", edges))
    return sorted(words) + sorted({w[:3] + "*" for w in words if len(w) > 3 and w[:3].isalnum()})


def test_the_corpus_is_the_same_on_both_engines(engines: tuple[Engine, Engine]) -> None:
    lite, pg = engines
    assert lite.contents == pg.contents
    assert len(lite.contents) > 300


@pytest.mark.parametrize(("query", "edges"), CASES, ids=[q for q, _ in CASES])
def test_edge_cases_find_the_same_annotations(engines: tuple[Engine, Engine], query: str, edges: set[str]) -> None:
    lite, pg = engines
    assert {i for i in lite.ids(query) if i.startswith("e-")} == edges
    assert pg.ids(query) == lite.ids(query)


def test_every_word_finds_the_same_annotations(engines: tuple[Engine, Engine]) -> None:
    lite, pg = engines
    queries = _every_word(lite)
    assert len(queries) > 500
    answers = {q: lite.answer(q) for q in queries}
    assert sum(isinstance(a, str) for a in answers.values()) < 10  # refusals are rare, and the same on both
    assert sum(len(a) > 0 for a in answers.values() if isinstance(a, list)) > 0.9 * len(queries)
    differ = {q: (a, pg.answer(q)) for q, a in answers.items() if pg.answer(q) != a}
    assert differ == {}


def test_phrases_exclusions_and_or_over_the_demo_data_find_the_same_annotations(engines: tuple[Engine, Engine]) -> None:
    """Each adjacent pair of words in 40 demo bodies as a phrase, one without the other, either, and a prefix with a word."""
    lite, pg = engines
    bodies = sorted({body for ann_id, (body, _s, _r) in lite.contents.items() if not ann_id.startswith("e-")})[:40]
    queries = {
        query
        for body in bodies
        for a, b in itertools.pairwise(re.findall(r"[A-Za-z]+", body))
        for query in (f'"{a} {b}"', f"{a} -{b}", f"{a} OR {b}", f"{a[:3]}* {b}")
    }
    assert len(queries) > 500
    answers = {q: lite.ids(q) for q in queries}
    assert sum(len(a) > 0 for a in answers.values()) > 0.5 * len(queries)
    differ = {q: (a, pg.ids(q)) for q, a in answers.items() if pg.ids(q) != a}
    assert differ == {}
