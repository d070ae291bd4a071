"""The outbound-request policy: checks a URL before a request, and an address before connecting.

Resolving happens here, once, and the connection goes to the checked address, so a name that
resolves to a public address when checked and a private one when connecting (DNS rebinding)
cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from aggregator.errors import BlockedDestinationError, FetchError
from aggregator.net.addresses import IPAddress, blocked_reason, parse_host_address
from aggregator.net.origin import scheme_allowed

AddrInfo = tuple[
    socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int] | tuple[str, int, int, int]
]


@dataclass(frozen=True)
class NetworkPolicy:
    """What may be fetched. ``allow_private`` opens loopback and private ranges (local tests)."""

    allow_private: bool = False

    def check_url(self, url: str) -> None:
        """Refuse a URL that is not http(s), has no host, or names a forbidden address."""
        check_scheme(url)
        host = urlsplit(url).hostname
        if not host:
            raise BlockedDestinationError(url, "URL has no host")
        address = parse_host_address(host)
        if address is not None:
            self.check_address(address, url)

    def check_address(self, address: IPAddress | str, url: str) -> None:
        """Refuse a non-public address unless private addresses are allowed."""
        if self.allow_private:
            return
        if isinstance(address, str):
            address = ipaddress.ip_address(address.split("%", 1)[0])
        reason = blocked_reason(address)
        if reason:
            raise BlockedDestinationError(url, f"refused: {reason}")

    def resolve(
        self, host: str, port: int, url: str, timeout: float | None = None
    ) -> list[AddrInfo]:
        """Resolve ``host`` for a TCP connection; every address it gives must pass the policy.

        A name with any forbidden address is refused whole: public sites do not mix them. The
        system resolver has no timeout of its own, so with ``timeout`` the lookup runs on a
        resolver thread and the fetch stops waiting for it after that long.
        """
        try:
            if timeout is None:
                infos = _lookup(host, port)
            else:
                infos = _RESOLVERS.submit(_lookup, host, port).result(timeout=max(timeout, 0))
        except TimeoutError:
            raise FetchError(url, f"looking up {host} timed out") from None
        except (OSError, UnicodeError) as exc:
            raise FetchError(url, f"could not resolve {host}: {exc}") from None
        for info in infos:
            self.check_address(str(info[4][0]), url)
        return infos


def _lookup(host: str, port: int) -> list[AddrInfo]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)  # type: ignore[return-value]


# Lookups that time out keep their thread until the system resolver gives up on its own (its
# retries are bounded), so a few threads are enough.
_RESOLVERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="mutualaid-dns")


def check_scheme(url: str) -> None:
    """Refuse a URL that is not http(s) (or not a URL): the check that needs no policy."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises ValueError on a malformed host part
    except ValueError:
        raise BlockedDestinationError(url, "not a valid URL") from None
    if not scheme_allowed(parts.scheme):
        raise BlockedDestinationError(url, f"{parts.scheme or 'no'} scheme: only http(s)")
