"""One crawl shared by many ``mutualaid worker`` processes through Redis.

``mutualaid crawl SOURCE --backend redis`` only seeds: it forgets which pages the last shared
crawl of the source saw (the dupefilter) and pushes the start URLs, each with the run's options,
onto ``PREFIX:SOURCE:start``. Workers pop them, and from then on scrapy-redis keeps the request
queue (``PREFIX:SOURCE:requests``) and the dupefilter (``PREFIX:SOURCE:dupefilter``), so each
page is fetched by one worker only, on whichever machine it runs. Busy workers refresh
``PREFIX:SOURCE:active`` (a few seconds' expiry) so that idle ones know the crawl goes on.
Requests are stored pickled, as scrapy-redis does: the Redis must be one you trust.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from aggregator.errors import MutualAidError
from spiders.plan import CrawlPlan
from spiders.settings import RedisTarget


class SharedCrawlError(MutualAidError):
    """Redis cannot be reached, or holds something we cannot read."""


@dataclass(frozen=True)
class Keys:
    prefix: str
    source: str

    @property
    def start(self) -> str:
        return f"{self.prefix}:{self.source}:start"

    @property
    def requests(self) -> str:
        return f"{self.prefix}:{self.source}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}:{self.source}:dupefilter"

    @property
    def active(self) -> str:
        """Set, with a short expiry, by each worker while it works on the crawl."""
        return f"{self.prefix}:{self.source}:active"


def connect(target: RedisTarget) -> redis.Redis:
    try:
        client = redis.Redis.from_url(target.url)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise SharedCrawlError(f"cannot reach Redis at {target.url}: {exc}") from None
    return client


def start_messages(plan: CrawlPlan) -> list[dict[str, Any]]:
    """What a worker needs to start the crawl: each start URL, its kind and the run's options."""
    options = plan.options.as_meta()
    return [{"url": url, "kind": "listing", "options": options} for url in plan.start_urls] + [
        {"url": url, "kind": "sitemap", "options": options} for url in plan.sitemaps
    ]


def seed_crawl(target: RedisTarget, plan: CrawlPlan) -> int:
    """Start a shared crawl of ``plan.source``; return how many start URLs were pushed."""
    client = connect(target)
    keys = Keys(target.prefix, plan.source)
    messages = [json.dumps(message) for message in start_messages(plan)]
    try:
        with client.pipeline() as pipe:
            pipe.delete(keys.dupefilter)
            pipe.rpush(keys.start, *messages)
            pipe.execute()
    except redis.RedisError as exc:
        raise SharedCrawlError(f"cannot seed the crawl in Redis: {exc}") from None
    finally:
        client.close()
    return len(messages)


def pop_start(client: redis.Redis, keys: Keys, count: int = 100) -> list[dict[str, Any]]:
    """Take up to ``count`` start messages; unreadable ones are dropped."""
    with client.pipeline() as pipe:
        pipe.lrange(keys.start, 0, count - 1)
        pipe.ltrim(keys.start, count, -1)
        raw, _ = pipe.execute()
    messages = []
    for item in raw:
        try:
            message = json.loads(item)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("url"), str):
            messages.append(message)
    return messages
