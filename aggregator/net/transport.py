"""The httpx transport every fetch goes through: the policy's URL check, then a guarded pool.

``GuardedTransport`` is an ``httpx.BaseTransport`` of its own, built on public API only: it
checks each request's URL with the policy before anything is sent (every redirect hop is its
own request, so every hop is checked), then hands the request to an ``httpcore.ConnectionPool``
whose network backend is ``GuardedBackend`` (``aggregator.net.backend``), and maps httpcore's
requests, responses and errors to httpx's. HTTP/1.1 only; no proxies, ever.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from aggregator.errors import FetchError
from aggregator.net.backend import GuardedBackend
from aggregator.net.policy import NetworkPolicy

POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

# httpcore's errors and the httpx errors they become, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
_CORE_ERRORS = tuple(core for core, _public in _ERRORS)


class GuardedTransport(httpx.BaseTransport):
    """An HTTP/1.1 transport that only reaches what ``policy`` allows.

    ``ssl_context`` replaces the default (certifi's roots, the environment ignored).
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        limits: httpx.Limits = POOL_LIMITS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self._connections = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.policy.check_url(url)
        try:
            with _httpx_errors():
                answer = self._connections.handle_request(_core_request(request))
        except FetchError as exc:  # refused or unresolvable while connecting: name the URL
            raise type(exc)(url, exc.reason) from None
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_BodyStream(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._connections.close()


def _core_request(request: httpx.Request) -> httpcore.Request:
    assert isinstance(request.stream, httpx.SyncByteStream)
    url = request.url
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        ),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


class _BodyStream(httpx.SyncByteStream):
    """httpcore's response body as httpx's, its errors turned into httpx's on the way."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """Raise httpcore's errors as the httpx errors callers catch (``FetchError`` passes)."""
    try:
        yield
    except _CORE_ERRORS as exc:
        raise _translated(exc) from exc


def _translated(exc: Exception) -> httpx.TransportError:
    for core, public in _ERRORS:
        if isinstance(exc, core):
            return public(str(exc))
    return httpx.TransportError(str(exc))
