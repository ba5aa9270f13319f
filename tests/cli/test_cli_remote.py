"""`workbench remote add|login` and `workbench sync` without credentials: advice that leads somewhere, with and without a keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail as no_keyring
from typer.testing import CliRunner

from tests.mcp.test_mcp_http import seed
from tests.sync.keyring_backend import MemoryKeyring
from workbench.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WORKBENCH_TOKEN", "WORKBENCH_STORE_KEY", "WORKBENCH_JWT"):
        monkeypatch.delenv(var, raising=False)


def with_keyring(backend: KeyringBackend) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def without_keyring() -> Iterator[None]:
    yield from with_keyring(no_keyring.Keyring())  # what keyring picks on a machine with no backend


@pytest.fixture
def memory_keyring() -> Iterator[None]:
    yield from with_keyring(MemoryKeyring())


def run(data: Path, *args: str, code: int = 0):
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def test_without_a_keyring_no_message_sends_the_user_to_remote_login(tmp_path: Path, without_keyring):
    """Issue 7: `remote login` can keep nothing there, so it exits 1, and every message names the variables instead."""
    data = tmp_path / "cli"
    seed(data)
    added = run(data, "remote", "add", "bad", "http://127.0.0.1:1", "--no-prompt")
    assert "remote login" not in added.stderr
    assert "No secrets given: set WORKBENCH_TOKEN (and WORKBENCH_STORE_KEY, WORKBENCH_JWT) for each run" in added.stderr
    login = run(data, "remote", "login", "bad", code=1)
    assert login.stderr.startswith("error: there is no keyring to keep secrets in: set WORKBENCH_TOKEN (and ")
    assert "remote login" not in login.stderr and login.stderr.count("\n") == 1
    only = run(data, "remote", "login", "bad", "--only", "store_key", code=1)
    assert "set WORKBENCH_STORE_KEY for each run" in only.stderr
    synced = run(data, "sync", "--first-sync=separate", code=1)
    assert synced.stderr.startswith("error: No credentials for 'bad': set WORKBENCH_TOKEN (and WORKBENCH_STORE_KEY, WORKBENCH_JWT)")
    assert "remote login" not in synced.stderr and "`workbench sync` in a terminal" in synced.stderr


def test_with_a_keyring_remote_login_is_the_advice_and_an_empty_login_fails(tmp_path: Path, memory_keyring):
    data = tmp_path / "cli"
    seed(data)
    added = run(data, "remote", "add", "origin", "http://127.0.0.1:1", "--no-prompt")
    assert "No secrets given: run `workbench remote login origin` or set WORKBENCH_TOKEN" in added.stderr
    synced = run(data, "sync", "--first-sync=separate", code=1)
    assert "run `workbench remote login origin` or set WORKBENCH_TOKEN" in synced.stderr
    run(data, "remote", "login", "origin", code=1)  # nothing typed (no terminal), nothing kept


def test_without_a_keyring_a_secret_given_is_warned_of_in_one_line(tmp_path: Path, without_keyring, monkeypatch):
    """Piped, rich wrapped the warning at 80 columns, a blank at each cut: a log or a grep for it
    read half a sentence. Each message is one line, as `sync`'s notes are."""
    data = tmp_path / "cli"
    seed(data)
    monkeypatch.setenv("WORKBENCH_TOKEN", "gfat_not_kept")
    added = run(data, "remote", "add", "origin", "http://127.0.0.1:1", "--no-prompt")
    warning = next(line for line in added.stderr.splitlines() if line.startswith("warning:"))
    assert warning.endswith("from the environment instead."), added.stderr
    assert "gfat_not_kept" not in added.stderr


def test_a_huge_url_or_name_is_refused_in_a_short_line(tmp_path: Path, without_keyring):
    """A 20 KB URL (one 20,000-letter host) was stored as a remote and failed only at each sync, as
    a server that could not be reached; a 20 KB --remote came back whole in its error line."""
    huge = "a" * 20_000
    added = run(tmp_path, "remote", "add", "big", f"http://{huge}.example", "--no-prompt", code=1)
    assert added.stderr == ("error: The remote URL must be at most 500 characters: the server's address, "
                            "like http://localhost:11001\n")
    assert run(tmp_path, "remote", "list", "--json").stdout.count('"name"') == 0
    for args in (("sync", "status", "--remote", huge), ("remote", "remove", huge)):
        said = run(tmp_path, *args, code=1).stderr
        assert said == f"error: No remote named '{'a' * 64}…'\n", said[:200]


def test_remote_and_sync_confirmations_are_on_stdout_their_notes_and_errors_on_stderr(tmp_path: Path, memory_keyring):
    """`remote add`, `remote remove` and the sync's summary said what they did on stderr, where the
    annotation verbs say it on stdout: `workbench sync > sync.log` kept nothing of the run, and a
    script could not tell the summary from the notes. The rule is README's: results and
    confirmations on stdout, progress, notes, hints and errors on stderr."""
    data = tmp_path / "cli"
    seed(data)
    added = run(data, "remote", "add", "origin", "http://127.0.0.1:1", "--no-prompt")
    assert added.stdout == "Remote origin → http://127.0.0.1:1\n" and added.stdout not in added.stderr
    assert "No secrets given" in added.stderr  # a note: how to give them
    result = runner.invoke(app, ["sync", "--first-sync=separate", "--data-dir", str(data)], env={"WORKBENCH_TOKEN": "x"})
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout.startswith("Stopped with origin: sent 0 · received 0") and result.stdout.count("\n") == 1
    assert result.stderr.startswith("error: cannot reach http://127.0.0.1:1") and "Stopped" not in result.stderr
    removed = run(data, "remote", "remove", "origin")
    assert (removed.stdout, removed.stderr) == ("Removed remote origin.\n", "")
    # An empty listing is the listing's result, as `sync conflicts`' "No conflicts." is: it was on stderr.
    none = run(data, "remote", "list")
    assert (none.stdout, none.stderr) == ("No remotes; add one with `workbench remote add NAME URL`.\n", "")
