"""Server settings: rate limits, request size and time bounds, and the public URL used in presigned links."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.domain.images import MAX_UPLOAD_BYTES

MIB = 1024 * 1024
# A widget submission carries its screenshot as a base64 data URL: 10 MB decoded is about
# 13.4 MB encoded, plus the other fields (computed styles, selector, body).
WIDGET_BODY_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + MIB


@dataclass(frozen=True)
class ServerSettings:
    token_limit: int = 600  # requests per window per credential (the document's per-token bucket)
    ip_limit: int = 30  # requests per window per client IP (the document's per-IP bucket)
    window_seconds: int = 60
    # Loopback callers (the TUI's sync, local scripts and agents) share one IP; throttling
    # them to 30/min would turn a local sync of a large store into minutes, so by default
    # they skip the per-IP bucket (the per-token bucket still applies).
    limit_loopback_ip: bool = False
    public_url: str | None = None  # base of presigned upload URLs and feedbackUrl; default: the request's own
    # The address ``serve`` listens on (http://host:port): the last resort of what a deploy command is
    # told this server's URL is, since a background job has no request to take it from.
    listen_url: str | None = None
    max_body_bytes: int = MIB  # any request body but the two below (JSON writes, MCP calls)
    widget_body_bytes: int = WIDGET_BODY_BYTES  # POST /api/widget/sites/{id}/annotations
    upload_body_bytes: int = MAX_UPLOAD_BYTES  # PUT /uploads/... (a presigned evidence upload)
    body_timeout_seconds: float = 30.0  # to receive a whole request body, from its headers on
    # Widget submissions (the widget token is public): per client IP, loopback included, and per site.
    widget_ip_limit: int = 10
    widget_site_limit: int = 120
