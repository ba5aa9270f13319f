"""The media type of a Content-Type header: the one parser the server, services and sync share."""

from __future__ import annotations

import pytest

from workbench.domain.media_types import media_type


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("TEXT/HTML; charset=utf-8", "text/html", id="upper-case-with-charset"),
        pytest.param("application/json;", "application/json", id="empty-parameters"),
        pytest.param("  image/png  ", "image/png", id="spaces-around"),
        pytest.param("application/problem+json ; q=1", "application/problem+json", id="space-before-semicolon"),
        pytest.param("image/png", "image/png", id="bare"),
        pytest.param("; charset=utf-8", "", id="parameters-only"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="none"),
    ],
)
def test_media_type(header: str | None, expected: str) -> None:
    assert media_type(header) == expected
