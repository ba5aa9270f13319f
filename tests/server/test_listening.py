"""``workbench.server.listening.listen``, the sockets both ``serve`` paths bind: which addresses it takes on a kernel without a family.

The kernel here has IPv6, so a kernel without it is the socket constructor refusing AF_INET6 with
EAFNOSUPPORT, as such a kernel's does; the addresses served end to end are in
``test_serve_listens_first.py`` and ``tests/multi/test_serve_operator.py``.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import pytest

from workbench.server import listening


def _kernel_refusing(monkeypatch: pytest.MonkeyPatch, refused: set[int], code: int) -> None:
    made = socket.socket

    def refusing(family: int = -1, *args: object, **kwargs: object) -> socket.socket:
        if family in refused:
            raise OSError(code, "refused by the test's kernel")
        return made(family, *args, **kwargs)  # pyright: ignore[reportArgumentType]  # socket.socket's own arguments, passed through

    monkeypatch.setattr(listening.socket, "socket", refusing)


@pytest.fixture
def closing() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_every_address_is_bound_where_the_kernel_has_every_family(closing: list[socket.socket]):
    closing += listening.listen("", 0, 8)
    assert {sock.family for sock in closing} == {socket.AF_INET, socket.AF_INET6}
    assert len({sock.getsockname()[1] for sock in closing}) == 1  # port 0: one port, so one URL


def test_an_address_family_the_kernel_lacks_is_skipped(monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]):
    """getaddrinfo still answers :: on a kernel without IPv6; making its socket failed serve outright."""
    _kernel_refusing(monkeypatch, {socket.AF_INET6}, errno.EAFNOSUPPORT)
    closing += listening.listen("", 0, 8)
    assert [sock.family for sock in closing] == [socket.AF_INET]


def test_no_address_left_is_an_error(monkeypatch: pytest.MonkeyPatch):
    _kernel_refusing(monkeypatch, {socket.AF_INET, socket.AF_INET6}, errno.EAFNOSUPPORT)
    with pytest.raises(OSError) as refused:
        listening.listen("", 0, 8)
    assert refused.value.errno == errno.EAFNOSUPPORT


def test_any_other_failure_to_make_a_socket_is_not_skipped(monkeypatch: pytest.MonkeyPatch):
    """Out of file descriptors is not a missing family: serving fewer addresses for it would be a surprise."""
    _kernel_refusing(monkeypatch, {socket.AF_INET6}, errno.EMFILE)
    with pytest.raises(OSError) as refused:
        listening.listen("", 0, 8)
    assert refused.value.errno == errno.EMFILE
