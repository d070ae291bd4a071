"""Backfill: fetch a source's older posts, not just what its feed lists now.

Through the WordPress API where it answers (a hundred posts per request, newest first), else
through the feed's older pages (WordPress serves them at ``?paged=N``) with page extraction for
summary-only entries. Either way every request waits for its host's turn, posts already stored
and unchanged are not fetched again, and the feed's own state (validators, failures) is left
alone: a backfill is not a poll.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from aggregator.errors import FetchError
from aggregator.poll.collect import Collected, Collector, Gatherer, SourceJob
from aggregator.poll.entries import plan_entries
from aggregator.poll.feeds import parse_feed
from aggregator.poll.http import Fetcher
from aggregator.poll.parsed import FeedParseError
from aggregator.poll.wordpress import (
    MAX_PER_PAGE,
    ApiUnavailableError,
    api_url_for,
    archive_page,
    gmt_date,
    post_to_item,
)

log = logging.getLogger(__name__)
MAX_FEED_PAGES = 100
Post = dict[str, Any]


def backfill(collector: Collector, job: SourceJob, count: int) -> Collected:
    """Collect up to ``count`` of the source's most recent posts; never raises."""
    out = Collected(job, "backfill", collector.clock())
    http = collector.fetcher.counting()
    try:
        if not _from_api(collector, job, http, out, count):
            _from_feed_pages(collector, job, http, out, count)
    except Exception as exc:
        log.exception("backfilling %s failed unexpectedly", job.name)
        out.fail(f"internal error: {exc!r}")
    out.requests = http.requests
    return out


def _from_api(
    collector: Collector, job: SourceJob, http: Fetcher, out: Collected, count: int
) -> bool:
    """Page through the API; False when it does not answer (the caller falls back)."""
    api_url = job.state.wp_api_url or api_url_for(job.source.homepage)
    seen = 0
    page = 1
    while seen < count:
        try:
            batch = archive_page(http, api_url, page, min(count - seen, MAX_PER_PAGE))
        except ApiUnavailableError as exc:
            if page == 1:
                log.info("%s: no WordPress API (%s); backfilling from the feed", job.name, exc)
                if exc.lasting:
                    out.api_check = (None, out.started_at)
                return False
            out.fail(f"WordPress API: {exc.reason}")
            return True
        except FetchError as exc:
            if page == 1:
                return False
            out.fail(exc.reason)
            return True
        out.api_check = (api_url, out.started_at)
        posts = batch.posts[: count - seen]
        seen += len(posts)
        _take(collector, job, out, posts)
        if not posts or (batch.total_pages is not None and page >= batch.total_pages):
            break
        page += 1
    return True


def _take(collector: Collector, job: SourceJob, out: Collected, posts: list[Post]) -> None:
    guids = [_guid(post) for post in posts]
    links = [_link(post) for post in posts]
    known = collector.lookup(job, [guid for guid in guids if guid], links)
    for post, guid, link in zip(posts, guids, links, strict=True):
        stored = known.find(guid, link)
        if stored and not stored.outdated_by(gmt_date(post.get("modified_gmt"))):
            out.unchanged += 1
            continue
        item = post_to_item(post, job.name, out.started_at)
        if item is None:
            out.skipped.append((link or f"post {post.get('id')}", "no link, or protected"))
        else:
            out.items.append(item)


def _from_feed_pages(
    collector: Collector, job: SourceJob, http: Fetcher, out: Collected, count: int
) -> None:
    feed_url = job.state.fetch_url
    links: set[str] = set()
    for number in range(1, MAX_FEED_PAGES + 1):
        url = feed_url if number == 1 else _paged(feed_url, number)
        try:
            fetched = http.get(url)
            if fetched.status != 200:
                raise FetchError(url, f"HTTP {fetched.status}")
            feed = parse_feed(fetched.body, fetched.headers, fetched.url, collector.max_items)
        except (FetchError, FeedParseError) as exc:
            if number == 1:
                out.fail(exc.reason)
            break  # past the last page, or the site has no paged feeds
        planned, skipped = plan_entries(feed, collector.settings.min_words)
        fresh = [entry for entry in planned if entry.link not in links]
        if not fresh:
            break
        fresh = fresh[: count - len(links)]
        links.update(entry.link for entry in fresh)
        out.skipped += skipped
        known = collector.lookup(
            job, [entry.guid for entry in fresh if entry.guid], [entry.link for entry in fresh]
        )
        Gatherer(collector, job, http, out).gather(fresh, known, max_pages=count)
        if len(links) >= count:
            break


def _paged(feed_url: str, number: int) -> str:
    separator = "&" if urlsplit(feed_url).query else "?"
    return f"{feed_url}{separator}paged={number}"


def _guid(post: Post) -> str | None:
    guid = post.get("guid")
    value = guid.get("rendered") if isinstance(guid, dict) else guid
    return value if isinstance(value, str) and value.strip() else None


def _link(post: Post) -> str:
    link = post.get("link")
    return link if isinstance(link, str) else ""
