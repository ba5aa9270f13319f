"""Fixtures of the TUI tests: a demo store with a fixed clock and seeded ids, and the app over it."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.services.context import Workbench
from workbench.services.demo import load_demo
from workbench.services.local import local_user
from workbench.tui.app import WorkbenchApp
from workbench.tui.keys import Keymap

FIXED_MS = 1_790_000_000_000  # 2026-09-21T13:33:20Z
SIZE = (120, 36)


@pytest.fixture
def seeded_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """uuid7 ids (and minted tokens) draw on os.urandom: seed it so screens are identical run to run."""
    rng = random.Random(20260921)
    monkeypatch.setattr(os, "urandom", lambda n: rng.randbytes(n))


@pytest.fixture
def demo_wb(tmp_path: Path, seeded_ids: None) -> Iterator[Workbench]:
    wb = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: FIXED_MS)
    load_demo(wb)
    yield wb
    wb.store.close()


@pytest.fixture
def principal(demo_wb: Workbench):
    return local_user(demo_wb)


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


async def press(pilot, *keys: str) -> None:  # noqa: ANN001
    for key in keys:
        await pilot.press(key)
        await pilot.pause()


async def type_text(pilot, text: str) -> None:  # noqa: ANN001
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])
    await pilot.pause()


async def wait_for(pilot, predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
    """Pause until ``predicate()`` holds (workers, file watching) or fail after ``timeout``."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def screen_text(app: WorkbenchApp) -> str:
    """What the terminal shows now, as plain text."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None, record=True,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
