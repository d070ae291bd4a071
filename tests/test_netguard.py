"""The test suite itself cannot reach any host but loopback (pytest-socket, see pyproject)."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_non_loopback_connections_are_blocked() -> None:
    # 0.0.0.0 is outside the allow-list; were the guard broken, Linux would route it to this
    # machine, so even a failing run of this test sends nothing off the host.
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("0.0.0.0", 9), timeout=1)


def test_loopback_connections_are_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            accepted, _ = server.accept()
            accepted.close()
