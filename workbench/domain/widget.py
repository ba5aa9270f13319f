"""The site widget's rules: allowed origins, what a capture may hold and its bounds, the submitter key, the toggle.

Everything the browser sends is bounded here, at the edge: the widget token is public, so
whatever it lets a stranger store must be small and well-formed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workbench.domain.errors import Invalid

# -- allowed origins ------------------------------------------------------------------------
MAX_ORIGINS_PER_SITE = 50
DEFAULT_BASE = "http://localhost:11001"  # where pages reach `workbench serve` unless told: its default port
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$")


def parse_origin(value: str) -> str:
    """``scheme://host[:port]`` (http or https, no path, query, fragment or credentials), lower-cased.

    The browser's ``Origin`` header has exactly this shape, so a stored origin compares to it
    as a string. A default port is dropped, as browsers drop it, and a host in Unicode
    ("bücher.example") becomes the ASCII form browsers send ("xn--bcher-kva.example").
    """
    raw = value.strip()
    if not raw or len(raw) > 300:
        raise Invalid("origin must be 1 to 300 characters: scheme://host[:port]")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise Invalid(f"'{raw}' is not an origin: expected scheme://host[:port]") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Invalid(f"'{raw}' is not an origin: the scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"'{raw}' is not an origin: no user or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise Invalid(f"'{raw}' is not an origin: no path, query or fragment (just scheme://host[:port])")
    host = (parts.hostname or "").lower()
    if not host.isascii():
        host = _a_labels(raw, host)
    if not host or not _HOST.match(host if ":" not in host else f"[{host}]"):
        raise Invalid(f"'{raw}' is not an origin: the host is missing or malformed")
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _a_labels(raw: str, host: str) -> str:
    """An internationalised host as browsers put it in ``Origin``: UTS #46 processing, not
    transitional (the WHATWG URL standard's), so "faß.example" keeps its ß as "xn--fa-hia"."""
    import idna  # httpx's dependency too; loaded only for such a host

    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        raise Invalid(f"'{raw}' is not an origin: '{host}' is not a valid international domain name ({exc})") from None


def origin_of_url(url: str) -> str | None:
    """The origin of a site's URL, or None when it has none (used to seed a new site's list)."""
    try:
        parts = urlsplit(url.strip())
        return parse_origin(f"{parts.scheme}://{parts.netloc}")
    except (Invalid, ValueError):
        return None


def parse_base_url(value: str) -> str:
    """Where pages reach ``workbench serve`` (the snippet's ``src`` base): an http(s) URL with a
    host and at most a path, no trailing slash. Quotes, angle brackets, spaces and control
    characters are refused rather than escaped: no real base holds one, and the tag is pasted
    into pages."""
    raw = value.strip()
    if not raw or len(raw) > 500:
        raise Invalid("The base URL must be 1 to 500 characters: an http:// or https:// URL")
    if any(c in "\"'<>`\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw):
        raise Invalid(f"The base URL {raw!r} holds characters a URL cannot (quotes, <, >, spaces or control characters)")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - parsing it is the check: a non-numeric port raises
    except ValueError:
        raise Invalid(f"The base URL {raw!r} is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid("The base URL must be an http:// or https:// URL with a host, like https://feedback.example")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise Invalid("The base URL takes no user, password, query or fragment: scheme://host[:port][/path]")
    return raw.rstrip("/")


def is_web_url(value: str) -> bool:
    """Whether a URL from a user is one a triager may open: http(s) with a host, a port that
    parses, no whitespace or control character. A submission's page URL and a resolution's diff
    URL are shown to triagers and opened with `o` in the TUI, so ``javascript:``, ``data:`` or
    ``file:`` would run or read on their machine, and a newline would start a new line in the
    markdown and in every terminal that prints it. The widget sends ``location.href``, which is
    always such a URL when the page is on the web."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - asked only to be checked: a port past 65535 or not a number raises
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


PAGE_URL_RULE = "page_url must be an http:// or https:// URL with a host, like https://shop.example/cart"


# -- the submitter key ------------------------------------------------------------------------
SUBMITTER_KEY_PATTERN = r"^[A-Za-z0-9_-]{32,128}$"
SubmitterKey = Annotated[str, StringConstraints(pattern=SUBMITTER_KEY_PATTERN)]


def submitter_key_hash(key: str) -> str:
    """Only this digest is stored: a database reader cannot impersonate a browser to list its annotations."""
    if not re.match(SUBMITTER_KEY_PATTERN, key or ""):
        raise Invalid("X-GF-Submitter-Key must be 32 to 128 characters of A-Z a-z 0-9 _ -")
    return hashlib.sha256(key.encode("ascii")).hexdigest()


# -- what the widget captures -------------------------------------------------------------------
Short = Annotated[str, StringConstraints(max_length=300)]
Medium = Annotated[str, StringConstraints(max_length=2_000)]
Finite = Annotated[float, Field(ge=-1e7, le=1e7, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextQuote(_Strict):
    """Hypothesis' text-quote selector: the element's text and a little of what surrounds it."""

    exact: Annotated[str, StringConstraints(max_length=500)]
    prefix: Annotated[str, StringConstraints(max_length=64)] = ""
    suffix: Annotated[str, StringConstraints(max_length=64)] = ""


class Box(_Strict):
    """The element's box in document coordinates (CSS pixels, scroll included)."""

    x: Finite
    y: Finite
    width: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)]
    height: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)]


