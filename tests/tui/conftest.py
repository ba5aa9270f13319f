"""Fixtures of the TUI tests: the app over the demo store (tests/conftest.py: fixed clock, seeded ids).

The demo store is loaded once per test process and copied for each test: the copy has the same
bytes, and the seeded ids go on from where loading it left them, so a test sees what it would
over a store it had loaded itself."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import FIXED_MS
from workbench.services.context import Workbench
from workbench.tui.app import WorkbenchApp
from workbench.tui.keys import Keymap

if TYPE_CHECKING:
    from workbench.services.inbox import InboxRow

SIZE = (120, 36)


class DemoTemplate:
    """The demo store as loaded in this process, and the random bytes loading it drew."""

    data: Path | None = None
    draws: list[bytes]


@pytest.fixture(scope="session")
def demo_template() -> DemoTemplate:
    return DemoTemplate()


@pytest.fixture
def demo_wb(tmp_path: Path, seeded_ids: None, demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """tests/conftest.py's ``demo_wb``, copied from a store loaded once per process: creating the
    store and loading the demo cost 0.34 s of CPU, copying the file and opening it 6 ms."""
    from workbench.services.demo import load_demo

    seeded = os.urandom
    if demo_template.data is None:
        data = tmp_path_factory.mktemp("demo-template") / "data"
        draws: list[bytes] = []

        def recorded(n: int) -> bytes:
            draws.append(seeded(n))
            return draws[-1]

        os.urandom = recorded
        try:
            template = Workbench.open(str(data), mailer=None, clock=lambda: FIXED_MS)
            load_demo(template)
            template.store.close()
        finally:
            os.urandom = seeded
        demo_template.data, demo_template.draws = data, draws
    else:
        # The ids drawn after this must be those drawn after a load here: the same draws, in order,
        # from the same seed. Comparing them catches a seed or fixture order that differs.
        assert [seeded(len(b)) for b in demo_template.draws] == demo_template.draws, "the seeded ids did not start where the demo store's did"
    shutil.copytree(demo_template.data, tmp_path / "data")
    wb = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: FIXED_MS)
    yield wb
    wb.store.close()


def make_app(wb: Workbench, **kwargs) -> WorkbenchApp:
    """The app as users run it, minus the file watcher, the resumed analyses (a test turns them on)
    and the user's keys.toml."""
    kwargs.setdefault("watch", False)
    kwargs.setdefault("resume_jobs", False)
    kwargs.setdefault("keymap", Keymap())
    return WorkbenchApp(wb, **kwargs)


@pytest.fixture
def app(demo_wb: Workbench) -> WorkbenchApp:
    return make_app(demo_wb)


def errors(app: WorkbenchApp) -> list[str]:
    return [message for severity, message in app.notices if severity == "error"]


def told(app: WorkbenchApp) -> list[str]:
    return [message for _, message in app.notices]


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
        await writes_landed(pilot)


async def writes_landed(pilot) -> None:
    """Wait until the writes keys started (workbench/tui/writes.py) have run and their outcome is shown."""
    writes = getattr(pilot.app, "writes", None)
    if writes is not None and not writes.idle:
        await wait_for(pilot, lambda: writes.idle)
        await pilot.pause()


async def type_text(pilot, text: str) -> None:
    """Type ``text`` key by key: each key is sent, then Pilot waits for the app to go idle (40 ms
    at least, more where each key runs a check or a search). For what the keys themselves test:
    a check or a search as you type, a key that must not reach a hotkey. Other text: ``paste``."""
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])
    await pilot.pause()


async def paste(pilot, text: str) -> None:
    """Paste ``text`` as a terminal does: one event, to the focused widget (a key per character
    costs what ``type_text`` says)."""
    from textual import events

    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def wait_for(pilot, predicate, timeout: float = 30.0) -> None:
    """Pause until ``predicate()`` holds (workers, file watching) or fail after ``timeout``.

    The bound only decides how long a failing test takes: a condition that holds returns at once.
    It is generous because with xdist workers on fewer cores a thread worker can wait seconds for
    the CPU."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def told_that(app: WorkbenchApp, pilot, text: str) -> None:
    """Wait until a notice containing ``text`` has been shown."""
    await wait_for(pilot, lambda: any(text in m for m in told(app)))


async def cursor_on(app: WorkbenchApp, pilot, status: str) -> InboxRow:
    """Put the inbox cursor on an annotation whose status is ``status``; returns its row."""
    from tests.found import found
    from workbench.tui.widgets.virtual_list import VirtualList

    vlist = app.screen.query_one("#inbox-list", VirtualList)
    index = next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation" and found(vlist.row_at(i)).status == status)
    vlist.move_cursor(index)
    await pilot.pause()
    return found(vlist.row_at(index))


def screen_text(app: WorkbenchApp) -> str:
    """What the terminal shows now, as plain text."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None, record=True,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def resized(app: WorkbenchApp, pilot, width: int, laid_out: str, height: int = 24) -> list[str]:
    """The terminal resized to ``width``, once the widget ``laid_out`` (a selector) has taken the new
    width; returns the screen's lines."""
    await pilot.resize_terminal(width, height)
    await wait_for(pilot, lambda: width - 10 < app.screen.query_one(laid_out).content_size.width <= width)
    await pilot.pause()
    return screen_text(app).splitlines()
