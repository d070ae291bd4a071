"""Work bounded by what is read, through the real poller over loopback: a feed of 100,000 items
is parsed only as far as the entries kept, an entry or page whose HTML is past the extraction
limits is skipped with its reason while its neighbours are stored, and a malformed JSON Feed is
a one-line reason, never a traceback. Outcomes only; time and memory are ``bench/bounds.py``'s."""

from __future__ import annotations

import logging
from typing import Any

import feedparser
import pytest

from tests.feedserver import feed_response, rss_feed
from tests.hostile.shared import articles
from tests.hostilefeeds import (
    BROKEN_JSON_FEEDS,
    body_paragraphs,
    crowded_entry_feed,
    crowded_paragraph,
    json_feed,
    long_feed,
)
from tests.sites.server import Response

JSON = "application/feed+json"


@pytest.fixture
def parsed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many bytes each feedparser call was handed."""
    sizes: list[int] = []
    parse = feedparser.parse

    def spy(stream: Any, **options: Any) -> Any:
        data = stream.read()
        sizes.append(len(data))
        stream.seek(0)
        return parse(stream, **options)

    monkeypatch.setattr(feedparser, "parse", spy)  # poll.feeds imports it when parsing
    return sizes


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> bool:
    return not [record for record in caplog.records if record.exc_info]


def test_a_feed_of_100000_items_is_parsed_only_as_far_as_the_entries_kept(
    server, env, parsed_sizes
) -> None:
    body = long_feed(server.base_url, 100_000, full=30)
    assert len(body) < 10 * 1024 * 1024  # within the fetch size cap
    server.route("/feed/", feed_response(body))
    with env.poller(max_items_per_feed=25) as poller:
        [result] = poller.poll(["site"])
    assert (result.status, result.new, result.failed, result.requests) == ("ok", 25, 0, 1)
    assert sorted(a.title for a in articles(env)) == sorted(f"Post {n}" for n in range(25))
    assert env.state("site").flags == [
        "too_many_items: the feed lists 100000 entries; only the first 25 are read"
    ]
    [handed] = parsed_sizes
    assert handed < len(body) // 100  # feedparser saw the first entries, not the document


def test_an_entry_past_the_attribute_limit_is_skipped_and_its_neighbours_stored(
    server, env, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    base = server.base_url
    server.route("/feed/", feed_response(crowded_entry_feed(base, 100_000)))
    page = f"<html><body><article>{crowded_paragraph(100_000, 'Wide page')}</article></body></html>"
    server.route("/posts/wide-page/", Response(body=page.encode()))
    result = env.one("site")
    assert (result.status, result.new, result.skipped, result.failed) == ("ok", 2, 2, 0)
    reason = (
        "beyond the extraction limits: an element with more than 1,000 attributes "
        "(extraction.max_attributes)"
    )
    assert sorted(result.skips) == [
        (f"{base}/posts/wide-page/", reason),
        (f"{base}/posts/wide/", reason),
    ]
    assert sorted(a.title for a in articles(env)) == ["After the wide one", "Before the wide one"]
    assert no_tracebacks(caplog)


def test_extraction_limits_come_from_the_config(server, env) -> None:
    body = rss_feed([("one", "First post")], base=server.base_url)
    server.route("/feed/", feed_response(body))
    extraction = env.config.extraction.model_copy(update={"max_elements": 3})
    env.config = env.config.model_copy(update={"extraction": extraction})
    result = env.one("site")
    assert (result.new, result.skipped) == (0, 1)
    assert result.skips[0][1] == (
        "beyond the extraction limits: more than 3 elements (extraction.max_elements)"
    )


@pytest.mark.parametrize("name", list(BROKEN_JSON_FEEDS))
def test_a_malformed_json_feed_is_a_one_line_reason(server, env, caplog, name: str) -> None:
    body, reason = BROKEN_JSON_FEEDS[name]
    server.route("/feed/", Response(body=body, content_type=JSON))
    result = env.one("site")
    assert result.status == "failed"
    assert (result.error or "").startswith(reason)
    assert "\n" not in (result.error or "") and "internal error" not in (result.error or "")
    assert no_tracebacks(caplog)
    assert env.state("site").last_error == result.error


def test_json_items_of_the_wrong_types_are_skipped_and_the_good_one_stored(
    server, env, caplog
) -> None:
    base = server.base_url
    wrong = {
        "id": {},
        "url": 5,
        "title": 7,
        "content_html": [],
        "content_text": 3,
        "summary": {},
        "date_published": 12,
        "date_modified": [],
        "tags": "x",
        "authors": "y",
        "author": 5,
        "external_url": [],
    }
    good = {
        "id": 1e999,  # a float too large: infinity, as a string id
        "url": f"{base}/posts/good/",
        "title": "Good \ud800one",  # a lone surrogate, escaped in the JSON
        "content_html": body_paragraphs("Good one"),
        "date_published": "2026-11-02T10:00:00Z",
        "tags": [1, None, {}, "solidarity", "\udfff"],
        "authors": [1, "x", {"name": 5}, {"name": "Ana"}],
    }
    lone = {"url": f"{base}/posts/\udc00/", "content_html": body_paragraphs("Lone")}
    items: list[Any] = [wrong, "a string", 5, None, [1], good, lone]
    server.route("/feed/", Response(body=json_feed(items), content_type=JSON))
    result = env.one("site")
    assert (result.status, result.new, result.failed) == ("ok", 1, 0)
    assert result.skipped == 2  # the two items without a usable link
    [article] = articles(env)
    assert (article.title, article.author, list(article.tags)) == (
        "Good one",
        "Ana",
        ["solidarity"],
    )
    assert no_tracebacks(caplog)
