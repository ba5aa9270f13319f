"""Opaque pagination cursors: the last row's sort key plus an HMAC, bound to the query's filters.

A cursor decodes only with the server's secret; a changed byte, a cursor from another
listing or one whose filters differ is refused (the document: "A tampered cursor 400s").
Only the exact string the server issued is accepted: base64 has other spellings of the same
bytes (padding, the standard alphabet, unused low bits of the last character, ignored
characters), and each of them is refused too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json

from workbench.domain.errors import Invalid

_SIG_BYTES = 16


class InvalidCursor(Invalid):
    """A cursor that is not one this listing issued: still ``invalid`` (HTTP 400), and told apart
    from a refused action, since only a caller's parameter carries a cursor (the CLI's ``--cursor``
    is a usage error, exit 2, as a bad ``--since`` is)."""

    def __init__(self) -> None:
        super().__init__("Invalid cursor")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(secret: bytes, scope: str, key: list) -> str:
    """Sign ``key`` (a JSON-able sort key of scalars) for ``scope`` (the listing and its filters)."""
    return _signed(secret, scope, tuple(key))


# A page rebuilt after each write to the store ends on the same row as before, and signing it
# again cost ~25 us of the ~250 us rebuild.
@functools.lru_cache(maxsize=4096)
def _signed(secret: bytes, scope: str, key: tuple) -> str:
    payload = json.dumps(list(key), separators=(",", ":")).encode("utf-8")
    sig = hmac.new(secret, scope.encode("utf-8") + b"\0" + payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return _b64(payload) + "." + _b64(sig)


def decode_cursor(secret: bytes, scope: str, cursor: str) -> list:
    """The sort key inside a cursor this server issued for this scope; InvalidCursor otherwise."""
    try:
        payload_part, sig_part = cursor.split(".", 1)
        payload = _unb64(payload_part)
        sig = _unb64(sig_part)
    except (ValueError, UnicodeEncodeError):
        raise InvalidCursor() from None
    expected = hmac.new(secret, scope.encode("utf-8") + b"\0" + payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(sig, expected):
        raise InvalidCursor()
    # The bytes are genuine; the spelling must be the one issued (compared as bytes: the text is ASCII here).
    if not hmac.compare_digest(cursor.encode("ascii"), (_b64(payload) + "." + _b64(expected)).encode("ascii")):
        raise InvalidCursor()
    try:
        key = json.loads(payload)
    except ValueError:
        raise InvalidCursor() from None
    if not isinstance(key, list):
        raise InvalidCursor()
    return key
