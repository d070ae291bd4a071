"""Crawling: Scrapy, extraction in worker processes and batched storage, all at once.

Both workloads crawl a local news site (``tests.sites.news_site``) from its home listing through
every listing page to every article, in a child process as ``mutualaid crawl`` does, into a fresh
copy of a SQLite database each time. Loopback needs no politeness, so the bench lifts the delay
and allows four requests at a time; both sides of each ratio use the same settings.

``crawl-ingest``: the whole crawl with one extraction process, against the sum of its parts done
one after the other: the same crawl with no item pipeline (Scrapy alone), then extraction alone
(``prepare_item``) of the same article pages in this process. A ratio under 1 means the pipeline
overlaps extraction with fetching; the pages/s ratio asked for is the inverse.

``crawl-workers``: the whole crawl with two extraction processes against one; the speedup is the
inverse of the ratio.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from aggregator.config import Config, load_config
from aggregator.errors import NotAnArticleError
from aggregator.ingest import SourceContext, prepare_item
from aggregator.items import FetchedItem, Origin
from aggregator.storage import open_database
from bench.harness import Workload
from spiders.process import CrawlJob, run_crawl
from tests.sites.news_site import NewsSite, build_news_site

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = "news"
BENCH_CRAWLING = {
    "download_delay": 0,
    "autothrottle": False,
    "concurrency_per_domain": 4,
    "retries": 0,
    "batch_size": 20,
}


@dataclass
class Inputs:
    site: NewsSite
    folder: Path
    template: Path
    config: Config
    pages: list[FetchedItem]
    copies: int = 0


@dataclass(frozen=True)
class Round:
    config: Config
    pages: list[FetchedItem]


def prepare(size: int) -> Inputs:
    """A news site of ``size`` articles, a migrated database template and the article pages."""
    site = build_news_site(extra_articles=max(0, size - 40))
    folder = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    template = folder / "template.db"
    path = folder / "config.yaml"
    crawl = {
        "start_urls": [f"{site.base_url}/"],
        "article_links": [".td-module-title a"],
        "next_page": ["a.next.page-numbers"],
        "max_depth": 10_000,
    }
    path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{template}"},
                "crawling": BENCH_CRAWLING,
                "network": {"allow_private": True},  # the site is on loopback
                "sources": {SOURCE: {"homepage": f"{site.base_url}/", "crawl": crawl}},
            }
        )
    )
    config = load_config(path, environ={})
    open_database(config.database.url).close()
    pages = [_page(article.url) for article in site.articles[:size]]
    return Inputs(site, folder, template, config, pages)


def _page(url: str) -> FetchedItem:
    with urllib.request.urlopen(url, timeout=30) as response:
        html = response.read().decode("utf-8")
    return FetchedItem(source=SOURCE, url=url, origin=Origin.CRAWL, fetched_at=NOW, html=html)


def fresh_round(inputs: Inputs) -> Round:
    inputs.copies += 1
    path = inputs.folder / f"copy-{inputs.copies}.db"
    shutil.copyfile(inputs.template, path)
    database = inputs.config.database.model_copy(update={"url": f"sqlite:///{path}"})
    return Round(inputs.config.model_copy(update={"database": database}), inputs.pages)


def teardown(inputs: Inputs) -> None:
    inputs.site.close()
    shutil.rmtree(inputs.folder, ignore_errors=True)


def _crawl(round_: Round, workers: int, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    job = CrawlJob((SOURCE,), workers=workers, settings=settings or {})
    result = run_crawl(round_.config, job)
    assert not result.errors, result.errors
    counts = result.counts[SOURCE]
    assert counts["articles"] == len(round_.pages), counts
    return counts


def crawl_and_ingest(round_: Round, workers: int = 1) -> None:
    counts = _crawl(round_, workers)
    stored = counts["new"] + counts["duplicate"]  # a synthetic article may repeat another
    assert stored == len(round_.pages) and counts["errors"] == 0, counts


def crawl_with_two_workers(round_: Round) -> None:
    crawl_and_ingest(round_, workers=2)


def crawl_then_extract(round_: Round) -> None:
    """Scrapy alone (no item pipeline), then extraction alone of the same pages."""
    _crawl(round_, workers=1, settings={"ITEM_PIPELINES": {}})
    config = round_.config
    context = SourceContext(
        name=SOURCE, profile=config.topic.profile(), rules=config.sources[SOURCE].rules.compile()
    )
    for item in round_.pages:
        with contextlib.suppress(NotAnArticleError):
            prepare_item(item, context)


CRAWL_INGEST = Workload(
    name="crawl-ingest",
    description="crawl a local news site (listings, pagination, articles) and ingest every page",
    floor_name="Scrapy-only crawl of the same pages, then extraction-only of them",
    prepare=prepare,
    before_each=fresh_round,
    floor=crawl_then_extract,
    subject=crawl_and_ingest,
    size=2000,
    quick_size=40,
    target=1 / 0.85,
    teardown=teardown,
)

CRAWL_WORKERS = Workload(
    name="crawl-workers",
    description="crawl + ingest with two extraction processes (speedup = 1 / ratio)",
    floor_name="the same with one extraction process",
    prepare=prepare,
    before_each=fresh_round,
    floor=crawl_and_ingest,
    subject=crawl_with_two_workers,
    size=2000,
    quick_size=40,
    target=1 / 1.7,
    teardown=teardown,
)
