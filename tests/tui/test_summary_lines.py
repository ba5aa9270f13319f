"""The summary line under each list (``#statusbar``) names every count at 80 columns.

It is one line. At 80 columns the feedback sessions' line ended after "interrupted 1", the test
sessions' after "analyzed 6", and the inbox's with a selection after "cmt 18": the counts left
were cut with no mark, so "8 sessions" read as six. Each line now says the same in fewer words
where it must.
"""

from __future__ import annotations

import re

from tests.tui.conftest import press, screen_text, wait_for
from workbench.domain.statuses import FINISHED_STATUSES
from workbench.tui import format as fmt
from workbench.tui.screens.feedback import SessionSource
from workbench.tui.screens.test_sessions import StudySource


def summary_line(app) -> str:
    """The summary line as the terminal shows it."""
    bar = app.screen.query_one("#statusbar")
    return screen_text(app).splitlines()[bar.region.y].strip()


async def test_feedback_sessions_line_counts_every_session_at_80_columns(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "2")
        rows = app.screen.sessions.source_as(SessionSource).rows
        statuses = {r.session.status for r in rows}
        assert len(statuses) > 5  # the demo's: more than fit in full
        line = summary_line(app)
        counts = [int(n) for n in re.findall(r"\d+", line)]
        assert counts[0] == len(rows) and sum(counts[1:]) == len(rows), line
        for status in statuses - FINISHED_STATUSES:  # in flight: each by name
            assert fmt.status_label(status) in line, line


async def test_test_sessions_line_counts_every_status_at_80_columns(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "3")
        counts: dict[str, int] = {}
        for _, c in app.screen.studies.source_as(StudySource).rows:
            for k, v in c.items():
                counts[k] = counts.get(k, 0) + v
        line = summary_line(app)
        for status in ("active", "paused", "completed", "analyzed", "confirmed"):
            assert counts.get(status) and f"{status} {counts[status]}" in line, line


async def test_inbox_line_keeps_its_counts_with_a_selection_at_80_columns(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: not app.screen.counting and app.screen.counts)
        await press(pilot, "space")
        c = app.screen.counts
        line = summary_line(app)
        assert re.search(rf"\b1 (of {app.screen.list.total:,} )?selected", line), line
        assert f"{app.screen.list.total:,}" in line and f"new {c.get('annotation:new', 0):,}" in line, line
        assert f"{c.get('awaiting:comment', 0):,}" in line and f"tests {c.get('awaiting:test', 0):,}" in line, line


async def test_inbox_line_at_50_columns_keeps_whole_counts(app):
    """At 50×15, where the inbox stays usable, the line ended inside the open statuses ("… triaged 34 in")
    and never reached the comments and tests: the breakdown now gives way whole."""
    async with app.run_test(size=(50, 15)) as pilot:
        await wait_for(pilot, lambda: not app.screen.counting and app.screen.counts)
        await pilot.pause()
        c = app.screen.counts
        line = summary_line(app)
        assert line.startswith(f"{app.screen.list.total:,} shown"), line
        assert f"cmt {c.get('awaiting:comment', 0):,} tests {c.get('awaiting:test', 0):,}" in line, line
        assert not line.endswith(" in"), line
