"""The MCP suite runs on both engines: every test here, once on SQLite and once on PostgreSQL.

``engine`` lasts a module here (tests/conftest.py, on_engine), so a module may seed one store, and
serve it, for every test that leaves what the others read as it was. A test that needs a store of
its own asks for ``own_store``.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import pytest

from tests.conftest import ENGINES, on_engine


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Per module, not per test: a module's shared store outlives one test (tests/conftest.py, on_engine)."""
    yield from on_engine(request)


@pytest.fixture
def own_store(request: pytest.FixtureRequest, engine: str) -> Iterator[str]:
    """The stores a test opens are its own: on PostgreSQL a fresh database inside the module's
    (on_engine once more, for this test alone), as the function-scoped ``engine`` gives elsewhere."""
    yield from on_engine(cast(pytest.FixtureRequest, SimpleNamespace(param=engine, getfixturevalue=request.getfixturevalue)))


@pytest.fixture(autouse=True)
def _both_engines(engine: str) -> str:
    return engine
