"""The ``workbench`` command line: the entry point and its sub-commands."""

from __future__ import annotations

import difflib
import functools
import importlib
import logging
import os
import shlex
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer._click.exceptions import UsageError  # the Click that Typer 0.29 vendors (options.py)

from workbench.cli import help_format
from workbench.cli import maintenance as maintenance_cli
from workbench.cli import migrate_store as migrate_store_cli
from workbench.cli.options import Database, DataDir, JsonFlag, StoreErrors, install_utf8_check, open_workbench
from workbench.cli.output import emit_json, fail, inert
from workbench.domain.errors import DomainError
from workbench.domain.widget import parse_base_url
from workbench.services.context import Workbench

help_format.install()  # flags show no <bool>, repeatable options one value's placeholder
install_utf8_check()  # text whose bytes are not UTF-8 is refused before any command runs

# The sub-commands of other modules, each loaded and built only when its name is on the command
# line (or a help screen lists it): a module loads its use cases, and Typer reads the signature of
# every command it builds. Loading and building them all made every command line ~370 ms, 2.2x an
# empty Typer app's; now 1.3x to 1.8x, by what the command itself loads (bench/bench_cli.py).
# name -> (module, attribute): a function, built as one command, or a Typer, as a group.
LAZY_COMMANDS = {
    "undo": ("workbench.cli.undo", "undo"),  # undo [--list]
    "redo": ("workbench.cli.undo", "redo"),
    "mcp": ("workbench.cli.mcp_cmd", "mcp"),
    "workspaces": ("workbench.cli.workspaces", "workspaces_cmd"),  # what the TUI's switcher lists
}
LAZY_GROUPS = {
    "sites": ("workbench.cli.widget", "sites_app"),  # the widget's module adds `sites origins` and `sites snippet`
    "annotations": ("workbench.cli.annotations", "annotations_app"),
    "annotation": ("workbench.cli.annotations", "annotation_app"),
    "personas": ("workbench.cli.annotations", "personas_app"),
    "remote": ("workbench.cli.remote", "remote_app"),  # remote add/list/remove/login
    "sync": ("workbench.cli.sync", "sync_app"),  # sync [status|conflicts|refused]
}


@functools.cache
def _lazy(name: str) -> Any:
    """The Click command ``name`` of ``LAZY_COMMANDS`` or ``LAZY_GROUPS``, built once (None: no such name)."""
    if name in LAZY_COMMANDS:
        module, attribute = LAZY_COMMANDS[name]
        single = typer.Typer(add_completion=False)  # the completion options are the root's
        single.command(name)(getattr(importlib.import_module(module), attribute))
        return typer.main.get_command(single)  # a Typer of one command is that command
    if name in LAZY_GROUPS:
        module, attribute = LAZY_GROUPS[name]
        # get_group, not get_command: that one makes a Typer of one command (`annotations list`) the command.
        group = typer.main.get_group(getattr(importlib.import_module(module), attribute))
        group.name = name
        return group
    return None


class WorkbenchGroup(StoreErrors):
    """The ``workbench`` group: this module's commands, and the others' from ``_lazy``, listed in
    the order help has always shown them (commands, then groups)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*LAZY_COMMANDS, *super().list_commands(ctx), *LAZY_GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return super().get_command(ctx, cmd_name) or _lazy(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # Typer's "Did you mean …?" reads the commands already built; it is made here from every name.
        suggest, self.suggest_commands = self.suggest_commands, False
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            if suggest and args and (matches := difflib.get_close_matches(args[0], self.list_commands(ctx))):
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise
        finally:
            self.suggest_commands = suggest


app = typer.Typer(
    cls=WorkbenchGroup,
    help="Review Workbench: triage product feedback from the terminal, offline, and serve it as an API.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
admin = typer.Typer(help="Administration the hosted service keeps behind its dashboard (extensions).", no_args_is_help=True)
app.add_typer(admin, name="admin")
migrate_store_cli.register(admin)  # admin migrate-store: SQLite store -> PostgreSQL
maintenance_cli.register(admin)  # admin sweep-uploads: files a killed writer left
# soft_wrap: serve's lines (its store, the bootstrap command to paste) stay whole in a log or a
# pipe, where Rich would break them at 80 columns; a terminal wraps them itself.
console = Console(stderr=True, soft_wrap=True)
out = Console()
BACKLOG = 2048  # uvicorn's default: connections the kernel accepts before a worker takes them


class LogLevel(StrEnum):
    """uvicorn.config.LOG_LEVELS' names, written out: importing uvicorn here would slow every
    command. Any other name was a KeyError traceback from inside uvicorn, after the banner."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


