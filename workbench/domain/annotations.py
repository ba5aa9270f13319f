"""Annotations: request models and the rules on submissions and resolutions (taxonomy: statuses.py)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from workbench.domain.blank import is_blank
from workbench.domain.errors import Invalid
from workbench.domain.fields import CleanStr, NoNul, QueryBool, QueryInt, Said
from workbench.domain.images import MAX_UPLOAD_BYTES, ImageType
from workbench.domain.paging import DEFAULT_LIMIT, MAX_LIMIT

# The taxonomy itself lives in statuses.py (pydantic-free); callers may import it from here too.
from workbench.domain.since import MAX_SINCE_MS
from workbench.domain.statuses import CLOSED_STATUSES, OPEN_STATUSES, Kind, Status  # noqa: F401 - re-exported: callers read the statuses with the annotation rules
from workbench.domain.widget import PAGE_URL_RULE, STYLE_VALUE_MAX, STYLES_MAX, Capture, SubmitterKey, is_web_url

StatusLiteral = Literal["new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate"]
KindLiteral = Literal["bug", "design", "copy", "accessibility", "performance", "question", "idea", "praise"]


def parse_status(value: str) -> Status:
    """The document: "Unknown status values 400 at request validation"."""
    try:
        return Status(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise Invalid(f"Unknown status '{value}'; expected one of: {allowed}") from None


def parse_kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in Kind)
        raise Invalid(f"Unknown kind '{value}'; expected one of: {allowed}") from None


class AutoFixDefault(StrEnum):
    """A stakeholder's widget toggle: hidden (never), shown off, or shown on."""

    NEVER = "never"
    OPTIONAL_OFF = "optional_off"
    OPTIONAL_ON = "optional_on"


def effective_auto_fix(requested: bool | None, stakeholder_default: AutoFixDefault | None) -> bool:
    """Whether a submission authorises unattended change.

    Anonymous submitters (no stakeholder) always land false, whatever the client sent. A
    stakeholder whose toggle is ``never`` cannot authorise; otherwise the request decides,
    and an absent value takes the toggle's initial state.
    """
    if stakeholder_default is None or stakeholder_default is AutoFixDefault.NEVER:
        return False
    if requested is None:
        return stakeholder_default is AutoFixDefault.OPTIONAL_ON
    return bool(requested)


Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), NoNul, Said]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000), NoNul]


class AnnotationListQuery(BaseModel):
    """GET /api/v1/sites/{id}/annotations: ?status=&kind=&since=<epoch_ms>&auto_fix=&cursor=&limit=."""

    model_config = ConfigDict(extra="ignore")

    status: StatusLiteral | None = None
    kind: KindLiteral | None = None
    since: QueryInt | None = Field(default=None, ge=0, le=MAX_SINCE_MS, description="epoch milliseconds: updated at or after")
    auto_fix: QueryBool | None = None
    cursor: Annotated[str, StringConstraints(max_length=1000), NoNul] | None = None
    limit: QueryInt = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class AnnotationPatch(BaseModel):
    """PATCH /api/v1/annotations/{id}: {status?, summary?, assignee_id?}."""

    model_config = ConfigDict(extra="forbid")

    status: StatusLiteral | None = None
    summary: ShortText | None = None
    assignee_id: Annotated[str, StringConstraints(max_length=200), NoNul] | None = None

    @field_validator("summary")
    @classmethod
    def _blank_summary_is_none(cls, value: str | None) -> str | None:
        # One shape for "no summary": a blank one ("", spaces, a lone zero-width space) is null, as a reopen leaves it.
        return None if value is None or is_blank(value) else value

    @model_validator(mode="after")
    def _not_empty(self) -> AnnotationPatch:
        if not self.model_fields_set:
            raise ValueError("at least one of status, summary, assignee_id is required")
        return self


BLANK_RESOLVE_SUMMARY = "summary: say what was done (it cannot be blank)"


def required_summary(text: str) -> str:
    """The summary of resolving "with a summary" (the CLI's ``resolve``, the TUI's ``r`` and bulk
    resolve, MCP's ``resolve``): what was done, so blank (``blank.is_blank``: nothing visible) is
    refused; PATCH's optional summary is not this, and a blank one there clears it."""
    said = text.strip()
    if is_blank(said):
        raise Invalid(BLANK_RESOLVE_SUMMARY)
    return said


def reopen_clears_summary(current_status: str, fields: dict[str, object]) -> dict[str, object]:
    """``fields`` of a triage change, with the summary cleared when it reopens the annotation.

    A closed annotation's summary says why it closed ("duplicate of …", "Fixed in v2"): moving
    it from a closed status to an open one makes that summary false, so it goes, unless the
    same change sets a summary of its own.
    """
    new = fields.get("status")
    closed = {s.value for s in CLOSED_STATUSES}
    if new is None or "summary" in fields or current_status not in closed or new in closed:
        return fields
    return {**fields, "summary": None}


class ReplyCreate(BaseModel):
    """POST /api/v1/annotations/{id}/replies: {body, author_name?}."""

    model_config = ConfigDict(extra="forbid")

    body: Body
    author_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul, Said] | None = None


EXPLANATION_MAX_BYTES = 4096


