"""Parsing and adapting entries, on hand-built input: what becomes an item, with which key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.items import Origin
from aggregator.poll.entries import is_teaser, plan_entries, to_item
from aggregator.poll.feeds import describe_non_feed, parse_feed
from aggregator.poll.parsed import FeedEntry, FeedParseError, ParsedFeed
from aggregator.poll.wordpress import (
    api_url_for,
    gmt_date,
    post_id_of,
    post_to_item,
    query_url,
    slug_of,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
URL = "http://feeds.example.org/blog/feed.xml"


def feed_of(*entries: FeedEntry) -> ParsedFeed:
    return ParsedFeed("rss20", URL, "T", None, None, entries)


@pytest.mark.parametrize(
    "body", [b"/etc/passwd", b"http://127.0.0.1:1/feed.xml", b"file:///etc/hostname", b"feed.xml"]
)
def test_a_body_that_looks_like_a_path_or_url_is_never_opened(body: bytes) -> None:
    with pytest.raises(FeedParseError, match="not a feed"):
        parse_feed(body, {"Content-Type": "text/plain"}, URL)


def test_relative_links_resolve_against_the_final_url_not_the_requested_one() -> None:
    body = b'<rss version="2.0"><channel><item><link>p/1</link></item></channel></rss>'
    feed = parse_feed(body, {}, "http://moved.example.org/new/feed/")
    assert feed.entries[0].link == "http://moved.example.org/new/feed/p/1"


def test_headers_are_matched_whatever_their_case() -> None:
    body = '<rss version="2.0"><channel><title>Café</title></channel></rss>'.encode("latin-1")
    feed = parse_feed(body, {"CONTENT-TYPE": "text/xml; charset=ISO-8859-1"}, URL)
    assert feed.title == "Café"


def test_describe_non_feed_names_html_pages_and_their_title() -> None:
    page = b"  <!-- cached --><!DOCTYPE html><html><head><title>Attention Required!</title>"
    expected = "an HTML page, not a feed (title: 'Attention Required!')"
    assert describe_non_feed(page, None) == expected
    assert describe_non_feed(b"<p>x</p>", "text/html") == "an HTML page, not a feed"
    assert describe_non_feed(b"<urlset/>", "application/xml").startswith("not a feed")


def test_entries_without_a_web_link_are_skipped_with_a_reason() -> None:
    feed = feed_of(
        FeedEntry(link=None, guid="urn:a", title="No link"),
        FeedEntry(link="ftp://example.org/file", guid="urn:b"),
        FeedEntry(link="https://example.org/ok", guid="urn:c"),
    )
    planned, skipped = plan_entries(feed)
    assert [entry.link for entry in planned] == ["https://example.org/ok"]
    assert skipped == [
        (f"{URL}#urn:a", "feed entry without a usable link"),
        (f"{URL}#urn:b", "feed entry without a usable link"),
    ]


def test_guid_is_a_key_only_when_unique_and_links_are_taken_once() -> None:
    feed = feed_of(
        FeedEntry(link="https://e.org/1", guid="g"),
        FeedEntry(link="https://e.org/2", guid="g"),
        FeedEntry(link="https://e.org/3", guid="h"),
        FeedEntry(link="https://e.org/3", guid="i"),
        FeedEntry(link="https://e.org/4", guid=None),
    )
    planned, skipped = plan_entries(feed)
    assert [(entry.link, entry.guid) for entry in planned] == [
        ("https://e.org/1", None),
        ("https://e.org/2", None),
        ("https://e.org/3", "h"),
        ("https://e.org/4", None),
    ]
    assert skipped == [("https://e.org/3", "the same link appears earlier in the feed")]


@pytest.mark.parametrize(
    ("markup", "teaser"),
    [
        ("<p>Opening lines [&hellip;]</p>", True),
        ("<p>Opening lines […]</p>", True),
        ('<p>Opening lines. <a href="/x">Continue reading →</a></p>', True),
        ("<p>Opening lines. Read more...</p>", True),
        ("<p>The post X appeared first on Example.</p>", True),
        ("<p></p>", True),
        ("<p>A short but complete note about the meeting.</p>", False),
        ("<p>" + "word " * 200 + "[…]</p>", False),  # long: an article that ends oddly
    ],
)
def test_teasers_are_short_and_end_like_teasers(markup: str, teaser: bool) -> None:
    assert is_teaser(markup) is teaser


def test_to_item_carries_the_feed_metadata_and_either_page_or_content() -> None:
    entry = FeedEntry(
        link="https://e.org/post?utm_source=rss",
        guid="https://e.org/?p=5",
        title="Title",
        author="Ann",
        summary="<p>Short &amp; sweet</p>",
        content="<p>" + "Body text. " * 60 + "</p>",
        published=NOW,
        tags=("Coops",),
    )
    [planned], _ = plan_entries(feed_of(entry))
    delivered = to_item(planned, "src", NOW)
    assert (delivered.content, delivered.html) == (entry.content, None)
    assert (delivered.url, delivered.guid) == (entry.link, entry.guid)
    assert delivered.origin is Origin.FEED
    assert (delivered.feed_title, delivered.feed_author, delivered.feed_tags) == (
        "Title",
        "Ann",
        ("Coops",),
    )
    assert delivered.feed_summary == "Short & sweet"
    page = to_item(planned, "src", NOW, html="<html/>", page_url="https://e.org/post")
    assert (page.html, page.content, page.url) == ("<html/>", None, "https://e.org/post")
    assert page.requested_url == entry.link


# --- WordPress -----------------------------------------------------------------------------------


def test_api_url_follows_the_homepage_folder() -> None:
    assert api_url_for("https://e.org") == "https://e.org/wp-json/wp/v2/posts"
    assert api_url_for("https://e.org/blog/") == "https://e.org/blog/wp-json/wp/v2/posts"


def test_post_ids_come_from_guids_or_short_links_and_slugs_from_permalinks() -> None:
    assert post_id_of("https://e.org/?p=268037", None) == 268037
    assert post_id_of("urn:x", "https://e.org/?page_id=12") == 12
    assert post_id_of("https://e.org/?pp=3", "https://e.org/a/") is None
    assert slug_of("https://e.org/2024/05/rent-strike/?utm_source=rss") == "rent-strike"
    assert slug_of("https://e.org/") is None


def test_query_urls_join_lists_with_commas() -> None:
    url = query_url("https://e.org/wp-json/wp/v2/posts", include=[3, 1], per_page=2, page=None)
    assert url == "https://e.org/wp-json/wp/v2/posts?include=3,1&per_page=2"


def test_a_post_becomes_an_api_item_with_names_of_its_terms() -> None:
    post = {
        "id": 9,
        "link": "https://e.org/2024/01/x/",
        "guid": {"rendered": "https://e.org/?p=9"},
        "date_gmt": "2024-01-02T03:04:05",
        "modified_gmt": "2024-02-01T00:00:00",
        "title": {"rendered": "Bread &amp; Roses"},
        "content": {"rendered": "<p>Body</p>", "protected": False},
        "excerpt": {"rendered": "<p>Ex</p>"},
        "_embedded": {
            "author": [{"name": "Lucy"}],
            "wp:term": [
                [{"name": "Labour", "taxonomy": "category"}],
                [{"name": "strikes", "taxonomy": "post_tag"}, {"name": "x", "taxonomy": "format"}],
            ],
        },
    }
    item = post_to_item(post, "src", NOW)
    assert item is not None
    assert (item.origin, item.url, item.guid, item.content) == (
        Origin.API,
        "https://e.org/2024/01/x/",
        "https://e.org/?p=9",
        "<p>Body</p>",
    )
    assert (item.feed_title, item.feed_author, item.feed_tags) == (
        "Bread & Roses",
        "Lucy",
        ("Labour", "strikes"),
    )
    assert item.feed_published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert item.feed_updated == datetime(2024, 2, 1, tzinfo=UTC)
    assert post_to_item({**post, "content": {"rendered": "", "protected": True}}, "s", NOW) is None
    assert post_to_item({**post, "link": "/relative"}, "s", NOW) is None


def test_gmt_dates_are_utc_and_garbage_is_none() -> None:
    assert gmt_date("2024-01-02T03:04:05") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert gmt_date("0000-00-00 00:00:00") is None
    assert gmt_date(None) is None


def test_markup_in_feed_titles_and_authors_becomes_the_text_a_reader_would_see() -> None:
    # feedparser's own sanitiser is off (nh3 cleans bodies at ingest): script and style content
    # must not leak into titles and authors as text.
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><link>https://a.example/1</link>'
        b"<title>&lt;script&gt;alert(1)&lt;/script&gt;Mutual &lt;b&gt;aid&lt;/b&gt;</title>"
        b"<author>&lt;style&gt;p{}&lt;/style&gt;Ann</author></item></channel></rss>"
    )
    [entry] = parse_feed(body, {}, "https://a.example/feed").entries
    assert (entry.title, entry.author) == ("Mutual aid", "Ann")