@app.callback(invoke_without_command=True)
def _default(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """With no sub-command, `workbench` opens the terminal UI (demo data fills an empty store)."""
    if ctx.invoked_subcommand is None:
        _open_tui(data_dir)
    elif data_dir is not None:
        # `workbench --data-dir X serve`: the sub-command reads its default from the env var.
        os.environ["WORKBENCH_DATA_DIR"] = str(data_dir)


@app.command()
def tui(
    data_dir: DataDir = None,
    demo_if_empty: Annotated[bool, typer.Option("--demo/--no-demo", help="Fill an empty store with demo data first")] = True,
    list_keys: Annotated[bool, typer.Option("--keys", help="Print the key binding ids (for keys.toml) and exit")] = False,
) -> None:
    """Open the terminal UI over the local store (the same as `workbench` alone)."""
    if list_keys:
        from workbench.tui.keys import describe_bindings

        typer.echo(describe_bindings())
        return
    _open_tui(data_dir, demo_if_empty=demo_if_empty)


def _open_tui(data_dir: Path | None, *, demo_if_empty: bool = True) -> None:
    from workbench.cli.entry import open_tui

    open_tui(open_workbench(data_dir), demo_if_empty=demo_if_empty)


@app.command()
def serve(
    data_dir: DataDir = None,
    database: Database = None,
    workers: Annotated[int, typer.Option(
        help="Processes serving requests (more than 1 needs a PostgreSQL database, WORKBENCH_DATABASE_URL or --database: they share only it)",
        min=1, max=64)] = 1,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=0, max=65535)] = 11001,
    demo: Annotated[bool, typer.Option("--demo", help="Fill an empty store with demo data first")] = False,
    token_limit: Annotated[int, typer.Option(help="Requests per window per credential", min=1)] = 600,
    ip_limit: Annotated[int, typer.Option(help="Requests per window per client IP", min=1)] = 30,
    window: Annotated[int, typer.Option(help="Rate-limit window in seconds", min=1)] = 60,
    limit_loopback: Annotated[bool, typer.Option("--limit-loopback", help="Apply the per-IP bucket to loopback clients too")] = False,
    widget_ip_limit: Annotated[int, typer.Option(help="Widget submissions per window per client IP (loopback included)", min=1)] = 10,
    widget_site_limit: Annotated[int, typer.Option(help="Widget submissions per window per site", min=1)] = 120,
    public_url: Annotated[str | None, typer.Option(
        help="Base URL put in presigned upload links, feedbackUrl and deploymentUrl", show_default="the request's")] = None,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="Comma-separated IPs/networks of proxies whose X-Forwarded-For/-Proto are trusted", show_default="none")] = None,
    max_body_bytes: Annotated[int, typer.Option(
        help="Largest request body on ordinary routes (413 above); widget submissions and uploads have their own caps", min=1024)] = 1024 * 1024,
    body_timeout: Annotated[float, typer.Option(help="Seconds to receive a whole request body (408 after)", min=0.1)] = 30.0,
    header_timeout: Annotated[float, typer.Option(help="Seconds to receive a request's headers (408 and close after)", min=0.1)] = 10.0,
    max_header_bytes: Annotated[int, typer.Option(help="Largest request line + headers (431 and close above)", min=1024)] = 64 * 1024,
    keep_alive_timeout: Annotated[int, typer.Option(help="Seconds an idle keep-alive connection stays open", min=1)] = 5,
    limit_concurrency: Annotated[int, typer.Option(
        help="Open connections (or running requests) beyond which new requests get 503", min=1)] = 500,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn log level", case_sensitive=False)] = LogLevel.INFO,
) -> None:
    """Serve the documented APIs over the local store (default http://localhost:11001)."""
    from workbench.server import single
    from workbench.server.app import create_app
    from workbench.server.listening import bound_port
    from workbench.server.logs import RedactSecrets
    from workbench.server.protocol import bounded_protocol
    from workbench.server.settings import ServerSettings
    from workbench.services.demo import load_demo

    if public_url is not None:
        # Every link the server hands out starts with it: "notaurl" gave feedbackUrl "notaurl/review/…".
        try:
            public_url = parse_base_url(public_url)
        except DomainError as exc:
            fail(f"--public-url: {exc.message}", 2)
    if forwarded_allow_ips:
        check_proxies(forwarded_allow_ips)
    if workers > 1 and database is None:
        raise typer.BadParameter("several workers share one PostgreSQL database: give it in WORKBENCH_DATABASE_URL (or --database)", param_hint="--workers")
    wb = open_workbench(data_dir, database)
    # Bound and listening before the lines below say where it serves: a connection made on reading
    # them waits for the app instead of being refused (uvicorn binds only once the app has started).
    listening = listen_or_fail(host, port)
    port = bound_port(listening)  # port 0: the one the system chose, which the URL must name
    if demo:
        result = load_demo(wb)
        if result.get("loaded"):
            console.print(f"[green]Demo data loaded:[/] {result['annotations']} annotations on {result['sites']} sites")
    shown_host = host if host not in ("0.0.0.0", "::", "") else "localhost"
    listen_url = f"http://{f'[{shown_host}]' if ':' in shown_host else shown_host}:{port}"
    settings = ServerSettings(
        token_limit=token_limit, ip_limit=ip_limit, window_seconds=window, limit_loopback_ip=limit_loopback, public_url=public_url,
        listen_url=listen_url, max_body_bytes=max_body_bytes, body_timeout_seconds=body_timeout,
        widget_ip_limit=widget_ip_limit, widget_site_limit=widget_site_limit,
    )
    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    console.print(f"Store: {inert(wb.store.label)}")
    console.print(f"Docs:  {listen_url}/docs")
    console.print(f"Credentials: {credentials_hint(wb, database)}")
    common: dict[str, Any] = {
        "host": host, "port": port, "log_level": log_level.value, "timeout_keep_alive": keep_alive_timeout,
        "limit_concurrency": limit_concurrency, "backlog": BACKLOG,
        # uvicorn builds every request's access-log line whenever its logger has a handler, and
        # only then drops it for the level: 2-3 % of a request's CPU for nothing above "info".
        "access_log": log_level in (LogLevel.TRACE, LogLevel.DEBUG, LogLevel.INFO),
        # uvicorn trusts X-Forwarded-For from loopback by default, which would let any local
        # caller pick its own per-IP bucket: only proxies named here are believed.
        "proxy_headers": bool(forwarded_allow_ips), "forwarded_allow_ips": forwarded_allow_ips or "",
    }
    if workers == 1:
        single.run(listening, create_app(wb, settings), listen_url, http=bounded_protocol(header_timeout, max_header_bytes), **common)
        return
    from workbench.server import worker

    assert database is not None  # checked above
    # Each worker is a fresh interpreter that opens the database itself: this process only binds
    # the socket and watches them.
    wb.store.close()
    os.environ.update(worker.config_env(
        database=database, data_dir=str(wb.store.data_dir), settings=settings,
        header_timeout=header_timeout, max_header_bytes=max_header_bytes,
    ))
    worker.run(listening, workers, listen_url, **common)


