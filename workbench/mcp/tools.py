"""The ten documented MCP tools, built once and shared by the HTTP and the stdio transports.

``build_server(caller_of, offline=...)`` returns an ``MCPServer`` whose tools ask
``caller_of(ctx)`` for the Workbench and Principal of *this* call, so the HTTP transport can
authenticate every request from its path token (a rotated token stops at once) while stdio
acts as the local user. Tools call services only; every write is audited by the service with
the caller's principal (``mcp:<site_id>`` over HTTP). Domain refusals come back as MCP tool
errors carrying the refusal's message, never as crashes; a NUL in any string argument is
refused before a tool runs (``nul_free``), as the REST routes refuse one in a parameter.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, ParamSpec, TypeVar

import pydantic_core
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, ContentBlock, ImageContent, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field, Strict, ValidationError

from storage.failures import StoreWriteFailed, server_unreachable
from workbench import __version__
from workbench.domain.annotations import (
    AnnotationPatch,
    KindLiteral,
    ReplyCreate,
    ResolutionCreate,
    RunPersonasRequest,
    StatusLiteral,
    UploadUrlRequest,
    check_resolution,
    required_summary,
)
from workbench.domain.errors import DomainError, Invalid, NotFound
from workbench.domain.images import TYPE_OF_EXTENSION, ImageType
from workbench.domain.roles import Principal
from workbench.domain.safe_text import refuse_nul_parameters
from workbench.domain.since import parse_since
from workbench.services import annotations as annotations_svc
from workbench.services import personas as personas_svc
from workbench.services import resolutions as resolutions_svc
from workbench.services import sites as sites_svc
from workbench.services import undo as undo_svc
from workbench.services.context import Workbench

log = logging.getLogger("workbench.mcp")

# Screenshots up to this size ride along as MCP image content, so a model can look at what
# the submitter saw; bigger ones are only named (the base64 would swamp the context window).
INLINE_SCREENSHOT_BYTES = 1024 * 1024

INSTRUCTIONS = """Review Workbench: product feedback (annotations) left on a website.
Typical loop: list_annotations(status="new", auto_fix=true) to find work the submitter authorised
for unattended change; read_annotation(id) for the full context (markdown, screenshot, styles,
thread); acknowledge(id) when you pick it up; list_resolutions(annotation_id) to avoid repeating
work; make the change; optionally get_resolution_upload_url(...) and PUT before/after screenshots;
attach_resolution(...) to record what changed (this notifies the submitter); resolve(id, summary).
Timestamps are ISO-8601 UTC."""
# Offline there is no server to PUT to (get_resolution_upload_url refuses): the loop an agent
# reads first names the files attach_resolution takes instead.
OFFLINE_INSTRUCTIONS = INSTRUCTIONS.replace(
    "optionally get_resolution_upload_url(...) and PUT before/after screenshots;\nattach_resolution(...) to record what changed",
    "attach_resolution(...) to record what changed\n(before/after screenshots: before_file, after_file, local image paths)",
)


@dataclass(frozen=True)
class Caller:
    """Who is calling and against which store, resolved afresh for every tool call."""

    wb: Workbench
    principal: Principal
    base_url: str | None  # where presigned upload URLs point; None offline (no server to PUT to)
    # The store's local user (stdio): its triage and replies join that user's undo history, as
    # the CLI's and the TUI's do, so `workbench undo` or the TUI's `u` takes an agent's change
    # back. Over HTTP the caller is a site's integration, which has no history to undo from.
    records_undo: bool = False


CallerOf = Callable[[Context], Caller]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Parameter types, at module level so the SDK can resolve the (string) annotations of the
# tool functions below; the descriptions become the tools' JSON schemas. Integers and booleans
# are Strict: pydantic's lax mode reads `true` as 1, so `since: true` became "every annotation"
# and `limit: true` a page of one, and it reads "yes", "on", 1 or "true" as true, so a filter
# the agent mistyped filtered anyway. The schema says integer and boolean; so do the tools.
AnnotationId = Annotated[str, Field(description="Annotation id", min_length=1, max_length=100)]
StatusFilter = Annotated[StatusLiteral | None, Field(description="Only annotations in this status")]
KindFilter = Annotated[KindLiteral | None, Field(description="Only annotations of this kind")]
Since = Annotated[
    Annotated[int, Strict()] | str | None,
    Field(description="Only annotations updated at or after: epoch ms, ISO-8601 (2024-06-01T00:00:00Z) or an age (12h, 7d)"),
]
AutoFix = Annotated[
    Annotated[bool, Strict()] | None, Field(description="true: only submissions the submitter authorised for unattended automated change")
]
Limit = Annotated[int, Strict(), Field(ge=1, le=200, description="Page size (1-200)")]
Cursor = Annotated[str | None, Field(description="next_cursor of the previous page (extension: paging)", max_length=1000)]
# A file or site given as "" (an agent's empty variable) is refused, as the CLI's --after "" and
# --site "" are: read as absent, it attached no file without a word, or listed the first site.
SiteId = Annotated[str | None, Field(description="Site to list (offline extension); default: the first site", min_length=1)]
Message = Annotated[str, Field(description="Reply text (markdown)", min_length=1, max_length=20_000)]
Summary = Annotated[str, Field(description="What was done, shown on the annotation", min_length=1, max_length=2_000)]
NewStatus = Annotated[StatusLiteral | None, Field(description="New status")]
NewSummary = Annotated[str | None, Field(description='New summary; "" clears it', max_length=2_000)]
# The lengths the request models (workbench/domain/annotations.py) refuse beyond, published:
# an agent reading the schema learns them before a call is refused for them.
Assignee = Annotated[str | None, Field(description='User id of a workspace member; "" unassigns', max_length=200)]
UploadKindParam = Annotated[Literal["before", "after"], Field(description="Which screenshot of the change")]
ContentType = Annotated[
    ImageType, Field(description="MIME type of the image you will PUT")
]
UploadKey = Annotated[str | None, Field(description="key returned by get_resolution_upload_url after the PUT", max_length=500)]
DiffUrl = Annotated[str | None, Field(description="https:// link to the change (pull request, commit)", max_length=2_000)]
Explanation = Annotated[
    str | None, Field(description="Markdown explanation of the change, at most 4 KB (4096 bytes of UTF-8)", max_length=4096)
]
LocalFile = Annotated[
    str | None,
    Field(description="Offline extension: path of a local .png/.jpg/.webp/.gif to attach: absolute or ~/…; "
                      "a relative one is taken from the MCP server's working directory", min_length=1, max_length=4096),
]
PersonaIds = Annotated[
    list[Annotated[str, Field(max_length=100)]] | None,
    Field(description="Personas to run, by id or slug (ada-screen-reader-user), as the CLI's --persona; "
                      "omitted or empty picks the most relevant few", max_length=60),
]

REPLY_AS_AGENT = "Post an agent reply on the annotation's thread."
REPLY_AS_LOCAL_USER = (
    "Post a reply on the annotation's thread as the store's local user: it is written under that "
    "person's name (author type user), as their own replies from the CLI and TUI are, not as an agent."
)

UPLOAD_URL = "Presign a before/after screenshot upload. PUT the bytes to url with headers, then pass key to attach_resolution."
UPLOAD_URL_OFFLINE = (
    "Not available on this local store (there is no server to upload to): "
    "pass before_file/after_file (local image paths) to attach_resolution instead."
)

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
APPEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)


@contextmanager
def refusals(arguments: Mapping[str, str] | None = None) -> Iterator[None]:
    """Domain refusals and invalid input become tool errors that carry their message.

    ``arguments`` names a request model's field by the tool argument that fills it (reply's
    ``message`` fills ``body``): an agent is told of the argument it sent."""
    try:
        yield
    except DomainError as exc:
        raise ToolError(exc.message) from None
    except ValidationError as exc:
        raise ToolError(explain(exc, arguments=arguments)) from None


def explain(exc: ValidationError, sep: str = "; ", arguments: Mapping[str, str] | None = None) -> str:
    """A pydantic error as one readable line ("message: String should have at least 1 character"),
    or with ``sep="\\n"`` a line per failing field; ``arguments`` as ``refusals``'."""
    said: dict[str, list[str]] = {}
    for err in exc.errors():
        # An argument that takes one of several types (since: an integer or a string) failed each,
        # and pydantic names each try after the argument ("since.int", "since.str"): one line
        # for the argument, saying what it takes. Tool arguments hold no objects, so a name after
        # the first is such a type; a list's indexes stay (persona_ids.0).
        loc = err.get("loc", ())
        where = ".".join(str((arguments or {}).get(str(p), p)) if i == 0 else str(p)
                         for i, p in enumerate(loc) if i == 0 or isinstance(p, int))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if msg not in said.setdefault(where, []):
            said[where].append(msg)
    parts = [f"{where}: {_either(msgs)}" if where else _either(msgs) for where, msgs in said.items()]
    return sep.join(parts) or "invalid input"


