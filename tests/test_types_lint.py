"""Types and lint hold: ruff and pyright (basedpyright, in pyright's "standard" mode) report nothing, tests included.

Both read their configuration from pyproject.toml (``[tool.ruff]``, ``[tool.pyright]``), so the
same run from a shell (``.venv/bin/ruff check .``, ``.venv/bin/basedpyright``) says the same.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    assert exe, f"{name} is a test dependency: pip install -e '.[test]'"
    return exe


def test_ruff_reports_nothing():
    r = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format=concise", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_pyright_reports_nothing():
    # basedpyright ships its own Node.js (a PyPI wheel), so this runs offline; --pythonpath
    # points it at this interpreter's packages whatever the venv is called.
    r = subprocess.run([_tool("basedpyright"), "--pythonpath", sys.executable], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
