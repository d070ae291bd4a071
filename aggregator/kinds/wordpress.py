"""The ``wordpress`` kind: the feed, with the site's REST API for what the feed lacks.

Where the API answers, a summary-only feed costs one API request for all its new entries
instead of a page fetch each, edits are seen through ``modified_gmt``, and backfill pages
through the archive a hundred posts at a time; where it does not, this is the ``feed`` kind,
and the API is asked again after ``CollectSettings.api_recheck``. With no feed configured the
API is the source: each poll reads its latest posts.

Kind state: ``api_url`` (the posts endpoint, once it answered) and ``api_checked_at`` (when it
was last asked; with no ``api_url``, it did not answer then).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.config import SourceConfig
from aggregator.dates import parse_date
from aggregator.errors import FetchError
from aggregator.kinds import SourceKind, own_state
from aggregator.poll.backfill import backfill_from_feed_pages
from aggregator.poll.collect import Collected, Collector, SourceJob, Visit
from aggregator.poll.entries import PlannedEntry
from aggregator.poll.http import Fetcher
from aggregator.poll.known import KnownEntries
from aggregator.poll.wordpress import (
    MAX_PER_PAGE,
    ApiUnavailableError,
    api_url_for,
    archive_page,
    gmt_date,
    post_id_of,
    post_to_item,
    posts_by_ids,
    posts_by_slugs,
    slug_of,
)
from aggregator.runs import RunKind

log = logging.getLogger(__name__)
NAME = "wordpress"
LATEST = 20  # posts read per poll when the API is the only source (a feed's usual length)
Post = dict[str, Any]


@dataclass(frozen=True)
class ApiState:
    url: str | None = None
    checked_at: datetime | None = None

    @classmethod
    def read(cls, stored: Mapping[str, Any]) -> ApiState:
        url, checked = stored.get("api_url"), stored.get("api_checked_at")
        return cls(url if isinstance(url, str) else None, _moment(checked))

    def as_json(self) -> dict[str, Any]:
        checked = self.checked_at.isoformat() if self.checked_at else None
        return {"api_url": self.url, "api_checked_at": checked}


class WordPressKind:
    name = NAME

    def state_url(self, source: SourceConfig) -> str | None:
        return source.feed or source.homepage

    def unpolled_reason(self, source: SourceConfig) -> str:
        return "no feed and no homepage configured"  # the config requires a homepage

    def collect(self, collector: Collector, job: SourceJob) -> Collected:
        def poll(http: Fetcher, out: Collected) -> None:
            api = Api(collector, job, http, out)
            if job.source.feed:
                collector.read_feed(job, http, out, api.supplement)
            else:
                api.latest(LATEST)

        return collector.run(job, RunKind.POLL, poll)

    def backfill(self, collector: Collector, job: SourceJob, count: int) -> Collected:
        def backfill(http: Fetcher, out: Collected) -> None:
            api = Api(collector, job, http, out)
            if api.archive(count):
                return
            if job.source.feed:
                backfill_from_feed_pages(collector, job, http, out, count, api.supplement)
            else:
                out.fail(f"WordPress API did not answer at {api.endpoint()}, and no feed")

        return collector.run(job, RunKind.BACKFILL, backfill)


@dataclass
class Api(Visit):
    """One poll's or backfill's use of a source's API; what it learns goes to ``out.kind_state``."""

    state: ApiState = field(init=False)

    def __post_init__(self) -> None:
        self.state = ApiState.read(own_state(self.job, NAME))

    def endpoint(self) -> str:
        return self.state.url or api_url_for(self.job.source.homepage)

    def worth_asking(self) -> bool:
        """Known to work, or never asked, or asked long enough ago."""
        checked = self.state.checked_at
        recheck = self.collector.settings.api_recheck
        return bool(self.state.url) or checked is None or self.out.started_at - checked >= recheck

    def remember(self, url: str | None) -> None:
        self.state = ApiState(url, self.out.started_at)
        self.out.kind_state = self.state.as_json()

    def supplement(self, wanting: list[PlannedEntry], known: KnownEntries) -> list[PlannedEntry]:
        """Get what the API has of ``wanting``; return the entries it did not cover."""
        if not self.worth_asking():
            return wanting
        api_url = self.endpoint()
        by_id: dict[int, PlannedEntry] = {}
        by_slug: dict[str, PlannedEntry] = {}
        for planned in wanting:  # by post id where the GUID gives one, else by slug
            post_id = post_id_of(planned.entry.guid, planned.link)
            slug = slug_of(planned.link) if post_id is None else None
            if post_id is not None:
                by_id[post_id] = planned
            elif slug is not None:
                by_slug[slug] = planned
        try:
            posts = posts_by_ids(self.http, api_url, list(by_id))
            posts += posts_by_slugs(self.http, api_url, list(by_slug))
        except ApiUnavailableError as exc:
            log.info("%s: WordPress API not used: %s", self.job.name, exc.reason)
            if exc.lasting:
                self.remember(None)
            return wanting
        except FetchError as exc:
            log.info("%s: WordPress API not reached: %s", self.job.name, exc.reason)
            return wanting
        self.remember(api_url)
        covered = self._take_matching(posts, by_id, by_slug, known)
        return [entry for entry in wanting if id(entry) not in covered]

    def latest(self, count: int) -> None:
        """A poll of the API alone: its ``count`` latest posts; a failure if it does not answer."""
        api_url = self.endpoint()
        try:
            page = archive_page(self.http, api_url, 1, count)
        except ApiUnavailableError as exc:
            if exc.lasting:
                self.remember(None)
            self.out.fail(f"WordPress API at {api_url}: {exc.reason}")
            return
        except FetchError as exc:
            self.out.fail(exc.reason)
            return
        self.remember(api_url)
        self.take(page.posts)

    def archive(self, count: int) -> bool:
        """Page through the archive, newest first; False when it does not answer at all."""
        api_url = self.endpoint()
        seen, page = 0, 1
        while seen < count:
            try:
                batch = archive_page(self.http, api_url, page, min(count - seen, MAX_PER_PAGE))
            except ApiUnavailableError as exc:
                if page == 1:
                    log.info(
                        "%s: no WordPress API (%s); backfilling from the feed", self.job.name, exc
                    )
                    if exc.lasting:
                        self.remember(None)
                    return False
                self.out.fail(f"WordPress API: {exc.reason}")
                return True
            except FetchError as exc:
                if page == 1:
                    return False
                self.out.fail(exc.reason)
                return True
            self.remember(api_url)
            posts = batch.posts[: count - seen]
            seen += len(posts)
            self.take(posts)
            if not posts or (batch.total_pages is not None and page >= batch.total_pages):
                break
            page += 1
        return True

    def take(self, posts: list[Post]) -> None:
        """Items for the posts not stored yet or edited since."""
        guids = [_guid(post) for post in posts]
        links = [_link(post) for post in posts]
        known = self.collector.lookup(self.job, [guid for guid in guids if guid], links)
        out = self.out
        for post, guid, link in zip(posts, guids, links, strict=True):
            stored = known.find(guid, link)
            if stored and not stored.outdated_by(gmt_date(post.get("modified_gmt"))):
                out.unchanged += 1
                continue
            item = post_to_item(post, self.job.name, out.started_at)
            if item is None:
                out.skipped.append((link or f"post {post.get('id')}", "no link, or protected"))
            else:
                out.items.append(item)

    def _take_matching(
        self,
        posts: list[Post],
        by_id: dict[int, PlannedEntry],
        by_slug: dict[str, PlannedEntry],
        known: KnownEntries,
    ) -> set[int]:
        """Items for the posts that match feed entries; the ``id`` of each entry covered."""
        covered: set[int] = set()
        for post in posts:
            post_id, slug = _int(post.get("id")), _str(post.get("slug"))
            entry = (by_id.get(post_id) if post_id is not None else None) or (
                by_slug.get(slug) if slug is not None else None
            )
            if entry is None or id(entry) in covered:
                continue
            stored = known.find(entry.guid, entry.link)
            if stored and not stored.outdated_by(gmt_date(post.get("modified_gmt"))):
                self.out.unchanged += 1
                covered.add(id(entry))
                continue
            item = post_to_item(post, self.job.name, self.out.started_at, guid=entry.guid)
            if item is not None:
                self._add(entry, item)
                covered.add(id(entry))
        return covered


def _moment(value: object) -> datetime | None:
    return parse_date(value) if isinstance(value, str) else None


def _guid(post: Post) -> str | None:
    guid = post.get("guid")
    value = guid.get("rendered") if isinstance(guid, dict) else guid
    return value if isinstance(value, str) and value.strip() else None


def _link(post: Post) -> str:
    link = post.get("link")
    return link if isinstance(link, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None


KIND: SourceKind = WordPressKind()