class Anchor(_Strict):
    """Several ways back to the element, tried in order on a changed page: CSS, XPath, quoted text, box."""

    css: Medium | None = None
    xpath: Medium | None = None
    text_quote: TextQuote | None = None
    box: Box | None = None
    whole_page: bool = False


class Viewport(_Strict):
    """The window at capture time. The scroll (CSS px; negative on right-to-left pages) places the
    anchor's document box on the viewport screenshot; optional, so captures sent before it existed
    stay valid (they just get no pin drawn)."""

    width: Annotated[int, Field(ge=1, le=100_000)]
    height: Annotated[int, Field(ge=1, le=100_000)]
    device_pixel_ratio: Annotated[float, Field(gt=0, le=16, allow_inf_nan=False)]
    scroll_x: Finite | None = None
    scroll_y: Finite | None = None


class ConsoleEntry(_Strict):
    level: Literal["error", "unhandledrejection", "warn"] = "error"
    message: Medium
    at: Annotated[int, Field(ge=0, le=2**53)]


class NetworkEntry(_Strict):
    method: Annotated[str, StringConstraints(max_length=16)] = "GET"
    url: Medium
    status: Annotated[int, Field(ge=0, le=999)]  # 0: the request never got an answer
    at: Annotated[int, Field(ge=0, le=2**53)]


RING_SIZE = 20  # entries of each log the widget keeps and the server accepts
STYLE_VALUE_MAX = 500
STYLES_MAX = 60


class Capture(_Strict):
    """Everything about the page and the element besides the visitor's words (all optional)."""

    anchor: Anchor | None = None
    viewport: Viewport | None = None
    user_agent: Annotated[str, StringConstraints(max_length=512)] | None = None
    console: list[ConsoleEntry] = Field(default_factory=list, max_length=RING_SIZE)
    network: list[NetworkEntry] = Field(default_factory=list, max_length=RING_SIZE)

    def to_stored(self) -> dict[str, Any] | None:
        data = self.model_dump(exclude_none=True)
        return data or None


# -- the auto-fix toggle ----------------------------------------------------------------------
def toggle_for(stakeholder_default: str | None) -> dict[str, bool]:
    """How the widget renders "Auto-fix": anonymous and ``never`` hide it; the optional ones show it off/on.

    The same rule as ``annotations.effective_auto_fix`` seen from the form: what is hidden can
    never be authorised, and what is shown starts in the state the server would assume.
    """
    if stakeholder_default not in ("optional_off", "optional_on"):
        return {"visible": False, "checked": False}
    return {"visible": True, "checked": stakeholder_default == "optional_on"}
