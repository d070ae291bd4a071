"""Property tests on hostile input: the HTML sanitiser, the URL normaliser, Retry-After, slugs.

Strategies mix known-dangerous fragments (and their mixed-case, entity-encoded and
control-character variants) with random text, so hypothesis explores around what attackers
actually send instead of only uniform noise. Example counts stay modest to keep the suite fast.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from aggregator.normalize import canonical_url
from aggregator.poll.http import MAX_HINT, retry_after
from aggregator.publish.names import SLUG_MAX_BYTES, is_slug, slugify_tag
from aggregator.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    GENERIC_ATTRIBUTES,
    sanitize_html,
)
from aggregator.textclean import without_controls

FUZZ = settings(max_examples=250, deadline=None)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

# --- the sanitiser -------------------------------------------------------------------------------

DANGEROUS = [
    "<script>alert(1)</script>",
    "<script src=https://evil.example/x.js></script>",
    "<img src=x onerror=alert(1)>",
    '<img src="https://ok.example/a.png" onerror="alert(1)">',
    "<a href=javascript:alert(1)>x</a>",
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="  JaVaScRiPt&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math href=javascript:alert(1)>x</math>",
    "<iframe src=https://evil.example/></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<base href=https://evil.example/>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<p style="background:url(javascript:alert(1))">s</p>',
    "<form action=https://evil.example/><input name=q><button>go</button></form>",
    "<object data=x.swf></object><embed src=x.swf>",
    "<template><img src=x onerror=alert(1)></template>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<IMG SRC=x OnErRoR=alert(1)>",
    "<a href=https://ok.example/ onmouseover=alert(1)>ok</a>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<scr<script>ipt>alert(1)</script>",
    "<a href=mailto:someone@example.org>mail</a>",
    "<a href=https://ok.example/x>ok</a>",
    "<img src=https://ok.example/i.png alt=pic>",
    "<blockquote cite=javascript:alert(1)>q</blockquote>",
    "<q cite=https://ok.example/>q</q>",
]
PUNCTUATION = ["<", ">", "</", "/>", "&", "&#", "&#x", ";", '"', "'", "=", "`", "<!--", "-->", "\\"]
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.characters(
    min_codepoint=0x7F, max_codepoint=0x9F
)
ENTITY = st.integers(0, 0x10FFFF).map(lambda code: f"&#{code};") | st.integers(0, 0xFF).map(
    lambda code: f"&#x{code:x};"
)


def _variant(fragment: str, draw: st.DrawFn) -> str:
    """The fragment as an attacker might disguise it: case, entities, a control character."""
    how = draw(st.sampled_from(["as is", "swapcase", "upper", "entity", "control"]))
    if how == "swapcase":
        return fragment.swapcase()
    if how == "upper":
        return fragment.upper()
    if how == "entity" and fragment:
        position = draw(st.integers(0, len(fragment) - 1))
        char = fragment[position]
        return f"{fragment[:position]}&#{ord(char)};{fragment[position + 1 :]}"
    if how == "control" and fragment:
        position = draw(st.integers(0, len(fragment)))
        return fragment[:position] + draw(CONTROL) + fragment[position:]
    return fragment


@st.composite
def html_ish(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(DANGEROUS),
                st.sampled_from(sorted(ALLOWED_TAGS)).map(lambda tag: f"<{tag}>"),
                st.sampled_from(sorted(ALLOWED_TAGS)).map(lambda tag: f"</{tag}>"),
                st.sampled_from(PUNCTUATION),
                ENTITY,
                CONTROL,
                st.text(max_size=12),
            ),
            max_size=20,
        )
    )
    return "".join(_variant(piece, draw) for piece in pieces)


_URL_ATTRIBUTES = {"href", "src", "cite"}
LINK_REL = {"a": {"rel"}}  # added by the sanitiser itself
_OUTPUT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _check_clean(cleaned: str) -> None:
    assert not _OUTPUT_CONTROL.search(cleaned), repr(cleaned)
    tree = lxml_html.fragment_fromstring(cleaned or "<p></p>", create_parent="div")
    for element in tree.iterdescendants():
        assert isinstance(element.tag, str), "comments and processing instructions are stripped"
        assert element.tag in ALLOWED_TAGS, element.tag
        allowed = GENERIC_ATTRIBUTES | ALLOWED_ATTRIBUTES.get(element.tag, set())
        allowed |= LINK_REL.get(element.tag, set())
        for name, value in element.attrib.items():
            assert name in allowed, (element.tag, name)
            assert not _OUTPUT_CONTROL.search(value)
            if name in _URL_ATTRIBUTES:
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in {"http", "https", "mailto"}, value


@FUZZ
@given(html_ish())
@example("<a href='java&#0;script:alert(1)'>x</a>")
@example("<p>&#x1b;[31m&#0;&#128;</p>")
@example("<svg><p><style><img src=x onerror=alert(1)></style></p></svg>")
@example("<h1><s&#99;ript>alert(1)</script><h1>")  # unwrapping nested a heading in a heading
@example("<blockquote cite=javascript:alert(1)>q</blockquote>")  # ammonia skips cite
def test_sanitised_html_holds_only_what_the_allowlist_allows(fragment: str) -> None:
    cleaned = sanitize_html(fragment)
    _check_clean(cleaned)
    assert sanitize_html(cleaned) == cleaned  # sanitising twice changes nothing


@FUZZ
@given(st.text())
@example("\ufffe<p>\uffff&#xfffe;</p>")  # not characters in XML; lxml refuses them
def test_sanitiser_takes_any_text(text: str) -> None:
    cleaned = sanitize_html(text)
    _check_clean(cleaned)
    assert sanitize_html(cleaned) == cleaned


def _is_control(character: str) -> bool:
    """What the sanitiser strips, written out by code point (not as the sanitiser does it)."""
    code = ord(character)
    c0 = code < 0x20 and character not in "\t\n\r"
    return c0 or 0x7F <= code <= 0x9F or code in (0xFFFE, 0xFFFF)


# Each side of every edge of what is stripped, the characters sharing a UTF-8 lead byte with
# stripped ones, lone surrogates, and characters beyond the Basic Multilingual Plane.
EDGES = st.sampled_from(
    [
        *"\x00\x08\t\n\x0b\x0c\r\x0e\x1f \x7e\x7f\x80\x9f\xa0\xbf\xc2\xef\u0100\u2019",
        *("\ufeff", "\ufffd", "\ufffe", "\uffff", "\ud800", "\udfff", "\U00010000", "\U0010ffff"),
    ]
)


@FUZZ
@given(st.lists(EDGES | st.characters(exclude_categories=()), max_size=40).map("".join))
@example("a\x85b\xa0c\u00bb\ufffe\uffefd\n")
def test_the_quick_control_check_strips_exactly_the_control_characters(text: str) -> None:
    expected = "".join(character for character in text if not _is_control(character))
    assert without_controls(text) == expected


# --- the URL normaliser --------------------------------------------------------------------------

URL_JUNK = st.sampled_from(
    [" ", "\t", "\n", "\x00", "\x0b", "\x7f", "\u00a0", "\u2028", "\ufeff", "%", "%00", "%0a",
     "%20", "%ff", "%2e", "%2E%2E", "..", "/", "//", "\\", "?", "#", "&", "=", "@", ":", "[", "]",
     "utm_source=x", "UTM_Campaign=y", "%75tm_medium=z", "utm%5Fterm=w", "fbclid=1", "amp=1",
     "javascript:", "data:", "ftp://", "http:", "https://", "HTTP://", "user:pw@", ":8080",
     ":99999", "[::1]", "xn--", "bücher", "ß", "ı", "İ", "\u200b"]
)  # fmt: skip
URL_ISH = st.lists(
    st.one_of(URL_JUNK, st.text(max_size=6), st.sampled_from(["example.org", "a.b", "x"])),
    max_size=14,
).map("".join)
WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _canonical_or_none(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:  # the documented refusal: not an http(s) URL one can use
        return None


@FUZZ
@given(st.one_of(URL_ISH, URL_ISH.map(lambda rest: f"https://example.org/{rest}"), st.text()))
@example("https://example.org/?utm_source=a&%75tm_medium=b&utm%5fterm=c&id=1")
@example("https://example.org/a b\x00c\u2028?q=\u00a0")
@example("http://EXAMPLE.org:80/%7e/./../x/?b=2&a=1#frag")
def test_canonical_urls_are_http_clean_idempotent_and_untracked(url: str) -> None:
    canonical = _canonical_or_none(url)
    if canonical is None:
        return
    assert canonical_url(canonical) == canonical
    assert not WHITESPACE_OR_CONTROL.search(canonical), repr(canonical)
    parts = urlsplit(canonical)
    assert parts.scheme in {"http", "https"} and parts.hostname
    assert canonical.isascii()
    assert "#" not in canonical and "@" not in parts.netloc
    for key, _value in parse_qsl(parts.query, keep_blank_values=True):
        assert not key.lower().startswith("utm_"), canonical
        assert key.lower() not in {"fbclid", "gclid"}, canonical


# --- Retry-After ---------------------------------------------------------------------------------

HEADER_JUNK = st.one_of(
    st.text(max_size=30),
    st.text(string.digits + " +-.,:eE", max_size=25),
    st.integers(-(10**30), 10**30).map(str),
    st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.strftime("%a, %d %b %Y %T GMT")),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=4),
)


@FUZZ
@given(HEADER_JUNK)
@example("²")  # str.isdigit() says yes, int() says no
@example("١٢٠")  # Arabic-Indic digits are not HTTP digits
@example("Fri, 31 Dec 9999 23:59:59 -2359")
@example("Mon, 01 Jan 0001 00:00:00 +2359")
def test_retry_after_never_raises_and_stays_within_the_cap(value: str) -> None:
    delay = retry_after(value, NOW)
    assert delay is None or timedelta(0) <= delay <= MAX_HINT
    if delay is not None and value.strip().isascii() and value.strip().isdigit():
        assert delay.total_seconds() == min(int(value.strip()), MAX_HINT.total_seconds())
    if not value.strip().isascii():
        assert delay is None


# --- tag slugs (file names of tag feeds) ---------------------------------------------------------


SLUG_JUNK = ["..", "/", "\\", "\x00", ".", " ", "-", "_", "漢", "𠀀", "a", "İ", "ﬀ", "<b>", "&amp;"]


@FUZZ
@given(st.one_of(st.text(), st.lists(st.sampled_from(SLUG_JUNK)).map("".join)))
@example("../../etc/x")
@example("𠀀" * 100)
def test_tag_slugs_are_plain_file_names(tag: str) -> None:
    slug = slugify_tag(tag)
    if not slug:
        return
    assert is_slug(slug) and slugify_tag(slug) == slug
    assert not set(slug) & {"/", "\\", ".", "\x00"}
    assert not slug.startswith("-") and not slug.endswith("-")
    assert len(slug.encode("utf-8")) <= SLUG_MAX_BYTES
