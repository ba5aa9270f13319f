"""Opening the data directory from the CLI and the TUI: an unusable store is one error line, an empty one stays empty.

Also what every command's help and `workbench demo` print. Unusable stores are real ones: a
`workbench.db` that is not SQLite, one that is a directory, and a read-only directory (a
read-only bind mount when the tests run as root, whom permission bits do not stop; else a
directory without write permission).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from tests.mcp.test_mcp_http import seed
from workbench.cli.main import app
from workbench.services.context import Workbench

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# Each reads or writes the store; none may show a traceback when it cannot be opened.
COMMANDS = [
    ["sites", "list"], ["annotations", "list"], ["annotation", "reply", "some-id", "hello"], ["undo"], ["demo"],
    ["workspaces"], ["sync", "status"], ["remote", "list"], ["personas", "list", "--json"], ["tui", "--no-demo"],
]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, stdin=subprocess.DEVNULL)


def refused_in_one_line(result: subprocess.CompletedProcess[str] | Result, data: Path, reason: str) -> None:
    code = result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code
    assert code == 2, (result.stdout, result.stderr)
    message = f"cannot open the store in {data.resolve()}: {reason}"
    if result.stderr.startswith("{"):  # the command was given --json
        assert json.loads(result.stderr) == {"error": {"code": "store_unusable", "message": message}}, result.stderr
    else:
        assert result.stderr == f"error: {message}\n", result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("make", "reason"), [
    (lambda db: db.write_text("garbage, not SQLite\n"), "workbench.db: not a workbench database (file is not a database)"),
    (lambda db: db.mkdir(), "workbench.db is a directory, not a database file"),
])
def test_a_store_that_cannot_be_opened_is_one_error_line(tmp_path: Path, make, reason: str):
    data = tmp_path / "broken"
    data.mkdir()
    make(data / "workbench.db")
    for command in COMMANDS:
        refused_in_one_line(runner.invoke(app, [*command, "--data-dir", str(data)]), data, reason)
    # The TUI, started the way people start it: before Typer loads, then through it.
    refused_in_one_line(cli("--data-dir", str(data)), data, reason)
    refused_in_one_line(cli(env={"WORKBENCH_DATA_DIR": str(data)}), data, reason)


def read_only(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``workbench ARGS --data-dir DATA`` with DATA read-only to it."""
    command = [sys.executable, "-m", "workbench", *args, "--data-dir", str(data)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if os.geteuid() != 0:
        data.chmod(0o555)
        try:
            return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120, env=env, stdin=subprocess.DEVNULL)
        finally:
            data.chmod(0o755)
    # Root writes through permission bits: a read-only bind mount in a private mount namespace stops it.
    d = shlex.quote(str(data))
    script = f"mount --bind {d} {d} && mount -o remount,ro,bind {d} {d} && exec {shlex.join(command)}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env,
                          stdin=subprocess.DEVNULL)


