"""Feed polling: the cost of an unchanged poll, and the cost of parsing a feed.

``poll-twice``: a local server, in a process of its own so its CPU is not counted, serves N
small feeds (two full-content entries each, with ETag and Last-Modified). The floor is a first
poll of all N into a fresh database (fetch, parse, extract, store); the subject is the second
poll of the same N, where every feed answers 304. Both run through ``Poller`` with no
politeness pause, each on a fresh copy of its database; the ratio is what an unchanged poll
costs against a first one (the aim: under 5%).

``feed-parse``: ``parse_feed`` plus turning every entry into a ``FetchedItem``, against a bare
lxml parse of the same feeds that reads each item's title, link and body (CPU time). The ratio
is the price of feedparser's leniency and our adaptation, per item.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from lxml import etree

from aggregator.config import Config, load_config
from aggregator.poll import Poller, PollSettings
from aggregator.poll.entries import plan_entries, to_item
from aggregator.poll.feeds import parse_feed
from aggregator.storage import open_database
from bench.feedfarm import CONTENT, FarmProcess, feed_body
from bench.harness import Workload

NOW = datetime(2026, 11, 30, tzinfo=UTC)


@dataclass
class PollInputs:
    folder: Path
    farm: FarmProcess
    config: Config
    empty: Path
    polled: Path
    copies: int = 0


@dataclass(frozen=True)
class PollRound:
    config: Config
    empty_url: str
    polled_url: str


SETTINGS = PollSettings(host_delay=0.0)  # the default 4 workers


def prepare_poll(size: int) -> PollInputs:
    folder = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    farm = FarmProcess(size)
    sources = {
        f"feed{n}": {
            "homepage": farm.feed_url(n).replace("/feeds/", "/"),
            "feed": farm.feed_url(n),
            "relevance": "keep_all",
        }
        for n in range(size)
    }
    empty = folder / "empty.db"
    polled = folder / "polled.db"
    config_path = folder / "config.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{empty}"},
                "network": {"allow_private": True},  # the feed farm is on loopback
                "sources": sources,
            }
        ),
        encoding="utf-8",
    )
    config = load_config(config_path, environ={})
    open_database(f"sqlite:///{empty}").close()
    shutil.copy(empty, polled)
    poll_all(config, f"sqlite:///{polled}")
    return PollInputs(folder, farm, config, empty, polled)


def fresh_databases(inputs: PollInputs) -> PollRound:
    inputs.copies += 1
    urls = []
    for template in (inputs.empty, inputs.polled):
        copy = inputs.folder / f"{template.stem}-{inputs.copies}.db"
        shutil.copy(template, copy)
        urls.append(f"sqlite:///{copy}")
    return PollRound(inputs.config, urls[0], urls[1])


def poll_all(config: Config, database_url: str) -> Counter[str]:
    """Poll every source once; how many ended in each status (a failure is an error)."""
    database = open_database(database_url)
    try:
        jitter = lambda: timedelta(0)  # noqa: E731
        with Poller(database, config, settings=SETTINGS, jitter=jitter) as poller:
            results = poller.poll()
    finally:
        database.close()
    failed = [result for result in results if result.status == "failed"]
    if failed:
        raise RuntimeError(f"{len(failed)} feeds failed, e.g. {failed[0].error}")
    return Counter(result.status for result in results)


def first_poll(round_: PollRound) -> Counter[str]:
    return poll_all(round_.config, round_.empty_url)


def second_poll(round_: PollRound) -> Counter[str]:
    return poll_all(round_.config, round_.polled_url)


def teardown_poll(inputs: PollInputs) -> None:
    inputs.farm.close()
    shutil.rmtree(inputs.folder, ignore_errors=True)


POLL_TWICE = Workload(
    name="poll-twice",
    description="second poll of N local feeds, all answering 304 (fetch + state + run rows)",
    floor_name="first poll of the same feeds (fetch, parse, extract, store)",
    prepare=prepare_poll,
    floor=first_poll,
    subject=second_poll,
    size=1000,
    quick_size=10,
    target=0.05,
    before_each=fresh_databases,
    teardown=teardown_poll,
)


# --- parse ---------------------------------------------------------------------------------------

ITEMS_PER_FEED = 20
PARSE_URL = "http://bench.example/feed/"
HEADERS = {"Content-Type": "application/rss+xml; charset=UTF-8"}


def prepare_parse(size: int) -> list[bytes]:
    """Feeds of 20 entries adding up to ``size`` entries."""
    feeds = max(1, size // ITEMS_PER_FEED)
    return [feed_body(n, ITEMS_PER_FEED, "http://bench.example") for n in range(feeds)]


def parse_with_lxml(bodies: list[bytes]) -> int:
    count = 0
    for body in bodies:
        root = etree.fromstring(body)
        for item in root.iter("item"):
            item.findtext("title")
            item.findtext("link")
            item.findtext(f"{{{CONTENT}}}encoded")
            count += 1
    return count


def parse_with_poller(bodies: list[bytes]) -> int:
    count = 0
    for body in bodies:
        feed = parse_feed(body, HEADERS, PARSE_URL)
        planned, _ = plan_entries(feed)
        count += len([to_item(entry, "bench", NOW) for entry in planned])
    return count


FEED_PARSE = Workload(
    name="feed-parse",
    description="parse_feed + entries to FetchedItem, per item (WordPress-like full-content feeds)",
    floor_name="bare lxml parse reading title, link and body of each item",
    prepare=prepare_parse,
    floor=parse_with_lxml,
    subject=parse_with_poller,
    size=2000,
    quick_size=40,
    clock="cpu",
)
