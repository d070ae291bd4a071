"""Backfill from a feed: read its older pages, not just what it lists now.

WordPress and many other sites serve a feed's older pages at ``?paged=N``. Entries are turned
into items as a poll does (content where the feed has it, else a ``Supplement`` such as an API,
else the page), every request waits for its host's turn, posts already stored are not fetched
again, and the feed's own state (validators, failures) is left alone: a backfill is not a poll.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aggregator.errors import FetchError
from aggregator.poll.collect import Collected, Collector, Gatherer, SourceJob, Supplement
from aggregator.poll.entries import plan_entries
from aggregator.poll.http import Fetcher
from aggregator.poll.parsed import FeedParseError

MAX_FEED_PAGES = 100


def backfill_from_feed_pages(
    collector: Collector,
    job: SourceJob,
    http: Fetcher,
    out: Collected,
    count: int,
    supplement: Supplement | None = None,
) -> None:
    """Collect up to ``count`` entries from the feed's pages, newest first."""
    from aggregator.poll.feeds import parse_feed  # lxml, only when a feed is read (see collect)

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
        Gatherer(collector, job, http, out).gather(fresh, known, count, supplement)
        if len(links) >= count:
            break


def _paged(feed_url: str, number: int) -> str:
    separator = "&" if urlsplit(feed_url).query else "?"
    return f"{feed_url}{separator}paged={number}"
