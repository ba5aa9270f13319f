"""Which reviewer engine a process uses: the offline one unless an OpenAI-compatible endpoint is configured.

``WORKBENCH_ENGINE_URL`` (e.g. ``http://localhost:8080/v1``) and ``WORKBENCH_ENGINE_MODEL``
select the HTTP engine; ``WORKBENCH_ENGINE_API_KEY`` is sent as a bearer when set, and
``WORKBENCH_ENGINE_TIMEOUT`` (seconds) bounds each call. A half-configured environment stays
offline with a warning rather than failing every command that opens a store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from workbench.engine.base import ReviewerEngine
from workbench.engine.offline import OfflineEngine

# workbench.engine.http (and httpx, ~80 ms of imports) loads only when an HTTP engine is
# configured, so the TUI's cold start does not pay for it.
DEFAULT_TIMEOUT = 30.0

log = logging.getLogger("workbench.engine")


def engine_from_env(env: Mapping[str, str] | None = None) -> ReviewerEngine:
    env = os.environ if env is None else env
    url = env.get("WORKBENCH_ENGINE_URL", "").strip()
    model = env.get("WORKBENCH_ENGINE_MODEL", "").strip()
    if not url and not model:
        return OfflineEngine()
    if not url or not model:
        log.warning("WORKBENCH_ENGINE_URL and WORKBENCH_ENGINE_MODEL must both be set; using the offline engine")
        return OfflineEngine()
    if not url.startswith(("http://", "https://")):
        log.warning("WORKBENCH_ENGINE_URL must be an http(s) URL; using the offline engine")
        return OfflineEngine()
    raw_timeout = env.get("WORKBENCH_ENGINE_TIMEOUT", "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
        if timeout <= 0:
            raise ValueError
    except ValueError:
        log.warning("WORKBENCH_ENGINE_TIMEOUT must be a positive number of seconds; using %s", DEFAULT_TIMEOUT)
        timeout = DEFAULT_TIMEOUT
    from workbench.engine.http import OpenAICompatibleEngine

    return OpenAICompatibleEngine(url, model, api_key=env.get("WORKBENCH_ENGINE_API_KEY") or None, timeout=timeout)
