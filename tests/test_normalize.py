"""Normalisation: one article, many spellings of its URL, date and text, one record."""

from __future__ import annotations

import string
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import normalize_date
from aggregator.normalize import (
    canonical_url,
    clean_inline,
    clean_text,
    resolve_links,
    same_site,
)

POST = "https://countercurrents.org/2024/03/mutual-aid-in-gaza"


# --- canonical_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # WordPress permalinks, with and without the slash, and as feeds link them
        (f"{POST}/", POST),
        (POST, POST),
        (f"{POST}/?utm_source=rss&utm_medium=rss&utm_campaign=mutual-aid-in-gaza", POST),
        (f"{POST}/?UTM_Source=x&fbclid=abc&gclid=1&mc_cid=2&mc_eid=3&_ga=4&igshid=5", POST),
        (f"{POST}/?msclkid=1&dclid=2&yclid=3&ref_src=twsrc%5Etfw&share=facebook", POST),
        # hosts, ports, credentials, fragments
        (
            "HTTPS://CounterCurrents.ORG/2024/03/Mutual-Aid/",
            "https://countercurrents.org/2024/03/Mutual-Aid",
        ),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("https://example.org:80/a", "https://example.org:80/a"),
        ("https://user:secret@example.org/a", "https://example.org/a"),
        ("https://example.org/a#comment-12", "https://example.org/a"),
        ("https://example.org./a", "https://example.org/a"),
        ("https://bücher.example/kropotkin", "https://xn--bcher-kva.example/kropotkin"),
        ("http://[0:0::1]:8080/a/", "http://[::1]:8080/a"),
        # root and empty query
        ("https://example.org", "https://example.org/"),
        ("https://example.org/?", "https://example.org/"),
        ("https://example.org/?utm_source=rss", "https://example.org/"),
        # paths: duplicate slashes, dot segments, percent-encoding, case kept
        ("https://example.org//2024///01//slug//", "https://example.org/2024/01/slug"),
        ("https://example.org/a/./b/../c", "https://example.org/a/c"),
        ("https://example.org/../../a", "https://example.org/a"),
        ("https://example.org/a/%2E%2E/b", "https://example.org/b"),
        ("https://example.org/%7euser/%41%62c", "https://example.org/~user/Abc"),
        ("https://example.org/a%2fb/%e2%82%ac", "https://example.org/a%2Fb/%E2%82%AC"),
        ("https://example.org/mutual aid/é", "https://example.org/mutual%20aid/%C3%A9"),
        ("https://example.org/100%/x", "https://example.org/100%25/x"),
        ("https://example.org/c++/a;b=1/(x)@y", "https://example.org/c++/a;b=1/(x)@y"),
        # queries: sorted by key, repeated keys keep their order, content parameters kept
        ("https://example.org/?b=2&a=1&b=1", "https://example.org/?a=1&b=2&b=1"),
        ("https://example.org/?p=123&&", "https://example.org/?p=123"),
        ("https://example.org/?s=a+b&x=%7e%2f", "https://example.org/?s=a+b&x=~%2F"),
        (
            "https://example.org/?source=x&ref=y&gallery=2&flag",
            "https://example.org/?flag&gallery=2&ref=y&source=x",
        ),
        ("https://example.org/?%75tm_medium=rss&id=5", "https://example.org/?id=5"),
        # AMP
        (f"{POST}/amp/", POST),
        (f"{POST}/amp", POST),
        (f"{POST}/?amp", POST),
        (f"{POST}/?amp=1", POST),
        (f"{POST}/?p=1&amp=1", f"{POST}?p=1"),
        ("https://example.org/?amp=page", "https://example.org/?amp=page"),
        ("https://example.org/amp/2024/01/x/", "https://example.org/2024/01/x"),
        ("https://example.org/amp/about/", "https://example.org/amp/about"),
        ("https://example.org/amp", "https://example.org/amp"),
        ("https://amp.example.org/2024/01/x", "https://example.org/2024/01/x"),
        ("https://amp.co.uk/x", "https://amp.co.uk/x"),
        ("https://example.org/news/story.amp.html", "https://example.org/news/story.html"),
        ("https://amp.example.org/amp/2024/01/x/amp/?amp=1#top", "https://example.org/2024/01/x"),
        # browsers ignore surrounding spaces and newlines inside
        ("  https://example.org/a\n/b \t", "https://example.org/a/b"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        # relative links against the final URL after a redirect
        (
            "../../02/other/",
            "https://example.org/2024/01/post/",
            "https://example.org/2024/02/other",
        ),
        ("other", "https://example.org/2024/01/post", "https://example.org/2024/01/other"),
        ("/about/", "https://example.org/2024/01/post/", "https://example.org/about"),
        ("//cdn.example.net/x", "https://example.org/", "https://cdn.example.net/x"),
        ("?page=2", "https://example.org/list/?page=1", "https://example.org/list?page=2"),
        ("https://other.org/x", "https://example.org/", "https://other.org/x"),
    ],
)
def test_canonical_url_resolves_against_base(url: str, base: str, expected: str) -> None:
    assert canonical_url(url, base=base) == expected


