"""README's pictures can be made again: ``scripts/screenshots.py`` runs, one picture of each kind.

The script drives the TUI, the review page and the widget by their names on screen; a rename
there (the widget's pins say statuses in words since stop 38) broke it silently, and nobody learnt
until the pictures were next wanted. One TUI screen, the review page and the widget's four.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_the_screenshot_script_makes_a_tui_a_review_page_and_the_widget_pictures(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "scripts/screenshots.py", "--out", str(tmp_path), "--only", "inbox", "review-page", "widget"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert ">Inbox<" in (tmp_path / "inbox.svg").read_text()  # the screen's title, as drawn
    wanted = ["review-page.png", *(f"widget-{name}.png" for name in ("launcher", "picker", "form", "pins"))]
    if "PNG skipped" not in done.stdout:
        wanted.append("inbox.png")
    for name in wanted:
        with Image.open(tmp_path / name) as picture:
            assert picture.width >= 400 and picture.height >= 300, (name, picture.size)
    assert not (tmp_path / "review-page-phone.png").exists(), "--only makes only what it names"
