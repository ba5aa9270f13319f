"""Writing a form's text in the user's own editor (``ctrl+e``): ``$VISUAL``, else ``$EDITOR``.

The text goes to a private temporary file, the app suspends (the editor gets the terminal),
and what was saved comes back into the field. A missing variable, an editor that cannot be
started or that exits with an error is said plainly, and the field keeps what it had.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.domain.errors import Invalid

if TYPE_CHECKING:
    from textual.app import App

NOT_SET = "Set $EDITOR (or $VISUAL) to write here in your editor, e.g. `export EDITOR=nano`; the field is unchanged"


def editor_command(environ: dict[str, str] | None = None) -> list[str]:
    """The editor's command line from $VISUAL or $EDITOR (shell words: "code --wait" works)."""
    env = os.environ if environ is None else environ
    value = (env.get("VISUAL") or env.get("EDITOR") or "").strip()
    if not value:
        raise Invalid(NOT_SET)
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise Invalid(f"$EDITOR ({value}) is not a command line: {exc}") from None
    return words


def edit(app: App, text: str, *, suffix: str = ".md") -> str:
    """``text`` as the user left it in their editor. Raises ``Invalid`` (with why) when that failed."""
    command = editor_command()
    fd, name = tempfile.mkstemp(prefix="workbench-", suffix=suffix)  # 0600: replies may be private
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if app.is_headless:  # no terminal to hand over (tests, pipes): run it as it is
            code = _run(command, path)
        else:
            with app.suspend():
                code = _run(command, path)
        if code != 0:
            raise Invalid(f"The editor ({shlex.join(command)}) exited with status {code}; the field is unchanged")
        written = path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)
    return written.rstrip("\n")


def _run(command: list[str], path: Path) -> int:
    try:
        return subprocess.run([*command, str(path)], check=False).returncode
    except OSError as exc:  # not found, not executable
        raise Invalid(f"Could not start the editor {command[0]!r} ($EDITOR/$VISUAL): {exc.strerror or exc}") from None
