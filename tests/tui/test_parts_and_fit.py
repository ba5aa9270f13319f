"""The two line layouts the TUI's heads and title bars use: ``Parts`` breaks only between parts, ``Fit``
shows the longest variant that fits. Rendered by rich at set widths, as a Static renders them."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.text import Text

from workbench.tui.widgets.fit import Fit
from workbench.tui.widgets.key_line import Parts

FACTS = ("user_demo106", "variant B", "started 33h ago", "ran 38m00s", "rated ★★★★★", "payout queued")
HEAD = Parts(Text(" confirmed   "), [Text(p) for p in FACTS], sep=" · ")


def rendered(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115 - closed with the console
    console.print(renderable)
    return [line.rstrip() for line in console.export_text().splitlines()]


@pytest.mark.parametrize("width", [200, 80, 60, 40, 30])
def test_parts_break_between_parts_never_inside_one(width):
    lines = rendered(HEAD, width)
    assert all(len(line) <= width for line in lines)
    for part in FACTS:
        assert sum(part in line for line in lines) == 1, (width, lines)
    assert len(lines) == (1 if width == 200 else len(lines))
    # The separator is dropped at a break: no line ends or starts with it.
    assert not any(line.endswith("·") or line.strip().startswith("·") for line in lines), lines


def test_parts_after_the_first_line_start_under_the_lead_unless_it_is_too_wide():
    lines = rendered(HEAD, 70)
    assert lines[0].startswith(" confirmed   user_demo106 · ") and len(lines) == 2
    assert lines[1].startswith(" " * 13) and lines[1].strip() == "rated ★★★★★ · payout queued"
    wide_lead = Parts(Text("x" * 30), [Text("one"), Text("two")], sep=" · ")
    assert rendered(wide_lead, 36) == ["x" * 30 + "one", "two"]


def test_a_part_wider_than_the_line_is_folded_by_rich_not_lost():
    lines = rendered(Parts(Text("> "), [Text("a" * 50)]), 20)
    assert "".join(lines).count("a") == 50 and all(len(line) <= 20 for line in lines)


def test_parts_str_is_one_line():
    assert str(HEAD) == " confirmed   user_demo106 · variant B · started 33h ago · ran 38m00s · rated ★★★★★ · payout queued"


@pytest.mark.parametrize(("width", "shown"), [(120, "long words a b"), (14, "long words a b"), (13, "short a b"), (8, "a b"), (2, "a b")])
def test_fit_shows_the_longest_variant_that_fits(width, shown):
    # Where none fits, the last is shown, folded by rich.
    assert " ".join(rendered(Fit("long words a b", "short a b", Text("a b")), width)) == shown


def test_fit_needs_a_variant():
    with pytest.raises(ValueError):
        Fit()
