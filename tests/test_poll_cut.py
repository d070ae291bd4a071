"""A feed is cut after its first N entries before feedparser reads it (``aggregator.poll.cut``):
what is read is what reading the whole feed gives, up to N, in every format and shape."""

from __future__ import annotations

import json

import feedparser
import pytest

from aggregator.poll.cut import MAX_TAIL, first_entries
from aggregator.poll.feeds import parse_feed
from aggregator.poll.parsed import FeedParseError
from tests.feedcorpus import load_cases

URL = "https://example.org/feed/"


def rss_items(count: int, extra: str = "") -> str:
    return "".join(
        f"<item><title>Post {n}</title><link>https://example.org/p/{n}/</link>"
        f"<guid>https://example.org/?p={n}</guid>{extra}</item>"
        for n in range(count)
    )


def rss(items: str, tail: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Cut</title><link>https://example.org/</link>{items}{tail}</channel></rss>"
    ).encode()


def atom(entries: int, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    body = "".join(
        f"<{p}entry><{p}title>Post {n}</{p}title><{p}id>urn:post:{n}</{p}id>"
        f'<{p}link href="https://example.org/p/{n}/"/>'
        f"<{p}updated>2026-11-02T10:00:00Z</{p}updated></{p}entry>"
        for n in range(entries)
    )
    return (
        f'<?xml version="1.0"?><{p}feed {xmlns}="http://www.w3.org/2005/Atom">'
        f"<{p}title>Cut</{p}title><{p}id>urn:feed</{p}id>{body}</{p}feed>"
    ).encode()


def rdf(items: int) -> bytes:
    listed = "".join(f'<rdf:li rdf:resource="https://example.org/p/{n}/"/>' for n in range(items))
    body = "".join(
        f'<item rdf:about="https://example.org/p/{n}/"><title>Post {n}</title>'
        f"<link>https://example.org/p/{n}/</link></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://example.org/">'
        f"<title>Cut</title><link>https://example.org/</link><items><rdf:Seq>{listed}"
        f"</rdf:Seq></items></channel>{body}</rdf:RDF>"
    ).encode()


def same_as_whole(body: bytes, limit: int, headers: dict[str, str] | None = None) -> None:
    """Reading ``body`` up to ``limit`` entries gives what reading it whole gives, cut to that."""
    whole = parse_feed(body, headers or {}, URL)
    cut = parse_feed(body, headers or {}, URL, limit)
    assert cut.entries == whole.entries[:limit]
    assert (cut.format, cut.title, cut.link, cut.ttl) == (
        whole.format,
        whole.title,
        whole.link,
        whole.ttl,
    )
    assert (cut.problem is None) == (whole.problem is None)
    assert cut.listed == (len(whole.entries) if len(whole.entries) > limit else None)


@pytest.mark.parametrize(
    "body",
    [
        rss(rss_items(12)),
        atom(12),
        atom(12, prefix="atom"),
        rdf(12),
        rss(
            rss_items(
                12, extra="<content:encoded><![CDATA[<p>a</p></item><item>]]></content:encoded>"
            )
        ),
        rss(rss_items(12, extra="<!-- <item> </item> -->")),
        rss(
            rss_items(12, extra='<enclosure url="https://example.org/a.mp3" length="1" type="x"/>')
        ),
        rss(rss_items(12, extra="<description>&lt;p&gt;&amp;nbsp;&lt;/p&gt;</description>")),
    ],
    ids=["rss", "atom", "atom-prefixed", "rdf", "cdata", "comment", "empty-tag", "escaped"],
)
@pytest.mark.parametrize("limit", [1, 5, 11, 12, 40])
def test_the_first_entries_read_are_those_of_the_whole_feed(body: bytes, limit: int) -> None:
    same_as_whole(body, limit)


def test_every_feed_of_the_corpus_reads_the_same_whatever_the_cap() -> None:
    for case in load_cases():
        try:
            whole = parse_feed(case.body, case.headers, URL)
        except FeedParseError as exc:
            with pytest.raises(FeedParseError) as again:
                parse_feed(case.body, case.headers, URL, 1)
            assert again.value.reason == exc.reason, case.name
            continue
        for limit in range(1, len(whole.entries) + 1):
            same_as_whole(case.body, limit, case.headers)


def test_channel_elements_after_the_items_survive_the_cut() -> None:
    body = rss(
        rss_items(30), tail="<ttl>90</ttl><image><url>https://example.org/i.png</url></image>"
    )
    cut = first_entries(body, 3)
    assert cut is not None and cut.listed == 30
    assert cut.body.endswith(
        b"<ttl>90</ttl><image><url>https://example.org/i.png</url></image></channel></rss>"
    )
    assert parse_feed(body, {}, URL, 3).ttl is not None
    same_as_whole(body, 3)


def test_a_long_or_strange_tail_is_replaced_by_end_tags() -> None:
    long_tail = rss(rss_items(30), tail="<description>" + "x" * (MAX_TAIL + 1) + "</description>")
    cut = first_entries(long_tail, 3)
    assert cut is not None and cut.body.endswith(b"</item></channel></rss>")
    # The last entry's CDATA mentions an end tag: found from the end, it is not where items end.
    tricky = rss(rss_items(30, extra="<content:encoded><![CDATA[x</item>y]]></content:encoded>"))
    cut = first_entries(tricky, 3)
    assert cut is not None and cut.body.count(b"<item>") == 3
    same_as_whole(tricky, 3)


def test_a_feed_within_the_cap_is_left_as_it_is() -> None:
    body = rss(rss_items(10))
    assert first_entries(body, 10) is None
    assert parse_feed(body, {}, URL, 10).listed is None


def test_a_malformed_feed_is_cut_and_still_read_leniently() -> None:
    # Unclosed items and a stray ampersand: feedparser's lenient parser reads it as before.
    items = "".join(
        f"<item><title>Post {n} & co</title><link>https://example.org/p/{n}/</link>"
        for n in range(50)
    )
    body = rss(items)
    cut = first_entries(body, 4)
    assert cut is not None and cut.listed == 50
    feed = parse_feed(body, {}, URL, 4)
    assert [entry.link for entry in feed.entries] == [
        f"https://example.org/p/{n}/" for n in range(4)
    ]
    assert feed.problem is not None  # still bozo, as the whole document is
    assert feed.listed == 50


def test_a_cut_document_is_well_formed_when_the_whole_was() -> None:
    body = rss(rss_items(100))
    cut = first_entries(body, 7)
    assert cut is not None
    assert not feedparser.parse(cut.body).get("bozo")


def test_an_html_page_with_many_entries_is_still_no_feed() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Shop</title></head><body>"
        + "<item>x</item>" * 900
        + "</body></html>"
    ).encode()
    with pytest.raises(FeedParseError) as caught:
        parse_feed(page, {"Content-Type": "text/html"}, URL, 10)
    assert caught.value.reason == "an HTML page, not a feed (title: 'Shop')"


def test_a_json_feed_reads_its_first_items_and_counts_them_all() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": str(n), "url": f"https://example.org/p/{n}/"} for n in range(300)],
    }
    feed = parse_feed(json.dumps(document).encode(), {}, URL, 20)
    assert [entry.guid for entry in feed.entries] == [str(n) for n in range(20)]
    assert feed.listed == 300
