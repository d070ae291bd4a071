"""Which IP addresses count as public: a pure classification, no I/O.

The standard library's ``is_global`` knows the IANA special-purpose registries (private,
loopback, link-local, carrier-grade NAT, documentation, benchmarking, reserved ...). On top of
it: multicast is refused too, and IPv6 forms that carry an IPv4 address (IPv4-mapped,
IPv4-compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address they lead to.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched from, or ``None`` when it is public."""
    for candidate in _forms(address):
        reason = _own_reason(candidate)
        if reason:
            inside = "" if candidate == address else f" inside {address}"
            return f"{reason} {candidate}{inside}"
    return None


def parse_host_address(host: str) -> IPAddress | None:
    """The address a URL host spells, in any form a resolver would accept; ``None`` for names.

    Besides dotted quads and IPv6 (bracketed or not), C resolvers take decimal (``2130706433``),
    octal (``0177.0.0.1``), hexadecimal (``0x7f.1``) and short (``127.1``) IPv4 spellings.
    """
    host = host.strip().strip("[]").rstrip(".")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    return _inet_aton(host)


def _own_reason(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if address.is_unspecified:
        return "unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "carrier-grade NAT address"
    if address.is_private:
        return "private address"
    if address.is_reserved or not address.is_global:
        return "reserved address"
    return None


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _forms(address: IPAddress) -> list[IPAddress]:
    """Every IPv4 address ``address`` embeds, then ``address`` itself."""
    forms: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            embedded.extend(address.teredo)
        if any(address in net for net in _NAT64) or (
            address in _IPV4_COMPATIBLE and int(address) > 1
        ):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        forms.extend(v4 for v4 in embedded if v4 is not None)
    forms.append(address)
    return forms


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """Parse the classic BSD ``inet_aton`` forms: 1 to 4 parts, each decimal, octal or hex."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _number(part)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (24 - 8 * position)
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    match = _NUMBER.fullmatch(part)
    if match is None:
        return None
    hexadecimal, octal, decimal = match.groups()
    if hexadecimal is not None:
        return int(hexadecimal or "0", 16)
    if octal is not None:
        return int(octal, 8)
    return int(decimal, 10)


_NUMBER = re.compile(r"0[xX]([0-9a-fA-F]*)|0([0-7]+)|(0|[1-9][0-9]*)")
