"""Data flows one way: import-linter contracts hold, and no non-UI module loads Textual."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import workbench

ROOT = Path(__file__).resolve().parents[1]
UI_PREFIXES = ("workbench.tui", "workbench.cli", "workbench.__main__")


def test_import_linter_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency"
    r = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_non_ui_modules_do_not_load_textual():
    modules = [m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.") if not m.name.startswith(UI_PREFIXES)]
    modules += ["storage", "sync"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('textual' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
