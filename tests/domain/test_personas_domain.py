"""Persona rules: the 60 seeded defaults, request-model validation, slugs and the documented order."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from pydantic import ValidationError

from workbench.domain.errors import NotFound
from workbench.domain.personas import (
    CATEGORIES,
    DEFAULT_BY_SLUG,
    DEFAULT_PERSONAS,
    SLUG_PATTERN,
    PersonaCreate,
    PersonaSeed,
    PersonaUpdate,
    ResetDefaultsRequest,
    default_for_slug,
    persona_sort_key,
    slugify,
)


def test_exactly_sixty_defaults() -> None:
    assert len(DEFAULT_PERSONAS) == 60
    assert all(isinstance(p, PersonaSeed) for p in DEFAULT_PERSONAS)


def test_ten_categories_of_six() -> None:
    counts = Counter(p.category for p in DEFAULT_PERSONAS)
    assert len(counts) == 10
    assert set(counts.values()) == {6}
    assert set(counts) == set(CATEGORIES)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,49}", c) for c in counts)


def test_slugs_and_names_unique_and_well_formed() -> None:
    slugs = [p.slug for p in DEFAULT_PERSONAS]
    assert len(set(slugs)) == 60
    assert len({p.name for p in DEFAULT_PERSONAS}) == 60
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", s) for s in slugs)
    assert set(DEFAULT_BY_SLUG) == set(slugs)
    assert DEFAULT_BY_SLUG["ada-screen-reader-user"].category == "accessibility"


def test_defaults_are_complete() -> None:
    for p in DEFAULT_PERSONAS:
        assert "," in p.name, p.slug  # "Human name, role"
        assert p.description.endswith("."), p.slug
        assert 4 <= len(p.focus) <= 8, p.slug
        assert all(k == k.lower() and k.strip() == k and k for k in p.focus), p.slug
        assert len(set(p.focus)) == len(p.focus), p.slug
        assert p.voice, p.slug
    # Distinct personas: no two share the same focus set.
    assert len({frozenset(p.focus) for p in DEFAULT_PERSONAS}) == 60


def test_seed_is_frozen() -> None:
    with pytest.raises(ValidationError):
        DEFAULT_PERSONAS[0].name = "changed"  # type: ignore[misc]


def test_default_for_slug() -> None:
    assert default_for_slug("clara-copy-editor").name == "Clara, copy editor"
    with pytest.raises(NotFound):
        default_for_slug("nobody")


def test_sort_key_orders_category_then_defaults_then_name() -> None:
    rows = [
        ("design", False, "zed custom"),
        ("accessibility", False, "Bob custom"),
        ("design", True, "Iris, visual designer"),
        ("accessibility", True, "lena, low-vision"),
        ("accessibility", True, "Ada, screen-reader user"),
        ("accessibility", False, "alice custom"),
        ("content", True, "Clara, copy editor"),
        ("design", False, "Aaron custom"),
    ]
    ordered = sorted(rows, key=lambda r: persona_sort_key(*r))
    assert ordered == [
        ("accessibility", True, "Ada, screen-reader user"),
        ("accessibility", True, "lena, low-vision"),
        ("accessibility", False, "alice custom"),
        ("accessibility", False, "Bob custom"),
        ("content", True, "Clara, copy editor"),
        ("design", True, "Iris, visual designer"),
        ("design", False, "Aaron custom"),
        ("design", False, "zed custom"),
    ]


def test_sort_key_breaks_case_ties_by_exact_name() -> None:
    keys = sorted(["ada", "Ada"], key=lambda n: persona_sort_key("x", False, n))
    assert keys == ["Ada", "ada"]


def test_defaults_sorted_stay_grouped_by_category() -> None:
    ordered = sorted(DEFAULT_PERSONAS, key=lambda p: persona_sort_key(p.category, True, p.name))
    assert [p.category for p in ordered] == sorted(p.category for p in DEFAULT_PERSONAS)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Ada, screen-reader user", "ada-screen-reader-user"),
        ("  Zoë   the Tester!! ", "zoe-the-tester"),
        ("A/B  experimenter", "a-b-experimenter"),
        ("!!!", "persona"),
        ("", "persona"),
        ("Dana’s pick", "danas-pick"),  # non-ASCII punctuation carries no identity
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_names_that_do_not_fold_to_ascii_get_distinct_slugs() -> None:
    names = ["😀😀", "😀", "Анна, редактор", "Анна, переводчик", "田中 さん", "Ünïcødé Ωmega", "Ünïcødé Ψmega"]
    slugs = [slugify(n) for n in names]
    assert len(set(slugs)) == len(names)
    assert all(re.fullmatch(SLUG_PATTERN, s) for s in slugs)
    assert slugs[2].startswith("persona-") and slugs[5].startswith("unicde-mega-")
    assert slugify("Анна, редактор") == slugs[2]  # stable: the same name, the same slug
    assert len(slugify("x" * 70 + "Ω")) <= 64


def test_slugify_caps_length() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= 64
    assert not slug.endswith("-")


def test_create_derives_slug_and_normalises_focus() -> None:
    created = PersonaCreate(name="Quinn, checkout skeptic", category="conversion",
                            focus=[" Checkout ", "cart", "checkout"])
    assert created.slug == "quinn-checkout-skeptic"
    assert created.focus == ["checkout", "cart"]
    assert created.description == "" and created.voice == ""
    assert PersonaCreate(name="X", category="design", slug="my-own").slug == "my-own"


def test_create_refuses_extra_field() -> None:
    with pytest.raises(ValidationError):
        PersonaCreate.model_validate({"name": "X", "category": "design", "is_default": True})


@pytest.mark.parametrize("category", ["Design", "-design", "design system", "", "a" * 51, "dé"])
def test_create_refuses_bad_category(category: str) -> None:
    with pytest.raises(ValidationError):
        PersonaCreate(name="X", category=category)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "category": "design"},
        {"name": "   ", "category": "design"},
        {"name": "x" * 101, "category": "design"},
        {"name": "X", "category": "design", "description": "d" * 1001},
        {"name": "X", "category": "design", "voice": "v" * 101},
        {"name": "X", "category": "design", "focus": ["k"] * 17},
        {"name": "X", "category": "design", "focus": ["k" * 41]},
        {"name": "X", "category": "design", "focus": [" "]},
        {"name": "X", "category": "design", "slug": "Bad Slug"},
    ],
)
def test_create_refuses_out_of_range(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PersonaCreate.model_validate(body)


def test_create_accepts_limits() -> None:
    ok = PersonaCreate.model_validate({"name": "x" * 100, "category": "a" * 50,
                                       "description": "d" * 1000, "voice": "v" * 100,
                                       "focus": [f"k{i}" for i in range(16)]})
    assert len(ok.focus) == 16


def test_update_needs_at_least_one_field() -> None:
    with pytest.raises(ValidationError):
        PersonaUpdate.model_validate({})


def test_update_refuses_null_and_extra() -> None:
    with pytest.raises(ValidationError):
        PersonaUpdate.model_validate({"name": None})
    with pytest.raises(ValidationError):
        PersonaUpdate.model_validate({"slug": "new-slug"})
    with pytest.raises(ValidationError):
        PersonaUpdate.model_validate({"category": "Not A Slug"})


def test_update_changes_only_sent_fields() -> None:
    update = PersonaUpdate.model_validate({"voice": "dry", "focus": ["A", "a", "b"]})
    assert update.changes() == {"focus": ["a", "b"], "voice": "dry"}


def test_reset_defaults_request() -> None:
    assert ResetDefaultsRequest().slug is None
    assert ResetDefaultsRequest.model_validate({"slug": "ada-screen-reader-user"}).slug == (
        "ada-screen-reader-user")
    with pytest.raises(ValidationError):
        ResetDefaultsRequest.model_validate({"slug": None, "all": True})