def _either(msgs: list[str]) -> str:
    """One refusal's messages as one: "Input should be a valid integer or a valid string"."""
    should = "Input should be "
    if len(msgs) > 1 and all(m.startswith(should) for m in msgs):
        return should + " or ".join(m.removeprefix(should) for m in msgs)
    return "; ".join(msgs)


P = ParamSpec("P")
R = TypeVar("R")


def nul_free(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` refusing a NUL in any string argument before it runs, with the REST routes' rule
    and message ("Invalid id: must not contain NUL …"): every tool, every argument, both engines."""

    @functools.wraps(fn)  # the SDK reads the tool's schema from the wrapped signature
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        with refusals():
            refuse_nul_parameters(kwargs.items())
        return fn(*args, **kwargs)

    return checked


def _patch(c: Caller, annotation_id: str, **fields: Any) -> dict[str, Any]:
    apply_patch = undo_svc.apply_patch if c.records_undo else annotations_svc.apply_patch
    with refusals():
        ann = apply_patch(c.wb, c.principal, annotation_id, AnnotationPatch(**fields)).annotation
    return ann.to_public()


def _first_site(c: Caller, site_id: str | None) -> str:
    if site_id:
        return site_id
    sites = sites_svc.list_sites(c.wb, c.principal)
    if not sites:
        raise NotFound("This store has no site yet")
    return sites[0].id


def _screenshot(wb: Workbench, key: str | None) -> tuple[dict[str, Any] | None, ImageContent | None]:
    if not key:
        return None, None
    content_type = TYPE_OF_EXTENSION.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    data = wb.store.get_blob(key)
    if data is None:
        return {"key": key, "content_type": content_type, "available": False, "inline": False}, None
    info = {"key": key, "content_type": content_type, "size": len(data), "available": True, "inline": False}
    if len(data) > INLINE_SCREENSHOT_BYTES or not content_type.startswith("image/"):
        return info, None
    info["inline"] = True
    return info, ImageContent(data=base64.b64encode(data).decode("ascii"), mime_type=content_type)


def _local_path(given: str) -> Path:
    """An agent's file argument as the file it means. No shell stands between the agent and this
    server to expand ``~``, and a relative path is taken from a working directory the agent never
    sees: made absolute, a refusal names the file that was looked for."""
    return Path(given).expanduser().absolute()


def _attach(c: Caller, annotation_id: str, req: ResolutionCreate) -> dict[str, Any]:
    with refusals():
        res = resolutions_svc.create(c.wb, c.principal, annotation_id, req)
    # The submitter's notification: delivered now so the agent sees its outcome. A failure
    # leaves it pending for the server's sweep at the next start; the resolution stands.
    try:
        resolutions_svc.deliver(c.wb, res.id)
    except Exception:  # noqa: BLE001 - delivery is best effort here, retried later
        pass
    current = next((r for r in resolutions_svc.list_for(c.wb, c.principal, annotation_id) if r.id == res.id), res)
    return current.to_public()


class StoreServer(MCPServer):
    """The MCP server over a store: a write the disk refused (full, an I/O error), or that another
    writer kept out past the busy timeout (``StoreBusy``), comes back as a tool error in words.
    Offline (stdio, the user's own store) they say where, what to do and that it was rolled back;
    over HTTP the client is told the problem and to try later
    (``StoreWriteFailed.public``: the server's paths are the operator's), and the operator's log
    gets the rest in one line. The SDK answers any other exception with a bare "Error executing
    tool" and logs its traceback.

    Arguments are held to the published schema: one the tool does not take is refused by name
    (the SDK dropped it, so a misspelt ``statuss`` listed every status, and ``before_file`` sent
    over HTTP, where only stdio takes it, was a "pass at least one field"), and a schema refusal
    is one line per argument in words, not pydantic's dump (its model's name, which differs
    between the transports, its error codes and a link).

    ``serve_streams`` runs it over a transport's streams (stdio's, behind a reader that answers the
    lines the SDK's cannot read: ``workbench.mcp.stdio``)."""

    offline = False
    store: Any = None  # the store the tools act on (build_server): names the database in a line

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        schema = self._schema_of(name)
        if schema is not None:
            takes = list(schema.get("properties", {}))
            unknown = [str(arg) for arg in arguments if arg not in takes]
            if unknown:
                named = ", ".join(repr(arg[:100]) for arg in unknown[:10])  # the caller's text: quoted, bounded
                plural = "s" if len(unknown) > 1 else ""
                raise ToolError(f"Error executing tool {name}: unknown argument{plural} {named}; it takes {', '.join(takes)}")
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            failed = exc.__cause__
            if failed is not None and server_unreachable(failed):
                self._out_of_reach(name, failed)
            if not isinstance(failed, StoreWriteFailed):
                raise
            if self.offline:
                raise ToolError(f"Error executing tool {name}: {failed}") from failed
            log.error("%s", failed.for_operator(f"answered the MCP tool {name} with a tool error"))
            raise ToolError(f"Error executing tool {name}: {failed.public}") from failed
        except ToolError as exc:
            refusal = exc.__cause__
            if not isinstance(refusal, ValidationError):
                raise  # a tool's own refusal (``refusals``) carries no cause
            # The SDK's check of the arguments against the schema. Still caused by the
            # ValidationError: the SDK logs its field names, never the values.
            lines = explain(refusal, sep="\n")
            raise ToolError(f"Error executing tool {name}: invalid arguments\n{lines}") from refusal

    def _out_of_reach(self, name: str, failed: BaseException) -> NoReturn:
        """A PostgreSQL store that cannot be reached (stopped, restarting): the SDK's bare "Error
        executing tool" and a traceback per call, for a condition that words itself. A tool error
        saying so instead, and the operator's one line, as the HTTP API's 503 gives them."""
        from storage.pg_conn import cause, commit_unknown

        # The HTTP API's 503 words: imported here, on the error's path, so a stdio server never loads the web server's modules.
        from workbench.server.write_failed import COMMIT_UNKNOWN, UNREACHABLE

        unknown = commit_unknown(failed)
        url = getattr(self.store, "url", "")
        reason = cause(failed, url) if url else type(failed).__name__
        if self.offline:
            raise ToolError(f"Error executing tool {name}: cannot reach the database ({reason})"
                            + ("; its write's COMMIT was out, it may have been saved" if unknown else "")) from failed
        log.error("cannot reach the database %s (%s): answered the MCP tool %s with a tool error%s",
                  getattr(self.store, "label", "?"), reason, name, "; its write's COMMIT was out, it may have been saved" if unknown else "")
        raise ToolError(f"Error executing tool {name}: {COMMIT_UNKNOWN if unknown else UNREACHABLE}") from failed

    @property
    def serves_streams(self) -> bool:
        """Whether ``serve_streams`` can run: it reads the SDK's protected low-level server, which
        a release may rename; then ``workbench.mcp.stdio`` runs the SDK's own stdio loop instead."""
        return getattr(self, "_lowlevel_server", None) is not None

    async def serve_streams(self, read_stream: Any, write_stream: Any) -> None:
        """Serve one connection over a transport's streams, as ``run_stdio_async`` does over the
        SDK's own: ``workbench.mcp.stdio`` puts a stream of its own between the SDK's stdin reader
        and the server, and the SDK offers no public way to run its server on given streams."""
        lowlevel = self._lowlevel_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    def close_schemas(self) -> None:
        """Each tool's input schema says what ``call_tool`` enforces: no argument beyond its properties."""
        for tool in self._tools():
            if isinstance(getattr(tool, "parameters", None), dict):
                tool.parameters["additionalProperties"] = False

    def _tools(self) -> list[Any]:
        # The SDK keeps its tools in a protected attribute with no public accessor. Should a
        # release rename it, the two checks above are skipped (the SDK's own behaviour, as before
        # them) instead of every tool call failing on an AttributeError.
        manager = getattr(self, "_tool_manager", None)
        return list(manager.list_tools()) if manager is not None else []

    def _schema_of(self, name: str) -> dict[str, Any] | None:
        schema = next((getattr(t, "parameters", None) for t in self._tools() if getattr(t, "name", None) == name), None)
        return schema if isinstance(schema, dict) else None


class LocalStoreServer(StoreServer):
    """The offline server, over the user's own store (``StoreServer``, telling where)."""

    offline = True


def build_server(caller_of: CallerOf, *, offline: bool = False, log_level: LogLevel = "WARNING", store: Any = None) -> StoreServer:
    """The MCP server with the ten documented tools.

    ``offline`` (stdio, local store) adds two extensions the local user needs: a ``site_id``
    on ``list_annotations`` (the local user sees every site, an MCP token only its own) and
    ``before_file``/``after_file`` on ``attach_resolution`` (there is no server to PUT to), and
    tells a full disk where it is (``LocalStoreServer``).
    """
    server: StoreServer = (LocalStoreServer if offline else StoreServer)(
        "workbench", title="Review Workbench", version=__version__, instructions=OFFLINE_INSTRUCTIONS if offline else INSTRUCTIONS,
        log_level=log_level,
    )
    server.store = store

    def tool(annotations: ToolAnnotations, *, name: str | None = None, description: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """``server.tool``, every tool registered ``nul_free``."""

        def register(fn: Callable[P, R]) -> Callable[P, R]:
            checked = nul_free(fn)
            # The SDK names a tool's schemas after its function: list_annotations_offline's
            # "…_offlineArguments" told an agent over stdio another name than over HTTP.
            checked.__name__ = checked.__qualname__ = name or fn.__name__
            server.tool(name=name, description=description, annotations=annotations)(checked)
            return fn

        return register

    def list_page(c: Caller, site_id: str, status: str | None, kind: str | None, since: int | str | None,
                  auto_fix: bool | None, limit: int, cursor: str | None) -> dict[str, Any]:
        with refusals():
            page = annotations_svc.list_annotations(
                c.wb, c.principal, site_id, status=status, kind=kind, since_ms=parse_since(since, c.wb.clock()),
                auto_fix=auto_fix, cursor=cursor, limit=limit,
            )
        return {"site_id": site_id, "items": [a.to_public() for a in page.items], "next_cursor": page.next_cursor}

    if offline:
        @tool(READ, name="list_annotations")
        def list_annotations_offline(
            ctx: Context, status: StatusFilter = None, kind: KindFilter = None, since: Since = None,
            auto_fix: AutoFix = None, limit: Limit = 50, cursor: Cursor = None, site_id: SiteId = None,
        ) -> dict[str, Any]:
            """Discover open work on a site, newest first. Pass auto_fix=true to pick only submissions the submitter authorised for unattended automated change."""  # noqa: E501 - the tool's description, one line on the wire
            c = caller_of(ctx)
            with refusals():
                site = _first_site(c, site_id)
            return list_page(c, site, status, kind, since, auto_fix, limit, cursor)
    else:
        @tool(READ, name="list_annotations")
        def list_annotations(
            ctx: Context, status: StatusFilter = None, kind: KindFilter = None, since: Since = None,
            auto_fix: AutoFix = None, limit: Limit = 50, cursor: Cursor = None,
        ) -> dict[str, Any]:
            """Discover open work on this token's site, newest first. Pass auto_fix=true to pick only submissions the submitter authorised for unattended automated change."""  # noqa: E501 - the tool's description, one line on the wire
            c = caller_of(ctx)
            if c.principal.site_id is None:
                raise ToolError("This MCP credential is not scoped to a site")
            return list_page(c, c.principal.site_id, status, kind, since, auto_fix, limit, cursor)

    @tool(READ)
    def read_annotation(id: AnnotationId, ctx: Context) -> CallToolResult:  # the documented name
        """Full body, screenshot, computed styles, replies, resolutions and the agent-friendly markdown of one annotation."""
        c = caller_of(ctx)
        with refusals():
            out = annotations_svc.detail(c.wb, c.principal, id)
            out["markdown"] = annotations_svc.render_markdown(c.wb, c.principal, id)
        info, image = _screenshot(c.wb, out.get("screenshot_key"))
        out["screenshot"] = info
        content: list[ContentBlock] = [TextContent(text=pydantic_core.to_json(out, indent=2).decode())]
        if image is not None:
            content.append(image)
        return CallToolResult(content=content, structured_content=out)

    @tool(WRITE)
    def acknowledge(id: AnnotationId, ctx: Context) -> dict[str, Any]:
        """Flip the status to ack ("we saw it; no work yet")."""
        return _patch(caller_of(ctx), id, status="ack")

    # Over HTTP the token's site integration writes, as an agent; over stdio the store's local
    # user does (README, "replies"): the description is all an agent reads of who it speaks as.
    @tool(APPEND, description=REPLY_AS_LOCAL_USER if offline else REPLY_AS_AGENT)
    def reply(id: AnnotationId, message: Message, ctx: Context) -> dict[str, Any]:
        c = caller_of(ctx)
        post = undo_svc.reply if c.records_undo else annotations_svc.reply
        with refusals({"body": "message"}):
            return post(c.wb, c.principal, id, ReplyCreate(body=message)).to_public()

    @tool(WRITE)
    def resolve(id: AnnotationId, summary: Summary, ctx: Context) -> dict[str, Any]:
        """Flip the status to resolved with a summary of what was done."""
        with refusals():
            said = required_summary(summary)
        return _patch(caller_of(ctx), id, status="resolved", summary=said)

    @tool(WRITE)
    def patch_annotation(
        id: AnnotationId, ctx: Context, status: NewStatus = None, summary: NewSummary = None,
        assignee_id: Assignee = None,
    ) -> dict[str, Any]:
        """Generalised write: any of status, summary, assignee_id (at least one)."""
        fields: dict[str, Any] = {}
        if status is not None:
            fields["status"] = status
        if summary is not None:
            fields["summary"] = summary or None
        if assignee_id is not None:
            fields["assignee_id"] = assignee_id or None
        if not fields:
            raise ToolError("Pass at least one of status, summary, assignee_id")
        return _patch(caller_of(ctx), id, **fields)

    # Offline it always refuses (below): its description says so, for an agent choosing from the list.
    @tool(APPEND, description=UPLOAD_URL_OFFLINE if offline else UPLOAD_URL)
    def get_resolution_upload_url(
        annotation_id: AnnotationId, kind: UploadKindParam, content_type: ContentType, ctx: Context
    ) -> dict[str, Any]:
        c = caller_of(ctx)
        if c.base_url is None:
            raise ToolError(
                "This MCP server works on a local store with no HTTP server to upload to; "
                "pass before_file/after_file (local image paths) to attach_resolution instead"
            )
        with refusals():
            req = UploadUrlRequest(kind=kind, content_type=content_type)
            return resolutions_svc.upload_url(c.wb, c.principal, annotation_id, req, c.base_url)

    if offline:
        @tool(APPEND, name="attach_resolution")
        def attach_resolution_offline(
            annotation_id: AnnotationId, ctx: Context, before_key: UploadKey = None, after_key: UploadKey = None,
            diff_url: DiffUrl = None, explanation: Explanation = None, before_file: LocalFile = None,
            after_file: LocalFile = None,
        ) -> dict[str, Any]:
            """Append a RESOLUTION recording what changed (at least one field; diff_url https://; explanation ≤ 4 KB). Notifies the submitter."""
            c = caller_of(ctx)
            keys = {"before": before_key, "after": after_key}
            files = {"before": before_file, "after": after_file}
            with refusals():
                for kind in ("before", "after"):
                    if keys[kind] and files[kind]:
                        raise Invalid(f"Pass {kind}_key or {kind}_file, not both")
                # The rules first, a file standing in for the key it will get (as the CLI's
                # attach): a refused call must not leave the files it named copied into the store.
                check_resolution(ResolutionCreate(
                    before_key=before_key or ("file" if before_file else None), after_key=after_key or ("file" if after_file else None),
                    diff_url=diff_url, explanation=explanation,
                ))
                for kind, file in files.items():
                    if file:
                        try:
                            keys[kind] = resolutions_svc.attach_local_file(c.wb, c.principal, annotation_id, kind, _local_path(file))
                        except Invalid as exc:  # the file's refusal names its path; an agent also needs the argument's name
                            raise Invalid(f"{kind}_file: {exc}") from None
                req = ResolutionCreate(before_key=keys["before"], after_key=keys["after"], diff_url=diff_url, explanation=explanation)
            return _attach(c, annotation_id, req)
    else:
        @tool(APPEND, name="attach_resolution")
        def attach_resolution(
            annotation_id: AnnotationId, ctx: Context, before_key: UploadKey = None, after_key: UploadKey = None,
            diff_url: DiffUrl = None, explanation: Explanation = None,
        ) -> dict[str, Any]:
            """Append a RESOLUTION recording what changed (at least one field; diff_url https://; explanation ≤ 4 KB). Notifies the submitter."""
            c = caller_of(ctx)
            with refusals():
                req = ResolutionCreate(before_key=before_key, after_key=after_key, diff_url=diff_url, explanation=explanation)
            return _attach(c, annotation_id, req)

    @tool(READ)
    def list_resolutions(annotation_id: AnnotationId, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
        """The resolutions already attached, oldest first (pass next_cursor back for the next page). Use this to avoid duplicating work."""
        c = caller_of(ctx)
        with refusals():
            page = resolutions_svc.resolutions_page(c.wb, c.principal, annotation_id, cursor=cursor, limit=limit)
        return {"items": [r.to_public() for r in page.items], "next_cursor": page.next_cursor}

    @tool(APPEND)
    def run_personas(id: AnnotationId, ctx: Context, persona_ids: PersonaIds = None) -> dict[str, Any]:
        """Kick off the AI persona pipeline: one review reply per persona on the thread."""
        c = caller_of(ctx)
        with refusals():
            ids = personas_svc.ids_of(c.wb, c.principal, persona_ids) if persona_ids else None
            replies = annotations_svc.run_personas(c.wb, c.principal, id, RunPersonasRequest(persona_ids=ids))
        return {"replies": [r.to_public() for r in replies]}

    server.close_schemas()
    return server
