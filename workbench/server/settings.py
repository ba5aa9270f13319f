"""Server settings: rate limits (configurable) and the public URL used in presigned links."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    token_limit: int = 600  # requests per window per credential (the document's per-token bucket)
    ip_limit: int = 30  # requests per window per client IP (the document's per-IP bucket)
    window_seconds: int = 60
    # Loopback callers (the TUI's sync, local scripts and agents) share one IP; throttling
    # them to 30/min would turn a local sync of a large store into minutes, so by default
    # they skip the per-IP bucket (the per-token bucket still applies).
    limit_loopback_ip: bool = False
    public_url: str | None = None  # base of presigned upload URLs; default: the request's own
    # Widget submissions (the widget token is public): per client IP, loopback included, and per site.
    widget_ip_limit: int = 10
    widget_site_limit: int = 120