PAGE = "https://example.org/2024/01/kropotkin-today/"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (
            "https://example.org/2024/01/kropotkin-today/?utm_source=x",
            "https://example.org/2024/01/kropotkin-today",
        ),
        # syndicated copy pointing at the original on another domain
        (
            "https://original.net/essays/kropotkin-today/",
            "https://original.net/essays/kropotkin-today",
        ),
        ("/2024/01/kropotkin-today-2/", "https://example.org/2024/01/kropotkin-today-2"),
        ("/?p=42", "https://example.org/?p=42"),
        # bogus: the home page, a host without scheme, not http, empty, anchors
        ("https://example.org/", "https://example.org/2024/01/kropotkin-today"),
        ("/", "https://example.org/2024/01/kropotkin-today"),
        ("https://www.example.org", "https://example.org/2024/01/kropotkin-today"),
        ("example.org/2024/01/kropotkin-today-2/", "https://example.org/2024/01/kropotkin-today"),
        ("javascript:void(0)", "https://example.org/2024/01/kropotkin-today"),
        ("https://", "https://example.org/2024/01/kropotkin-today"),
        ("", "https://example.org/2024/01/kropotkin-today"),
        ("#main", "https://example.org/2024/01/kropotkin-today"),
    ],
)
def test_canonical_url_prefers_a_sane_declared_canonical(declared: str, expected: str) -> None:
    assert canonical_url(PAGE, declared=declared) == expected


def test_declared_home_page_is_accepted_for_the_home_page() -> None:
    assert (
        canonical_url("https://example.org/?utm_source=x", declared="/") == "https://example.org/"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "mailto:editor@example.org",
        "data:text/html,<p>hi</p>",
        "file:///etc/passwd",
        "ftp://example.org/a",
        "http:///no-host",
        "https://",
        "//example.org/no-scheme",
        "/relative/without/base",
        "",
        "https://exa mple.org/",
        "https://example..org/",
        "http://example.org:99999/",
        "http://example.org:port/",
    ],
)
def test_canonical_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(url)


ALNUM = string.ascii_lowercase + string.digits
HOST_LABEL = st.builds(
    lambda head, middle: head + middle,
    st.text(ALNUM, min_size=1, max_size=6),
    st.sampled_from(["", "-x", "--2"]),
)
HOST = st.builds(
    lambda labels, suffix, upper: (
        ".".join([*labels, suffix]).upper() if upper else ".".join([*labels, suffix])
    ),
    st.lists(
        st.one_of(HOST_LABEL, st.sampled_from(["amp", "www", "bücher", "солидарность"])),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["org", "com", "net", "co.uk", "de", "test"]),
    st.booleans(),
)
ESCAPE = st.builds("%{:02x}".format, st.integers(0, 255))
PATH_CHAR = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@éü"), ESCAPE
)
SEGMENT = st.one_of(
    st.lists(PATH_CHAR, max_size=8).map("".join),
    st.sampled_from(["", ".", "..", "amp", "2024", "x.amp.html"]),
)
QUERY_CHAR = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "-._~!$'()*+,;:@/?"), ESCAPE
)
QUERY_KEY = st.one_of(
    st.lists(QUERY_CHAR, max_size=6).map("".join),
    st.sampled_from(["utm_source", "UTM_Medium", "utm_campaign", "fbclid", "amp", "p", "id"]),
)
QUERY_PAIR = st.builds(
    lambda key, value: key if value is None else f"{key}={value}",
    QUERY_KEY,
    st.none() | st.lists(st.one_of(QUERY_CHAR, st.just("=")), max_size=6).map("".join),
)
URL = st.builds(
    lambda scheme, host, port, segments, pairs, fragment: (
        f"{scheme}://{host}{port}/{'/'.join(segments)}"
        + (f"?{'&'.join(pairs)}" if pairs else "")
        + (f"#{fragment}" if fragment is not None else "")
    ),
    st.sampled_from(["http", "https", "HTTPS"]),
    HOST,
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.lists(SEGMENT, max_size=5),
    st.lists(QUERY_PAIR, max_size=5),
    st.none() | st.text(string.ascii_letters + "=&_", max_size=10),
)


