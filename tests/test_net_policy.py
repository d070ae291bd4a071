"""Which destinations the outbound-request policy refuses: addresses, spellings, schemes.

Pure checks (``aggregator.net.addresses``) and the policy on top (``aggregator.net.policy``);
resolving only ever looks up names this machine answers itself (``localhost``, IP literals).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from aggregator.errors import BlockedDestinationError, FetchError
from aggregator.fetch import FetchLimits, fetch
from aggregator.net import NetworkPolicy, blocked_reason
from aggregator.net.addresses import parse_host_address
from aggregator.net.policy import check_scheme

DENY = NetworkPolicy()
ALLOW_PRIVATE = NetworkPolicy(allow_private=True)

# (address, the words its refusal must name)
FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("fd00::1", "private"),
    ("fc00::1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "address"),  # reserved (class E)
    ("255.255.255.255", "address"),  # broadcast
    ("192.0.2.1", "address"),  # documentation
    ("198.18.0.1", "address"),  # benchmarking
    ("2001:db8::1", "address"),  # documentation
    # IPv6 forms carrying an IPv4 address are judged by that address.
    ("::ffff:127.0.0.1", "loopback address 127.0.0.1 inside"),
    ("::ffff:10.0.0.1", "private address 10.0.0.1 inside"),
    ("::127.0.0.1", "loopback address 127.0.0.1 inside"),  # IPv4-compatible
    ("64:ff9b::a9fe:a9fe", "link-local address 169.254.169.254 inside"),  # NAT64
    ("64:ff9b::7f00:1", "loopback address 127.0.0.1 inside"),
    ("2002:7f00:1::", "loopback address 127.0.0.1 inside"),  # 6to4
    ("2002:a9fe:a9fe::1", "link-local address 169.254.169.254 inside"),
]

PUBLIC = ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1"]


@pytest.mark.parametrize(("address", "named"), FORBIDDEN)
def test_forbidden_addresses_are_named_for_what_they_are(address: str, named: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None and named in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None
    DENY.check_address(address, "http://x/")


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("[fe80::1%eth0]", "fe80::1"),
    ],
)
def test_odd_spellings_parse_to_the_address_a_resolver_would_use(
    spelling: str, address: str
) -> None:
    assert parse_host_address(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "name", ["example.com", "1.2.3.4.5", "256.1.1.1", "0x100.1", "1e1", "08.1.1.1", "1_0.0.0.1", ""]
)
def test_names_and_impossible_numbers_are_not_addresses(name: str) -> None:
    assert parse_host_address(name) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://10.0.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[ff02::1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://0.0.0.0/",
        "http://[::]/",
        "HTTPS://127.0.0.1/",
        "http://user:secret@127.0.0.1/",
    ],
)
def test_urls_naming_forbidden_addresses_are_refused(url: str) -> None:
    with pytest.raises(BlockedDestinationError, match="refused: ") as caught:
        DENY.check_url(url)
    assert caught.value.url == url
    ALLOW_PRIVATE.check_url(url)  # the opt-in opens them


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/feed.xml",
        "data:text/xml,<rss/>",
        "gopher://example.com/",
        "javascript:alert(1)",
        "//example.com/feed",
        "example.com/feed",
    ],
)
def test_only_http_and_https_are_fetched_even_with_the_opt_in(url: str) -> None:
    for policy in (DENY, ALLOW_PRIVATE):
        with pytest.raises(BlockedDestinationError, match="scheme: only http"):
            policy.check_url(url)
    with pytest.raises(BlockedDestinationError):
        check_scheme(url)


def test_a_url_without_a_host_or_with_a_broken_one_is_refused() -> None:
    with pytest.raises(BlockedDestinationError, match="no host"):
        DENY.check_url("http:///feed")
    with pytest.raises(BlockedDestinationError, match="not a valid URL"):
        DENY.check_url("http://[::1/")


def test_public_urls_pass() -> None:
    DENY.check_url("https://example.com/feed/")
    DENY.check_url("http://8.8.8.8:8080/x")
    DENY.check_url("https://[2606:4700:4700::1111]/")


def test_resolving_refuses_a_name_with_a_forbidden_address() -> None:
    with pytest.raises(BlockedDestinationError, match=r"loopback address 127\.0\.0\.1") as caught:
        DENY.resolve("localhost", 80, "http://localhost/")
    assert isinstance(caught.value, FetchError)
    assert caught.value.url == "http://localhost/"
    infos = ALLOW_PRIVATE.resolve("localhost", 80, "http://localhost/")
    assert any(info[4][0] in ("127.0.0.1", "::1") for info in infos)


def test_resolving_checks_the_address_an_odd_spelling_resolves_to() -> None:
    # The C resolver reads "0x7f.1" as 127.0.0.1: the resolved address is what is judged.
    with pytest.raises(BlockedDestinationError, match="loopback"):
        DENY.resolve("0x7f.1", 80, "http://0x7f.1/")


def test_resolving_a_public_literal_gives_it_back() -> None:
    infos = DENY.resolve("8.8.8.8", 443, "https://8.8.8.8/")
    assert {info[4][0] for info in infos} == {"8.8.8.8"}
    assert all(info[4][1] == 443 for info in infos)


@pytest.fixture
def hanging_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The system resolver stuck on every name (as with an unreachable DNS server).

    The one stand-in in these tests: a DNS server that never answers cannot be set up without
    changing the machine's resolver configuration.
    """
    asked: list[str] = []
    release = threading.Event()

    def hang(host: str, *args: object, **kwargs: object) -> list[object]:
        asked.append(host)
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "gave up")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    yield asked
    release.set()


def test_a_lookup_that_hangs_is_abandoned_at_the_timeout(hanging_resolver) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"looking up slow\.example timed out"):
        DENY.resolve("slow.example", 80, "http://slow.example/", timeout=0.3)
    assert time.monotonic() - started < 5
    assert hanging_resolver == ["slow.example"]


def test_a_fetch_stuck_in_dns_ends_at_its_total_time(hanging_resolver) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as failed:
        fetch("http://slow.example/feed", FetchLimits(total_timeout=0.5))
    assert failed.value.url == "http://slow.example/feed"  # the URL asked for, not host:port
    assert time.monotonic() - started < 5
    assert hanging_resolver == ["slow.example"]
