"""Normalisation: the same article, reached by other URLs, dates or encodings, gives one record.

Pure functions with no I/O; the ingest core passes ``now`` in. URLs are cleaned with our own
rules rather than ``courlan.normalize_url``, which drops content parameters (``source``, ``ref``,
``gallery``, ``global``, any bare ``?flag``), keeps ``user:password@``, turns punycode hosts into
Unicode and escapes ``+ @ ; ( )`` in paths. Where a rule is unsure we keep the difference: a
duplicate left in costs a second record that the content hash can still catch; two articles merged
into one URL lose one of them for good.
"""

from __future__ import annotations

import html
import ipaddress
import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urljoin, urlsplit

from aggregator.textclean import CONTROL_CHARACTERS

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# --- URLs ----------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_KEY_SAFE = _UNRESERVED | frozenset("!$'()*+,;:@/?")
_QUERY_VALUE_SAFE = _QUERY_KEY_SAFE | {"="}
_URL_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|.", re.DOTALL)
_URL_EDGE_JUNK = "".join(map(chr, range(0x21)))
_URL_INNER_JUNK = re.compile(r"[\t\n\r]")
_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_YEAR_SEGMENT = re.compile(r"(?:19|20)\d\d")

# Parameters that only say where a click came from. ``ref`` and ``source`` are left alone: some
# sites use them to pick the content.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "twclid", "ttclid",
        "yclid", "ysclid", "igshid", "igsh", "li_fat_id", "mc_cid", "mc_eid", "_ga", "_gl",
        "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "mkt_tok", "oly_anon_id", "oly_enc_id",
        "rb_clid", "vero_id", "vero_conv", "wickedid", "ref_src", "ref_url",
        "__twitter_impression", "fb_action_ids", "fb_action_types", "fb_ref", "fb_source",
        "action_object_map", "action_type_map", "action_ref_map", "share",
        "pk_campaign", "pk_kwd", "pk_source", "pk_medium", "pk_content", "pk_cid",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "mtm_", "hsa_")
_AMP_FLAG_VALUES = frozenset({"", "1", "true"})


def canonical_url(url: str, *, base: str | None = None, declared: str | None = None) -> str:
    """Return the one URL that stands for ``url``; raise ``ValueError`` unless it is http(s).

    ``base`` resolves a relative ``url``. ``declared`` is the page's own ``rel=canonical`` or
    ``og:url``, relative to the page; it wins unless it is unusable or obviously bogus (the home
    page for a deeper page, or a host written without a scheme). Another domain is accepted:
    syndicated copies point to the original.
    """
    page = _prepare(url)
    if base:
        page = urljoin(_prepare(base), page)
    result = _canonicalize(page)
    if declared is not None:
        return _declared_canonical(declared, page, result) or result
    return result


def _prepare(url: str) -> str:
    """Drop what browsers drop: surrounding spaces and controls, and tabs or newlines anywhere."""
    return _URL_INNER_JUNK.sub("", url.strip(_URL_EDGE_JUNK))


def _declared_canonical(declared: str, page: str, page_canonical: str) -> str | None:
    declared = _prepare(declared)
    if not declared or declared.startswith("#") or _is_bare_host(declared):
        return None
    try:
        candidate = _canonicalize(urljoin(page, declared))
    except ValueError:
        return None
    if _is_root(candidate) and not _is_root(page_canonical):
        return None  # a CMS that points every page at the home page
    return candidate


def _is_bare_host(reference: str) -> bool:
    """True for ``example.org/story``: a host missing its scheme, not a relative path."""
    if urlsplit(reference).scheme or reference.startswith(("/", ".", "?")):
        return False
    from courlan import extract_domain  # here: courlan and its imports cost ~30 ms at start-up

    first = reference.split("/", 1)[0]
    return "." in first and extract_domain(f"http://{first}/") is not None