@settings(max_examples=200, deadline=None)
@given(URL)
def test_canonical_url_is_idempotent_and_clean(url: str) -> None:
    canonical = canonical_url(url)
    assert canonical_url(canonical) == canonical
    parts = urlsplit(canonical)
    assert "#" not in canonical
    assert parts.scheme in {"http", "https"}
    assert parts.hostname and parts.hostname.isascii()
    keys = [key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    assert not any(key.startswith("utm_") or key == "fbclid" for key in keys)


# --- same_site ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("https://www.example.org/x", "https://example.org/y", True),
        ("https://blog.example.org/", "http://example.org:8080/", True),
        ("https://news.bbc.co.uk/", "https://www.bbc.co.uk/", True),
        ("https://EXAMPLE.org/", "https://example.org/", True),
        ("https://bücher.de/", "https://www.xn--bcher-kva.de/", True),
        ("http://localhost:8000/", "http://localhost/", True),
        ("https://a.x.test/", "https://x.test/", True),
        ("https://example.com/", "https://example.org/", False),
        ("https://example.co.uk/", "https://other.co.uk/", False),
        ("https://alice.github.io/", "https://bob.github.io/", False),
        ("http://127.0.0.1/", "http://127.0.0.2/", False),
        ("mailto:someone@example.org", "https://example.org/", False),
        ("not a url", "https://example.org/", False),
    ],
)
def test_same_site(a: str, b: str, expected: bool) -> None:
    assert same_site(a, b) is expected
    assert same_site(b, a) is expected


# --- resolve_links ------------------------------------------------------------------------------

BASE = "https://example.org/2024/01/post/"


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<a href="/about">a</a>', '<a href="https://example.org/about">a</a>'),
        ('<img src="pic.jpg">', '<img src="https://example.org/2024/01/post/pic.jpg">'),
        ('<a href="#note-1">1</a>', '<a href="#note-1">1</a>'),
        ('<a href="mailto:ed@example.org">ed</a>', '<a href="mailto:ed@example.org">ed</a>'),
        ('<a href="https://other.org/x">x</a>', '<a href="https://other.org/x">x</a>'),
        ('<a href="//cdn.example.net/x">x</a>', '<a href="https://cdn.example.net/x">x</a>'),
        (
            '<img srcset="a.jpg 1x, /b.jpg 2x, https://c.org/c.jpg">',
            '<img srcset="https://example.org/2024/01/post/a.jpg 1x, https://example.org/b.jpg 2x,'
            ' https://c.org/c.jpg">',
        ),
        (
            '<img srcset="/w_300,h_200/a.jpg 300w,/b.jpg 600w">',
            '<img srcset="https://example.org/w_300,h_200/a.jpg 300w,'
            ' https://example.org/b.jpg 600w">',
        ),
        (
            'Lead &amp; text <p>one <a href="x">x</a></p> middle <p>two</p> tail<!-- c -->',
            'Lead &amp; text <p>one <a href="https://example.org/2024/01/post/x">x</a></p>'
            " middle <p>two</p> tail<!-- c -->",
        ),
        ("plain text only", "plain text only"),
        ("", ""),
        ("   ", "   "),
    ],
)
def test_resolve_links(fragment: str, expected: str) -> None:
    assert resolve_links(fragment, BASE) == expected


def test_resolve_links_adds_no_document_wrapper() -> None:
    result = resolve_links("<p>a</p><p>b</p>", BASE)
    assert result == "<p>a</p><p>b</p>"
    assert "<html" not in result and "<body" not in result and "<div" not in result


