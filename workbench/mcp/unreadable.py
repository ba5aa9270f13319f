"""JSON-RPC's answers to a message a transport could not read, in the words both transports send.

A body or line that is not JSON is a Parse error (-32700); JSON that is no JSON-RPC 2.0 message
is an Invalid Request (-32600). Either is answered with ``"id": null``, as JSON-RPC 2.0 says
when the request's id could not be read. Plain data: importing this loads no part of the SDK.
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def invalid_request(unit: str, carrier: str) -> dict[str, Any]:
    """The error object for JSON that is no JSON-RPC message: the ``unit`` ("body", "line") one ``carrier`` ("POST", "line") brought."""
    return {
        "code": INVALID_REQUEST,
        "message": f'Invalid Request: the {unit} is JSON but not a JSON-RPC 2.0 message. A request needs "jsonrpc": "2.0", '
                   f'an "id" and a "method" (a notification has no "id"); one message per {carrier}, not a batch',
    }


def parse_error(reason: str) -> dict[str, Any]:
    """The error object for a stdio line that is not JSON in UTF-8; ``reason`` says where it failed."""
    return {"code": PARSE_ERROR, "message": f"Parse error: each line must be one JSON-RPC message, JSON in UTF-8 ({reason})"}