def _is_root(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path == "/" and not parts.query


def _canonicalize(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {url!r}")
    host = _strip_amp_host(_normalize_host(parts.hostname))
    port = parts.port  # raises ValueError when not a number in range
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = _normalize_query(parts.query)
    return f"{scheme}://{netloc}{_normalize_path(parts.path)}{'?' + query if query else ''}"


def _normalize_host(host: str) -> str:
    """Lowercase, punycode, no trailing dot; IPv6 in brackets."""
    if ":" in host:
        return f"[{ipaddress.IPv6Address(host).compressed}]"
    try:
        ascii_host = host.lower().rstrip(".").encode("idna").decode("ascii")
    except UnicodeError as error:
        raise ValueError(f"invalid host {host!r}: {error}") from error
    if not _HOST.fullmatch(ascii_host):
        raise ValueError(f"invalid host {host!r}")
    return ascii_host.lower()


def _strip_amp_host(host: str) -> str:
    """``amp.example.org`` is the AMP copy of ``example.org``; ``amp.co.uk`` is a site itself."""
    while host.startswith("amp.") and _registered_domain(host) != host:
        host = host[len("amp.") :]
    return host


def _normalize_percent(part: str, safe: frozenset[str]) -> str:
    """Decode escaped unreserved characters, uppercase other escapes, escape what must be."""

    def fix(match: re.Match[str]) -> str:
        token = match.group()
        if len(token) == 3:
            char = chr(int(token[1:], 16))
            return char if char in _UNRESERVED else token.upper()
        return token if token in safe else quote(token, safe="")

    return _URL_TOKEN.sub(fix, part)


def _normalize_path(path: str) -> str:
    """No empty, ``.`` or ``..`` segments, no AMP markers, no trailing slash except the root."""
    segments: list[str] = []
    for segment in _normalize_percent(path, _PATH_SAFE).split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return "/" + "/".join(_strip_amp_segments(segments))


def _strip_amp_segments(segments: list[str]) -> list[str]:
    """Undo AMP paths: ``/x/amp``, ``/amp/2024/...`` and ``x.amp.html``, until none is left."""
    while True:
        if len(segments) >= 2 and segments[-1].lower() == "amp":
            segments = segments[:-1]
        elif (
            len(segments) >= 2
            and segments[0].lower() == "amp"
            and _YEAR_SEGMENT.fullmatch(segments[1])
        ):
            segments = segments[1:]
        elif segments and segments[-1].lower().endswith(".amp.html") and len(segments[-1]) > 9:
            segments = [*segments[:-1], segments[-1][: -len(".amp.html")] + ".html"]
        else:
            return segments


def _normalize_query(query: str) -> str:
    """Drop trackers and AMP flags, sort by key (keeping the order of repeated keys)."""
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        key, sep, value = piece.partition("=")
        key = _normalize_percent(key, _QUERY_KEY_SAFE)
        value = _normalize_percent(value, _QUERY_VALUE_SAFE)
        if (key or value) and not _is_tracking(key, value):
            pairs.append((key, f"{key}{sep}{value}"))
    pairs.sort(key=lambda pair: pair[0])
    return "&".join(text for _, text in pairs)


def _is_tracking(key: str, value: str) -> bool:
    name = unquote(key).lower()
    if name == "amp":
        return value.lower() in _AMP_FLAG_VALUES
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on one registered domain (``www.``, subdomains and ports aside).

    Uses the public suffix list through courlan, so ``a.github.io`` and ``b.github.io`` differ.
    Not ``courlan.is_external``: by default it ignores the suffix (``example.com`` is then the
    same site as ``example.org``), and its fast path misreads hosts such as ``news.bbc.co.uk``.
    """
    host_a, host_b = _site_host(a), _site_host(b)
    if host_a is None or host_b is None:
        return False
    return _registered_domain(host_a) == _registered_domain(host_b)


def _site_host(url: str) -> str | None:
    try:
        host = urlsplit(_prepare(url)).hostname
        return _normalize_host(host) if host else None
    except ValueError:
        return None


def _registered_domain(host: str) -> str:
    if host.startswith("[") or "." not in host or _is_ipv4(host):
        return host
    from courlan import extract_domain

    domain = extract_domain(f"http://{host}/")
    if domain:
        return domain
    return ".".join(host.split(".")[-2:])  # a suffix the list does not know, e.g. ``.test``


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


# --- Links in HTML -------------------------------------------------------------------------------

_SRCSET_URL = re.compile(r"[\s,]*(\S+)")
_SRCSET_DESCRIPTOR = re.compile(r"([^,]*)(?:,|$)")


def resolve_links(fragment_html: str, base_url: str) -> str:
    """Make ``href``, ``src`` and ``srcset`` absolute against ``base_url``; return a fragment.

    ``#anchor`` and ``mailto:`` links are left as they are. lxml reserialises the markup, so
    quoting and unclosed tags may change; the content does not.
    """
    if not fragment_html.strip():
        return fragment_html
    import lxml.html  # here: most users of this module only clean URLs and text

    wrapper = lxml.html.fragment_fromstring(fragment_html, create_parent="div")
    for element in wrapper.iter():
        if not isinstance(element.tag, str):
            continue  # a comment or processing instruction
        for name in ("href", "src"):
            value = element.get(name)
            if value is not None:
                element.set(name, _absolute(value, base_url))
        srcset = element.get("srcset")
        if srcset is not None:
            element.set("srcset", _absolute_srcset(srcset, base_url))
    return _inner_html(wrapper)


def _absolute(link: str, base_url: str) -> str:
    stripped = link.strip()
    if not stripped or stripped.startswith("#") or stripped.lower().startswith("mailto:"):
        return link
    try:
        return urljoin(base_url, stripped)
    except ValueError:
        return link


def _absolute_srcset(srcset: str, base_url: str) -> str:
    """Resolve each candidate of ``url [descriptor], ...``; a URL may itself contain commas."""
    candidates: list[str] = []
    position = 0
    while match := _SRCSET_URL.match(srcset, position):
        link, position = match.group(1), match.end()
        descriptor = ""
        if link.endswith(","):
            link = link.rstrip(",")
        else:
            described = _SRCSET_DESCRIPTOR.match(srcset, position)
            if described:
                descriptor, position = described.group(1).strip(), described.end()
        candidates.append(f"{_absolute(link, base_url)} {descriptor}".rstrip())
    return ", ".join(candidates) if candidates else srcset


def _inner_html(wrapper: HtmlElement) -> str:
    import lxml.html

    text = html.escape(wrapper.text or "", quote=False)
    return text + "".join(lxml.html.tostring(child, encoding="unicode") for child in wrapper)


# --- Text ----------------------------------------------------------------------------------------

_LINE_BREAKS = {"\v": "\n", "\f": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"}
# Invisible characters that only get in the way of search and comparison: zero-width space,
# BOM, word joiner, soft hyphen, Mongolian vowel separator. ZWJ and ZWNJ are not here: they
# shape emoji and Persian or Indic words, so they stay between two visible characters.
_INVISIBLE = "\u200b\ufeff\u2060\u00ad\u180e"
_TEXT_TABLE = str.maketrans(
    {
        **dict.fromkeys(CONTROL_CHARACTERS),
        **dict.fromkeys(_INVISIBLE),
        **_LINE_BREAKS,
        "\t": "\t",
        "\n": "\n",
    }
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_LOOSE_JOINER = re.compile(r"(?<!\S)[\u200c\u200d]+|[\u200c\u200d]+(?!\S)")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Return ``text`` in NFC with one space between words and one blank line between paragraphs.

    Control characters (NUL among them: PostgreSQL rejects it) and invisible characters go; line
    and paragraph separators become newlines; tabs and every Unicode space (NBSP included)
    become plain spaces; lone surrogates, which cannot be stored as UTF-8, become U+FFFD.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TEXT_TABLE)
    text = unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text))
    text = _INLINE_SPACE.sub(" ", _LOOSE_JOINER.sub("", text))
    text = "\n".join(line.strip(" ") for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def clean_inline(text: str | None) -> str | None:
    """Clean a title or author to one line; ``None`` when nothing is left."""
    if text is None:
        return None
    return " ".join(clean_text(text).split()) or None