# --- normalize_date -----------------------------------------------------------------------------

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FIRST_SEEN = datetime(2024, 5, 31, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 05 Mar 2024 10:00:00 +0100", datetime(2024, 3, 5, 9, 0, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 GMT", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 EST", datetime(2024, 3, 5, 15, 0, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 -0000", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 CEST", datetime(2024, 3, 5, 8, 0, tzinfo=UTC)),
        ("5 Mar 2024 10:00 PST", datetime(2024, 3, 5, 18, 0, tzinfo=UTC)),
        ("2024-03-05T10:00:00+02:00", datetime(2024, 3, 5, 8, 0, tzinfo=UTC)),
        ("2024-03-05T10:00:00Z", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("2024-03-05T10:00:00.250-05:00", datetime(2024, 3, 5, 15, 0, 0, 250000, tzinfo=UTC)),
        ("2024-03-05 10:00:00 +0200", datetime(2024, 3, 5, 8, 0, tzinfo=UTC)),
        ("2024-03-05T10:00:00", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("2024-01-05", datetime(2024, 1, 5, tzinfo=UTC)),
        ("  January 5, 2024 ", datetime(2024, 1, 5, tzinfo=UTC)),
        ("Jan. 5th, 2024", datetime(2024, 1, 5, tzinfo=UTC)),
        ("5 January 2024", datetime(2024, 1, 5, tzinfo=UTC)),
        ("Friday, 5 January 2024", datetime(2024, 1, 5, tzinfo=UTC)),
        ("Sept 9, 2023", datetime(2023, 9, 9, tzinfo=UTC)),
        ("1995-01-01T00:00:00Z", datetime(1995, 1, 1, tzinfo=UTC)),
        ("2024-06-02T11:59:00Z", datetime(2024, 6, 2, 11, 59, tzinfo=UTC)),  # within a day
        (datetime(2024, 3, 5, 10, 0), datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        (
            datetime(2024, 3, 5, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            datetime(2024, 3, 5, 4, 30, tzinfo=UTC),
        ),
    ],
)
def test_normalize_date_reads(value: datetime | str, expected: datetime) -> None:
    result, estimated = normalize_date(value, now=NOW, first_seen=FIRST_SEEN)
    assert (result, estimated) == (expected, False)
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "garbage",
        "not a date 2024",
        "Smarch 5, 2024",
        "February 30, 2024",
        "Mon, 32 Jan 2024 10:00:00 GMT",
        "2024-13-01",
        "1994-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        "January 1, 1970",
        datetime(1970, 1, 1, tzinfo=UTC),
        "2024-06-02T12:00:01Z",  # more than a day ahead
        "2099-01-01",
        datetime(2030, 1, 1),
    ],
)
def test_normalize_date_falls_back_to_first_seen(value: datetime | str | None) -> None:
    assert normalize_date(value, now=NOW, first_seen=FIRST_SEEN) == (FIRST_SEEN, True)


def test_normalize_date_returns_first_seen_in_utc() -> None:
    paris = datetime(2024, 5, 31, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    result, estimated = normalize_date(None, now=NOW, first_seen=paris)
    assert estimated
    assert result == FIRST_SEEN
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("now", "first_seen"),
    [(datetime(2024, 6, 1), FIRST_SEEN), (NOW, datetime(2024, 5, 31))],
)
def test_normalize_date_requires_aware_clock(now: datetime, first_seen: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        normalize_date("2024-01-05", now=now, first_seen=first_seen)


# --- clean_text and clean_inline ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mutual\x00 aid", "Mutual aid"),
        ("a\x01b\x1fc\x7fd\x80e\x9f", "abcde"),
        ("line one\r\nline two\rline three", "line one\nline two\nline three"),
        ("\ufeffBOM at start", "BOM at start"),
        ("zero\u200bwidth\u2060joiner", "zerowidthjoiner"),
        ("Kropot\u00adkin", "Kropotkin"),
        ("non\u00a0breaking\u202fspaces", "non breaking spaces"),
        ("tabs\t\tand   spaces \t here", "tabs and spaces here"),
        ("  padded line  \n\t indented\t", "padded line\nindented"),
        ("one\n\n\n\n\ntwo", "one\n\ntwo"),
        ("one\n  \n \t \n\ntwo", "one\n\ntwo"),
        ("\n\n  both ends  \n\n", "both ends"),
        ("page\x0cbreak\x0bvertical\x85next", "page\nbreak\nvertical\nnext"),
        ("para\u2029para\u2028line", "para\n\npara\nline"),
        ("Cafe\u0301 cooperative", "Café cooperative"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        # ZWJ/ZWNJ shape emoji and words: kept between visible characters, dropped elsewhere
        ("family 👩\u200d👧 emoji", "family 👩\u200d👧 emoji"),
        ("Persian می\u200cخواهم", "Persian می\u200cخواهم"),
        ("\u200dstray \u200c joiners\u200d", "stray joiners"),
        ("", ""),
        ("\x00\u200b \n\t", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected
    assert clean_text(expected) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  The Conquest\nof Bread ", "The Conquest of Bread"),
        ("Peter\u00a0Kropotkin\x00", "Peter Kropotkin"),
        ("Title\n\n\nSubtitle", "Title Subtitle"),
        ("\ufeff \u200b\n", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_inline(text: str | None, expected: str | None) -> None:
    assert clean_inline(text) == expected


ODD_CHARACTERS = st.sampled_from(
    [
        *"\x00\x01\x1b\x7f\x85\x9f\r\n\t \u00a0\u202f\u2028\u2029\u200b\u200c\u200d",
        *"\u2060\ufeff\u00ad\u0301e\ud800",
    ]
)


def _is_forbidden(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Cs"} and char not in "\n\t"


@settings(max_examples=200, deadline=None)
@given(st.text(st.one_of(st.characters(), ODD_CHARACTERS)))
def test_clean_text_leaves_no_controls_and_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert not any(_is_forbidden(char) for char in cleaned)
    assert clean_text(cleaned) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