def check_proxies(value: str) -> None:
    """One error line and exit 2 unless ``value`` is ``*`` or IPs and networks, comma-separated.
    uvicorn takes any other entry as a literal peer name, which a TCP peer never matches: a typo
    ("127.0.0.l") or a network with host bits ("10.0.0.1/24") left the proxy untrusted, without a word,
    and every client behind it shared the proxy's per-IP bucket."""
    import ipaddress

    if value.strip() == "*":
        return
    for entry in filter(None, (e.strip() for e in value.split(","))):  # uvicorn skips an empty one too
        try:
            ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry)
        except ValueError as exc:
            fail(f"--forwarded-allow-ips: {entry!r} is not an IP address or network, like 127.0.0.1 or 10.0.0.0/8 ({exc})", 2)


def listen_or_fail(host: str, port: int) -> list[socket.socket]:
    """The sockets ``serve`` listens on, or one error line and exit 2 for an address it cannot
    listen on (a port taken by another server, a host that is not this machine's or does not
    resolve). Left to uvicorn, the banner first promised the docs at that address, then came its
    startup log, an ERROR line and exit 3."""
    from workbench.server.listening import listen

    try:
        return listen(host, port, BACKLOG)
    except OSError as exc:  # socket.gaierror is one
        reason = exc.strerror or str(exc)
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        fail(f"cannot listen on {where}: {reason[:1].lower()}{reason[1:]}", 2)