def test_a_read_only_data_directory_is_refused_before_anything_runs(tmp_path: Path):
    """Even reading writes beside the database (WAL's -shm): a read-only store is refused, new or full, with the reason."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    full = tmp_path / "full"
    seed(full)
    why = "the directory cannot be written (read-only file system)" if os.geteuid() == 0 else \
        "the directory cannot be written (permission denied)"
    for data in (fresh, full):
        for command in (["sites", "list"], ["annotations", "list", "--json"], ["demo"], []):
            refused_in_one_line(read_only(data, *command), data, why)
    assert not (fresh / "workbench.db").exists()


def test_an_empty_data_dir_variable_is_an_error_not_the_default_directory(tmp_path: Path):
    home = tmp_path / "home"
    env = {"WORKBENCH_DATA_DIR": "", "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    for args in ([], ["sites", "list"], ["demo"]):
        result = cli(*args, env=env)
        assert result.returncode == 2, result.stderr
        assert result.stderr == "error: WORKBENCH_DATA_DIR is set but empty: name a directory, or unset it for the default one\n"
    assert not home.exists()  # nothing was written to the default directory


def test_commands_on_an_empty_store_invent_no_workspace(tmp_path: Path):
    """Issue 9: a listing on a new store says there is nothing yet; it never creates a workspace and a site to list."""
    data = tmp_path / "empty"
    for command in (["sites", "list", "--json"], ["annotations", "list"], ["personas", "list"], ["undo", "--list"]):
        result = runner.invoke(app, [*command, "--data-dir", str(data)])
        assert result.exit_code == 1, (result.stdout, result.stderr)
        message = ("This store has no workspace yet: `workbench admin bootstrap`, `workbench demo` or the TUI makes one, "
                   "or `workbench sync` brings a remote's")
        if "--json" in command:
            assert json.loads(result.stderr)["error"]["message"] == message
        else:
            assert result.stderr == f"error: {message}\n"
    listed = runner.invoke(app, ["workspaces", "--json", "--data-dir", str(data)])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == {"items": [], "next_cursor": None}
    # QA: its text named only the TUI and bootstrap, where every other command names each way to get one.
    said = runner.invoke(app, ["workspaces", "--data-dir", str(data)])
    assert said.exit_code == 0 and said.stdout == f"{message}.\n", said.stdout


def test_demo_prints_its_result_on_stdout(tmp_path: Path):
    data = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--annotations", "5", "--data-dir", str(data)])
    assert first.exit_code == 0 and first.stdout.startswith("Loaded 5 annotations, "), (first.stdout, first.stderr)
    again = runner.invoke(app, ["demo", "--data-dir", str(data)])
    assert again.exit_code == 0 and again.stdout.startswith("Nothing to do: "), (again.stdout, again.stderr)


def every_command(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``group``, asked as Click asks (the root builds most of its
    sub-commands only when named: workbench.cli.main ``LAZY_GROUPS``)."""
    found = [path]
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if hasattr(command, "commands"):  # a group (Typer carries its own copy of Click's classes)
            found += every_command(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def command_at(group: Any, path: tuple[str, ...]) -> Any:
    """The command ``path`` names in ``group`` (the group itself for ``()``)."""
    command = group
    for name in path:
        command = command.get_command(None, name)
    return command


@pytest.mark.parametrize(("words", "typo", "meant"), [
    (["annotatons"], "annotatons", "'annotations', 'annotation'"),  # groups built only when named (cli/main.py LAZY_GROUPS)
    (["sevre"], "sevre", "'serve'"),  # a command of the root's own module
    (["remot", "list"], "remot", "'remote', 'redo', 'demo'"),  # both kinds
    (["annotation", "shw", "x"], "shw", "'show'"),  # inside a group
])
def test_a_misspelt_command_is_answered_with_the_names_it_may_mean(words: list[str], typo: str, meant: str):
    result = runner.invoke(app, words)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: No such command {typo!r}. Did you mean {meant}?"


def test_help_shows_no_type_on_flags_and_a_placeholder_on_repeatable_options():
    """Issue 16: `--json`, `--help` and the other flags take no value, and `--persona` takes a <slug>, not a <list[str]>."""
    commands = every_command(typer.main.get_group(app))
    assert ("sync", "conflicts") in commands and len(commands) > 25
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.stdout)
        assert "<bool>" not in result.stdout and "list[" not in result.stdout, (path, result.stdout)
    conflicts = runner.invoke(app, ["sync", "conflicts", "--help"], terminal_width=200).stdout
    assert "--keep-mine            <id>" in conflicts
    assert "<slug>" in runner.invoke(app, ["annotation", "personas", "--help"], terminal_width=200).stdout


def test_serve_on_a_port_already_taken_is_one_error_line_before_any_banner(tmp_path: Path):
    """QA: the banner promised "Docs: http://127.0.0.1:PORT/docs", then uvicorn logged its startup, an
    ERROR line and its shutdown, and exited 3. A port that cannot be listened on is a usage error."""
    import socket

    data = tmp_path / "data"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--data-dir", str(data), "--port", str(port))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert result.stdout == ""


def test_serve_refuses_a_log_level_uvicorn_has_not_before_any_banner(tmp_path: Path):
    """QA: `serve --log-level bogus` (or `INFO`, uvicorn's names being lower case) printed the
    banner, then died in uvicorn with a KeyError traceback and exit 1. It is a usage error naming
    the levels; a level in capitals is the same level."""
    result = cli("serve", "--data-dir", str(tmp_path / "data"), "--port", "0", "--log-level", "bogus")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "KeyError" not in result.stderr
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "Invalid value for '--log-level'" in said and "'critical', 'error', 'warning', 'info', 'debug', 'trace'" in said
    assert result.stdout == ""


