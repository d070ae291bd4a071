"""A feed's bytes as UTF-8 before parsing, whatever its headers and XML declaration claim.

Feeds lie about their encoding: a server says ISO-8859-1 for a UTF-8 file, a template keeps
``encoding="windows-1252"`` after the site moved to UTF-8, an editor adds a UTF-8 byte-order
mark to a file declaring something else. feedparser believes the declaration and stores
"Kropotkinâ€™s". The evidence in the bytes wins instead, in this order:

1. a byte-order mark, or the UTF-16/32 pattern of ``<?xml`` (XML 1.0, appendix F);
2. bytes that are valid UTF-8 and not plain ASCII: text in a legacy single-byte encoding
   practically never forms valid multi-byte UTF-8 sequences, so they are UTF-8.

Otherwise (plain ASCII, or not UTF-8 at all) the bytes go to feedparser untouched and its own
detection decides. When the bytes were re-encoded, the XML declaration and the Content-Type
charset are rewritten to say UTF-8, and a note says which declaration was wrong.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aggregator.poll.parsed import FeedParseError

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_PATTERNS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_XML_ENCODING = re.compile(rb"""^(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])([^"'>]*)\2""")
_CHARSET = re.compile(r"""(;\s*charset\s*=\s*)("?)([^";\s]*)\2""", re.IGNORECASE)


@dataclass(frozen=True)
class FeedBytes:
    """A body ready for feedparser, with the headers to give it and what had to be fixed."""

    body: bytes
    headers: dict[str, str]
    notes: tuple[str, ...] = field(default=())


def as_utf8(body: bytes, headers: Mapping[str, str], url: str) -> FeedBytes:
    """Re-encode ``body`` as UTF-8 where its bytes say what it really is (see the module).

    ``headers`` have lower-case names. A byte-order mark the bytes do not match is a
    ``FeedParseError``: nothing trustworthy could be read from them.
    """
    found = _by_mark(body) or _by_pattern(body)
    if found is None:
        if body.isascii() or not _valid_utf8(body):
            return FeedBytes(body, dict(headers))
        encoding, utf8 = "utf-8", body
    else:
        encoding, start = found
        try:
            utf8 = body[start:].decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            reason = f"the bytes are not the {_label(encoding)} their start says"
            raise FeedParseError(url, reason) from None
    claims = _claims(utf8, headers)
    wrong = [f"{where} says {claim}" for where, claim in claims if not _same(claim, encoding)]
    if found is None and not wrong:
        return FeedBytes(body, dict(headers))  # UTF-8, and declared so (or not declared at all)
    notes = (f"read as {_label(encoding)}, but {' and '.join(wrong)}",) if wrong else ()
    return FeedBytes(_declare_utf8(utf8), _utf8_headers(headers), notes)


def _by_mark(body: bytes) -> tuple[str, int] | None:
    for mark, encoding in _MARKS:
        if body.startswith(mark):
            return encoding, len(mark)
    return None


def _by_pattern(body: bytes) -> tuple[str, int] | None:
    for pattern, encoding in _PATTERNS:
        if body.startswith(pattern):
            return encoding, 0
    return None


def _valid_utf8(body: bytes) -> bool:
    if b"\x00" in body[:4]:
        return False  # UTF-16 or UTF-32 without a mark
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _claims(utf8: bytes, headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The encodings declared: (where, name) for the Content-Type and the XML declaration."""
    claims = []
    charset = _CHARSET.search(headers.get("content-type", ""))
    if charset and charset[3]:
        claims.append(("the Content-Type header", charset[3]))
    declared = _XML_ENCODING.match(utf8[:1024])
    if declared and declared[3]:
        claims.append(("the XML declaration", declared[3].decode("ascii", "replace")))
    return claims


def _same(claim: str, encoding: str) -> bool:
    """Does a declared encoding name mean ``encoding``? UTF-16/32 names match their LE/BE forms."""
    try:
        name = codecs.lookup(claim).name
    except LookupError:
        return False
    actual = codecs.lookup(encoding).name
    return name == actual or (name in ("utf-16", "utf-32") and actual.startswith(name))


def _label(encoding: str) -> str:
    return encoding.upper().replace("-LE", "").replace("-BE", "")


def _declare_utf8(body: bytes) -> bytes:
    return _XML_ENCODING.sub(lambda m: m[1] + m[2] + b"UTF-8" + m[2], body, count=1)


def _utf8_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the Content-Type's charset set to UTF-8 (its media type kept)."""
    fixed = dict(headers)
    media = fixed.get("content-type", "").split(";")[0].strip() or "application/xml"
    fixed["content-type"] = f"{media}; charset=utf-8"
    return fixed
