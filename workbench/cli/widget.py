"""``workbench sites origins`` and ``workbench sites snippet``: the site widget's allowed origins and its tag."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.annotations import emit_json, fail, local, refusals, sites_app
from workbench.cli.options import Database, DataDir, JsonFlag
from workbench.cli.output import echo
from workbench.domain.errors import DomainError, NotFound
from workbench.domain.widget import DEFAULT_BASE, parse_base_url, parse_origin
from workbench.services import widget as widget_svc


@sites_app.command("origins")
def sites_origins(
    site_id: Annotated[str, typer.Argument(help="The site's id (see `workbench sites list`)")],
    add: Annotated[list[str] | None, typer.Option("--add", metavar="<origin>", help="Allow scheme://host[:port] (repeatable)")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", metavar="<origin>", help="Stop allowing an origin (repeatable)")] = None,
    data_dir: DataDir = None,
    database: Database = None,
    as_json: JsonFlag = False,
) -> None:
    """List, add or remove the origins whose pages may run this site's widget (CORS).

    An origin is scheme://host[:port] with no path, e.g. https://shop.example or http://localhost:8080.
    """
    # Every --add and --remove judged before any is saved: a malformed one is the usage error snippet's
    # --base is (exit 2), where it was a refusal (exit 1) after the values before it had been saved, and
    # a --remove naming no allowed origin refuses the call whole, where the --add values stayed added.
    added = [_origin("--add", origin) for origin in add or []]
    removed = [_origin("--remove", origin) for origin in remove or []]
    wb, me = local(data_dir, database)
    with refusals():
        allowed = widget_svc.list_origins(wb, me, site_id)
        if unknown := [o for o in removed if o not in allowed and o not in added]:
            raise NotFound(f"{', '.join(unknown)} {'is not an allowed origin' if len(unknown) == 1 else 'are not allowed origins'} "
                           "of this site: nothing was changed")
        for origin in add or []:
            widget_svc.add_origin(wb, me, site_id, origin)
        for origin in remove or []:
            widget_svc.remove_origin(wb, me, site_id, origin)
        origins = widget_svc.list_origins(wb, me, site_id)
    if as_json:
        emit_json({"site_id": site_id, "origins": origins})
    elif not origins:
        typer.echo("No allowed origins: no page can run this site's widget. Add one with --add ORIGIN.")
    else:
        for origin in origins:
            echo(origin)  # stored text, shown inert as all of it is: only this CLI's own checks vouch for it


def _origin(option: str, origin: str) -> str:
    try:
        return parse_origin(origin)
    except DomainError as exc:
        fail(f"{option}: {exc.message}", 2)


@sites_app.command("snippet")
def sites_snippet(
    site_id: Annotated[str, typer.Argument(help="The site's id (see `workbench sites list`)")],
    base: Annotated[str, typer.Option("--base", help="The URL pages reach `workbench serve` at")] = DEFAULT_BASE,
    data_dir: DataDir = None,
    database: Database = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the one <script> tag that puts the widget on a site's pages (it carries the public widget token)."""
    try:
        parse_base_url(base)
    except DomainError as exc:
        fail(exc.message, 2)  # the option's value is wrong: usage
    wb, me = local(data_dir, database)
    with refusals():
        tag = widget_svc.snippet(wb, me, site_id, base)
        origins = widget_svc.list_origins(wb, me, site_id)
    if as_json:
        emit_json({"site_id": site_id, "snippet": tag, "origins": origins})
        return
    typer.echo(tag)
    if not origins:
        typer.echo(f"note: no allowed origins yet; run `workbench sites origins {site_id} --add ORIGIN`", err=True)