def test_serve_refuses_a_public_url_that_is_no_base_url_before_any_banner(tmp_path: Path):
    """QA: `serve --public-url notaurl` served, and every link it handed out began with it: the
    feedbackUrl "notaurl/review/…", the preview "notaurl/preview/…". It is refused in one line,
    as `sites snippet --base` refuses the same value."""
    data = str(tmp_path / "data")
    for given, why in (("notaurl", "must be an http:// or https:// URL with a host"), ("https://x.example/?a=1", "takes no user, password, query or fragment")):
        result = cli("serve", "--data-dir", data, "--port", "0", "--public-url", given)
        assert result.returncode == 2, (given, result.stdout, result.stderr)
        assert result.stderr.startswith("error: --public-url: The base URL ") and why in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_serve_refuses_a_proxy_that_is_no_ip_or_network_before_any_banner(tmp_path: Path):
    """QA: uvicorn takes an entry of --forwarded-allow-ips that is no IP or network as a literal
    name no TCP peer has: a typo or a network with host bits served, the proxy silently untrusted,
    and every client behind it shared the proxy's per-IP bucket."""
    data = str(tmp_path / "data")
    for given, entry in (("127.0.0.l", "'127.0.0.l'"), ("::1, 10.0.0.1/24", "'10.0.0.1/24'"), ("proxy.internal", "'proxy.internal'")):
        result = cli("serve", "--data-dir", data, "--port", "0", "--forwarded-allow-ips", given)
        assert result.returncode == 2, (given, result.stdout, result.stderr)
        assert result.stderr.startswith(f"error: --forwarded-allow-ips: {entry} is not an IP address or network, like 127.0.0.1 or 10.0.0.0/8 (")
        assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_help_shows_the_defaults_it_names():
    """QA: an option's "[default: the first site]" (--site, --remote, --data-dir, --persona, serve's
    --public-url…) was read as Rich markup and dropped from --help: none of the seven showed."""
    import re

    group = typer.main.get_group(app)
    named = 0
    for path in every_command(group):
        command = command_at(group, path)
        shown = " ".join(runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300"}).stdout.split())
        for param in command.params:
            said = re.findall(r"\[default: [^\]]+\]", getattr(param, "help", None) or "")
            if isinstance(words := getattr(param, "show_default", None), str):
                said.append(f"[default: ({words})]")  # Click's brackets around words
            for default in said:
                named += 1
                assert default in shown, (path, param.name, default)
    assert named >= 7


def test_help_paragraphs_are_wrapped_at_the_terminal_not_where_the_docstring_broke():
    """QA: a paragraph after a command's first kept its source's line breaks, so at 80 columns
    `undo --help` ended one line with "annotation's" and `mcp --help` one with "make one first
    with": each line of a paragraph is now as full as the width lets it be."""
    import inspect
    import itertools
    import re

    group = typer.main.get_group(app)
    checked = 0
    for path in every_command(group):
        command = command_at(group, path)
        if not any("\n" in p for p in inspect.cleandoc(command.help or "").split("\n\n")[1:]):
            continue
        out = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).stdout
        prose = out.split("Usage:", 1)[1].split("╭")[0].split("\n", 1)[1]
        # A paragraph kept as written (\b: an example's command lines) is not wrapped.
        kept = [p for p in re.split(r"\n\s*\n", prose) if p.strip().startswith("Example")]
        lines = [line.strip() for line in prose.splitlines() if not any(line in p for p in kept)]
        for line, after in itertools.pairwise(lines):
            if line and after:  # within a paragraph: the next word did not fit (80 less the margins)
                assert len(line) + 1 + len(after.split()[0]) > 78, (path, line, after)
        checked += 1
    assert checked >= 5