class ResolutionCreate(BaseModel):
    """POST …/resolutions: {before_key?, after_key?, diff_url?, explanation?}; at least one."""

    model_config = ConfigDict(extra="forbid")

    before_key: Annotated[str, StringConstraints(max_length=500), NoNul] | None = None
    after_key: Annotated[str, StringConstraints(max_length=500), NoNul] | None = None
    diff_url: Annotated[str, StringConstraints(max_length=2_000), NoNul] | None = None
    explanation: CleanStr | None = None

    @field_validator("explanation")
    @classmethod
    def _blank_explanation_is_none(cls, value: str | None) -> str | None:
        # Blank explains nothing (spaces, a zero-width space): it counts as missing (for "at least one"), like "".
        return None if value is None or is_blank(value) else value


def check_resolution(res: ResolutionCreate, *, field: Callable[[str], str] = str) -> None:
    """The document's rules: one field at least, https:// diff URLs, explanation ≤ 4 KB.

    ``field`` names a field in the refusal: the API's callers know it as the wire name
    (``diff_url``), a form's user as its label (``errors.field_words``: "diff URL").
    """
    if not any((res.before_key, res.after_key, res.diff_url, res.explanation)):
        raise Invalid("At least one of a before image, an after image, a diff URL or an explanation is required")
    if res.diff_url is not None and not _is_https_url(res.diff_url):
        raise Invalid(f"{field('diff_url')} must be an https:// URL without spaces or control characters")
    if res.explanation is not None and len(res.explanation.encode("utf-8")) > EXPLANATION_MAX_BYTES:
        raise Invalid(f"explanation is capped at 4 KB ({EXPLANATION_MAX_BYTES} bytes)")


def _is_https_url(value: str) -> bool:
    return value.startswith("https://") and is_web_url(value)  # the document's literal "https://"


class UploadUrlRequest(BaseModel):
    """POST …/resolutions/upload-url: {kind: "before"|"after", content_type}."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["before", "after"]
    content_type: ImageType = "image/png"


class WidgetAnnotationCreate(BaseModel):
    """Extension: what the widget posts for a page visitor's annotation."""

    model_config = ConfigDict(extra="forbid")

    page_url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000), NoNul]
    selector: Annotated[str, StringConstraints(max_length=2_000), NoNul] | None = None
    kind: KindLiteral = "bug"
    body: Body
    auto_fix: bool | None = None
    submitter_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul] | None = None
    submitter_email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320), NoNul] | None = None
    screenshot: Annotated[str, StringConstraints(max_length=MAX_UPLOAD_BYTES * 2), NoNul] | None = Field(
        default=None, description="Optional PNG/JPEG screenshot as a data: URL (base64)."
    )
    computed_styles: dict[
        Annotated[str, StringConstraints(max_length=64), NoNul], Annotated[str, StringConstraints(max_length=STYLE_VALUE_MAX), NoNul]
    ] | None = Field(default=None, max_length=STYLES_MAX)
    capture: Capture | None = Field(
        default=None, description="Anchor, viewport, user agent, recent console errors and failed requests (see README)."
    )
    submitter_key: SubmitterKey | None = Field(
        default=None, description="The browser's random key; only its SHA-256 is stored, to list this browser's own annotations."
    )

    @field_validator("submitter_email")
    @classmethod
    def _email_shape(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if "@" not in v or v.startswith("@") or v.endswith("@"):
            raise ValueError("not an email address")
        return v


class WidgetSubmission(WidgetAnnotationCreate):
    """What a browser posts to the widget's submit route: its page URL must be one a triager may
    open (``widget.is_web_url``). Kept off ``WidgetAnnotationCreate``, which in-process callers
    build: annotations stored before the rule or pulled from another server can hold any URL,
    and the front ends that open one judge it again."""

    @field_validator("page_url")
    @classmethod
    def _openable_page(cls, v: str) -> str:
        if not is_web_url(v):
            raise ValueError(PAGE_URL_RULE)
        return v


class StakeholderCreate(BaseModel):
    """POST /api/widget/sites/{id}/stakeholders: {name?, email?, auto_fix_default?}."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320), NoNul] | None = None
    auto_fix_default: Literal["never", "optional_off", "optional_on"] = "never"

    @field_validator("email")
    @classmethod
    def _email_shape(cls, v: str | None) -> str | None:
        return WidgetAnnotationCreate._email_shape(v)


class StakeholderUpdate(StakeholderCreate):
    """PATCH …/stakeholders/{token}: same fields, all optional, at least one."""

    auto_fix_default: Literal["never", "optional_off", "optional_on"] | None = None  # pyright: ignore[reportIncompatibleVariableOverride]  # PATCH: the same field, optional

    @model_validator(mode="after")
    def _not_empty(self) -> StakeholderUpdate:
        if not self.model_fields_set:
            raise ValueError("at least one of name, email, auto_fix_default is required")
        if "auto_fix_default" in self.model_fields_set and self.auto_fix_default is None:
            # name and email may be cleared with null; the toggle always has a value.
            raise ValueError("auto_fix_default cannot be null; use never, optional_off or optional_on")
        return self


class RunPersonasRequest(BaseModel):
    """POST …/run-personas: {persona_ids: [...]}; omitted or empty picks by relevance."""

    model_config = ConfigDict(extra="forbid")

    persona_ids: list[Annotated[str, StringConstraints(max_length=100), NoNul]] | None = Field(default=None, max_length=60)


DEFAULT_PERSONA_RUN = 3  # how many personas a run without persona_ids asks
