"""The media type a ``Content-Type`` header names: the one reading every layer shares.

RFC 9110 (8.3.1): a type and subtype, case-insensitive, then parameters after ``;``. The server,
the services and the sync each compare or report one; each spelled its own split, and the ones
that only reported it kept the sender's case and spaces, or named an empty header as nothing.
Here, in the domain, because every layer may import it.
"""

from __future__ import annotations


def media_type(content_type: str | None) -> str:
    """``content_type``'s type and subtype, lower-cased, without parameters or spaces; ``""`` for none.

    ``"TEXT/HTML; charset=utf-8"`` is ``"text/html"``; ``None``, ``""`` and ``"; charset=utf-8"``
    are ``""``, so a caller that names a missing type says ``media_type(ct) or "no Content-Type"``.
    """
    if not content_type:
        return ""
    return content_type.partition(";")[0].strip().lower()