def credentials_hint(wb: Workbench, database: str | None) -> str:
    """The bootstrap command for the store being served, as Rich markup: the same ``--data-dir``,
    or the same database, as one can paste it. A URL with a password (masked, never printed) is
    given in the environment, where ``ps`` does not show it, not as ``--database``, where it does."""
    if database is None:
        return f"[bold]workbench admin bootstrap --json --data-dir {inert(shlex.quote(str(wb.store.data_dir)))}[/]"
    from storage.pg_conn import redact

    shown = shlex.quote(redact(database))
    if shown == shlex.quote(database):
        return f"[bold]workbench admin bootstrap --json --database {inert(shown)}[/]"
    return f"[bold]WORKBENCH_DATABASE_URL={inert(shown)} workbench admin bootstrap --json[/] (the URL's password is not printed: put it back)"


@app.command()
def demo(
    data_dir: DataDir = None,
    database: Database = None,
    annotations: Annotated[int, typer.Option(help="How many annotations to generate", min=1, max=1_000_000)] = 320,
    as_json: JsonFlag = False,
) -> None:
    """Fill the store with realistic demo data (once; a second run changes nothing)."""
    from workbench.services.demo import load_demo

    wb = open_workbench(data_dir, database)
    with console.status("Generating demo data…"):
        result = load_demo(wb, annotations=annotations)
    if as_json:
        emit_json(result)
    elif result.get("loaded"):
        # The result on stdout (a script can read it); the progress spinner stays on stderr.
        out.print(f"[green]Loaded[/] {result['annotations']} annotations, {result['replies']} replies, "
                  f"{result['resolutions']} resolutions on {result['sites']} sites.")
    else:
        out.print(f"Nothing to do: {result['reason']}.")


@admin.command()
def bootstrap(data_dir: DataDir = None, database: Database = None, as_json: JsonFlag = False) -> None:
    """Create (once) a workspace, its OWNER, a site, and print working credentials."""
    from workbench.services.bootstrap import bootstrap as run_bootstrap

    wb = open_workbench(data_dir, database)
    creds = run_bootstrap(wb)
    if as_json:
        emit_json(creds)
        return
    console.print("[bold]Credentials[/] (API tokens are shown once; run again for new ones):")
    for key, value in creds.items():
        typer.echo(f"{key:>22}  {value}")


def run() -> None:
    app()