def test_a_database_that_cannot_be_reached_or_refuses_the_password_is_one_error_line(pg_cluster, tmp_path: Path):
    """A team server's database down or refusing the login is the store unusable, as a data
    directory's is: one ``error:`` line (``store_unusable`` under --json), exit 2, naming the
    database without its password. It was a usage error ("Usage: … Try -h", a box, "Invalid value
    for --database", code ``bad_parameter``): the URL was right, the server was not there."""
    import socket

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = f"postgresql://wb:hunter2-secret@127.0.0.1:{closed}/workbench"
    with pg_cluster.database() as url:
        # The cluster trusts loopback logins: a database that does not exist is refused at login alike.
        refusing = url.replace("postgresql://postgres@", "postgresql://postgres:hunter2-secret@").rsplit("/", 1)[0] + "/no_such_db"
        for database, reason in ((down, "Connection refused"), (refusing, 'database "no_such_db" does not exist')):
            shown = database.replace("hunter2-secret", "***")
            for command in (["serve", "--port", "0"], ["admin", "bootstrap"], ["demo"], ["sites", "list"]):
                result = cli(*command, "--database", database, "--data-dir", str(tmp_path / "local"))
                assert result.returncode == 2, (command, result.stderr)
                assert result.stdout == "" and "hunter2-secret" not in result.stderr, (command, result.stderr)
                line = result.stderr.rstrip("\n")
                assert "\n" not in line and line.startswith(f"error: cannot open the store in {shown}: "), (command, result.stderr)
                assert reason in line, (command, line)
            as_json = cli("admin", "bootstrap", "--json", env={"WORKBENCH_DATABASE_URL": database, "WORKBENCH_DATA_DIR": str(tmp_path / "local")})
            assert as_json.returncode == 2
            assert json.loads(as_json.stderr)["error"]["code"] == "store_unusable", as_json.stderr


# URLs whose password a parser cuts elsewhere than the last '@' (unencoded '@', '/', '?', '#'),
# or that libpq refuses quoting the part it could not read (a bad %-escape), or no parser reads.
TANGLED = [
    "postgresql://wb:{pw}@127.0.0.1:1/workbench",
    "postgresql://wb:{pw}%ZZ@127.0.0.1:1/workbench",
    "postgresql://wb:{pw}@x@127.0.0.1:1/workbench",
    "postgresql://wb:{pw}/x@127.0.0.1:1/workbench",
    "postgresql://wb:{pw}?x@127.0.0.1:1/workbench",
    "postgresql://wb:{pw}#x@127.0.0.1:1/workbench",
    "postgresql://wb@127.0.0.1:1/workbench?connect_timeout=x&password={pw}",
    "postgresql://wb:{pw}@[::1/workbench",
]


@pytest.mark.parametrize("shape", TANGLED)
def test_no_command_prints_the_password_of_a_database_it_cannot_open(shape: str, tmp_path: Path):
    """Each command's one error line names the database without its password, however the URL
    is written: the label was parsed as a URL (a password with '/' in it was printed whole, a
    bad %-escape was quoted back by libpq, an unclosed bracket was a traceback)."""
    password = "Hunter2xyz"
    url = shape.format(pw=password)
    source = tmp_path / "sqlite"
    Workbench.open(str(source)).store.close()  # migrate-store's source, so it gets as far as the target
    local = ["--data-dir", str(tmp_path / "local")]
    commands = [
        (["sites", "list", "--database", url, *local], {}),
        (["admin", "bootstrap", "--database", url, *local], {}),
        (["serve", "--port", "0", "--database", url, *local], {}),
        (["admin", "migrate-store", "--from", str(source), "--to", url, "--dry-run"], {}),
        (["admin", "migrate-store", "--from", str(source), "--dry-run"], {"WORKBENCH_DATABASE_URL": url}),
        (["sites", "list", *local], {"WORKBENCH_DATABASE_URL": url}),
    ]
    for args, env in commands:
        result = CliRunner().invoke(app, args, env=env)
        said = result.stdout + result.stderr
        assert result.exit_code == 2 and said.startswith("error: "), (args, said)
        assert "Traceback" not in said and "\n" not in said.rstrip("\n"), (args, said)
        assert password not in said and password[3:] not in said, (args, said)


@pytest.mark.parametrize("path", [
    ("annotations", "list"), ("annotation", "set-status"), ("annotation", "assign"), ("annotation", "reply"),
    ("annotation", "attach"), ("annotation", "personas"),
])
def test_the_verbs_whose_use_is_not_obvious_show_an_example(path):
    """Their help named the options but not how they go together (reply's '-' for stdin, attach's
    evidence, persona slugs, a query): each shows a command line to copy, whole on an 80-column
    help, with no blank line of its own for the marker that keeps it as written."""
    out = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).stdout
    lines = [line.strip() for line in out.splitlines()]
    examples = [line for line in lines if line.startswith(f"workbench {' '.join(path)} ")]
    assert examples, out
    heading = next(i for i, line in enumerate(lines) if line.startswith("Example"))
    assert lines[heading - 1] == "" and lines[heading - 2] != "", out
