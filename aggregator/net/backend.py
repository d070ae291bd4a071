"""The httpcore network backend under every fetch: policy-checked addresses, per-fetch deadline.

* ``GuardedBackend`` resolves the host through ``NetworkPolicy.resolve`` and connects to the
  checked address itself, so the address connected to is the address checked (no second lookup
  for DNS rebinding to change). TLS still verifies and sends SNI for the URL's host name:
  httpcore passes it to ``start_tls``.
* ``DeadlineStream`` bounds every connect, TLS handshake, read and write by the time left in
  the current fetch (``aggregator.net.deadline``), so a dripping server is cut off; under a
  stop event, reads wait in steps of ``STOP_CHECK`` and end once it is set.

Only httpcore's public backend interface is used; ``aggregator.net.transport`` puts a
connection pool over it.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore

from aggregator.errors import FetchStoppedError
from aggregator.net.deadline import stop_event, time_left
from aggregator.net.policy import NetworkPolicy

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

STOP_CHECK = 0.25  # seconds a read waits before looking at the stop event again


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to addresses the policy accepts, found by resolving once."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        _check_stop(stop_event())
        lookup_timeout = _bounded(timeout, httpcore.ConnectTimeout)
        infos = self.policy.resolve(host, port, f"{host}:{port}", lookup_timeout)
        failure: Exception = httpcore.ConnectError(f"no address found for {host}")
        for info in infos:
            _check_stop(stop_event())
            address = str(info[4][0])
            try:
                stream = self._sockets.connect_tcp(
                    address,
                    port,
                    _bounded(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next address the name has
                continue
            return DeadlineStream(stream)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched from")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the current fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        stop = stop_event()
        if stop is None:
            return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))
        return self._read_until_stopped(max_bytes, timeout, stop)

    def _read_until_stopped(
        self, max_bytes: int, timeout: float | None, stop: threading.Event
    ) -> bytes:
        """``read``, in steps of ``STOP_CHECK``: a timed-out ``recv`` consumed nothing, so the
        next step goes on where it left off."""
        began = time.monotonic()
        while True:
            _check_stop(stop)
            own = None if timeout is None else timeout - (time.monotonic() - began)
            left = _bounded(own, httpcore.ReadTimeout)
            step = STOP_CHECK if left is None else min(left, STOP_CHECK)
            try:
                return self._inner.read(max_bytes, step)
            except httpcore.ReadTimeout:
                if left is not None and left <= STOP_CHECK:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _check_stop(stop_event())
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise FetchStoppedError("")  # the fetch names its URL on the way up


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    left = time_left(timeout)
    if left is not None and left <= 0:
        raise error("the fetch took longer than its total time limit")
    return left
