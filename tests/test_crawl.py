"""Crawls end to end: real Scrapy in a child process against the local test sites, into a real
database. Every article is found through listings and pagination, no listing is stored, robots.txt
is obeyed, and a second crawl fetches only what is new."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from aggregator.config import Config, load_config
from aggregator.normalize import canonical_url
from aggregator.storage import Database, open_database
from aggregator.storage.locks import hold_lock
from aggregator.storage.models import Run, Sighting
from spiders.known import load_known
from spiders.plan import CrawlOptions
from spiders.process import CrawlJob, CrawlResult, run_crawl
from spiders.settings import RedisTarget
from tests.conftest import REDIS_ENV
from tests.sites.news_site import NewsSite
from tests.sites.server import Request, Response, SiteServer

pytestmark = pytest.mark.slow  # each crawl starts a process with Scrapy in it: seconds each

REPO = Path(__file__).resolve().parent.parent
# Loopback sites need no politeness; the behaviour under test stays the same.
FAST = {"download_delay": 0, "autothrottle": False, "workers": 0, "retries": 1,
        "retry_backoff": 0.05}  # fmt: skip
ARTICLE_URLS = r"/\d{4}/\d{2}/[a-z0-9-]+/$"


def repo_crawl_block(name: str, base_url: str) -> dict[str, Any]:
    """The repository's crawl: block for a seed site, pointed at a local look-alike."""
    source = load_config(REPO / "config.yaml", environ={}).sources[name]
    assert source.crawl is not None
    block = source.crawl.model_dump(mode="json", exclude_defaults=True)
    block["start_urls"] = [
        url.replace(f"https://{name}.org", base_url) for url in block["start_urls"]
    ]
    return block


def configurer(write_config, url: str) -> Callable[..., Config]:
    def make(sources: dict[str, dict[str, Any]], **crawling: Any) -> Config:
        data = {"database": {"url": url}, "crawling": {**FAST, **crawling}, "sources": sources}
        return load_config(write_config(data), environ={})

    return make


@pytest.fixture
def configure(write_config, sqlite_url) -> Callable[..., Config]:
    """Configs on SQLite: most crawl tests are about the crawl, not the database."""
    return configurer(write_config, sqlite_url)


@pytest.fixture
def configure_any(write_config, database_url) -> Callable[..., Config]:
    """Configs on SQLite, and on PostgreSQL when one is configured."""
    return configurer(write_config, database_url)


@pytest.fixture
def database() -> Iterator[Callable[[Config], Database]]:
    opened: list[Database] = []

    def open_(config: Config) -> Database:
        opened.append(open_database(config.database.url))
        return opened[-1]

    yield open_
    for handle in opened:
        handle.close()


def crawl(config: Config, source: str, database: Database, **options: Any) -> dict[str, Any]:
    result = run_crawl(config, CrawlJob((source,), CrawlOptions(**options)), database=database)
    assert result.errors == {}, result.errors
    return result.counts[source]


def stored_urls(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Sighting.url)))


def canonical(urls: Any) -> set[str]:
    return {canonical_url(url) for url in urls}


def article_paths(site: NewsSite, paths: list[str]) -> list[str]:
    known = {article.url.removeprefix(site.base_url) for article in site.articles}
    return [path for path in paths if path in known]


def test_a_whole_site_through_its_pagination_via_the_cli(
    news_site, configure_any, database, run_cli
) -> None:
    """Home listing and its pages, article links by URL pattern, the private page linked from
    every page offered as a start URL and as an article: robots.txt forbids it."""
    config = configure_any(
        {
            "news": {
                "homepage": f"{news_site.base_url}/",
                "crawl": {
                    "start_urls": [f"{news_site.base_url}/", news_site.private_url],
                    "article_urls": [ARTICLE_URLS, "/private/"],
                    "next_page": ["a.next.page-numbers"],
                },
            }
        },
        workers=1,  # the process pool, once
    )
    news_site.clear_log()
    result = run_cli("-c", config.origin, "crawl", "news", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    handle = database(config)
    assert stored_urls(handle) == canonical(a.url for a in news_site.articles)
    assert report["new"] == len(news_site.articles) == 40
    assert report["listings"] == 4 and report["errors"] == 0
    assert report["blocked"] >= 1
    fetched = news_site.fetched_paths()
    assert not [path for path in fetched if path.startswith("/private/")]
    assert not set(stored_urls(handle)) & canonical(news_site.listing_urls)
    with handle.session() as session:
        run = session.scalars(select(Run)).one()
    assert (run.kind, run.status, run.new, run.fetched) == ("crawl", "ok", 40, report["pages"])


def test_the_countercurrents_config_reads_tags_and_searches(news_site, configure, database) -> None:
    block = repo_crawl_block("countercurrents", news_site.base_url)
    config = configure({"countercurrents": {"homepage": f"{news_site.base_url}/", "crawl": block}})
    handle = database(config)
    counts = crawl(config, "countercurrents", handle)
    catalog = news_site.catalog
    expected = {a.url for slug in ("kropotkin", "mutual-aid", "anarchism")
                for a in catalog.group("tag", slug)}  # fmt: skip
    expected |= {a.url for query in ("kropotkin", "mutual aid") for a in catalog.search(query)}
    assert stored_urls(handle) == canonical(expected)
    assert counts["listings"] == 5  # three tags, two searches
    assert counts["new"] == len(expected)
    assert counts["skipped"] == 0


def test_the_peterkropotkin_config_follows_every_continue_reading(
    blog_site, configure, database
) -> None:
    block = repo_crawl_block("peterkropotkin", blog_site.base_url)
    config = configure({"peterkropotkin": {"homepage": f"{blog_site.base_url}/", "crawl": block}})
    handle = database(config)
    blog_site.clear_log()
    counts = crawl(config, "peterkropotkin", handle)
    assert stored_urls(handle) == canonical(a.url for a in blog_site.articles)
    assert counts["listings"] == 3  # /kropotkin-today/ and its two older pages
    assert counts["skipped"] == 0
    listings = {url.removeprefix(blog_site.base_url) for url in blog_site.listing_urls}
    assert set(blog_site.fetched_paths()) & listings == {
        "/kropotkin-today/",
        "/kropotkin-today/page/2/",
        "/kropotkin-today/page/3/",
    }


def news_config(configure, site: NewsSite, **crawl_block: Any) -> Config:
    block = {"start_urls": [f"{site.base_url}/"], "article_links": [".td-module-title a"],
             "next_page": ["a.next.page-numbers"], **crawl_block}  # fmt: skip
    return configure({"news": {"homepage": f"{site.base_url}/", "crawl": block}})


def test_a_second_crawl_fetches_only_the_new_article(
    make_news_site, configure_any, database
) -> None:
    site = make_news_site()
    config = news_config(configure_any, site)
    handle = database(config)
    assert crawl(config, "news", handle)["new"] == 40
    assert len(load_known(handle, "news")) == 40
    fresh = site.add_article(
        "Neighbours Organise a Tool Library",
        ["The tool library began with a shed and three drills. " * 12] * 3,
        tags=["mutual aid"],
    )
    site.clear_log()
    counts = crawl(config, "news", handle)
    fetched = site.fetched_paths()
    assert article_paths(site, fetched) == [fresh.url.removeprefix(site.base_url)]
    # Page 1 had the new article, page 2 nothing new: paging stopped there.
    assert [p for p in fetched if p == "/" or p.startswith("/page/")] == ["/", "/page/2/"]
    assert (counts["new"], counts["known"]) == (1, 19)
    assert len(stored_urls(handle)) == 41

    site.clear_log()
    again = crawl(config, "news", handle, refresh=True)
    assert len(article_paths(site, site.fetched_paths())) == 41
    assert (again["unchanged"], again["new"]) == (41, 0), str(again)


def test_since_skips_older_articles_and_stops_paging(make_news_site, configure, database) -> None:
    site = make_news_site()
    since = site.articles[14].published + timedelta(seconds=1)
    config = news_config(configure, site)
    handle = database(config)
    site.clear_log()
    counts = crawl(config, "news", handle, since=since)
    newer = [a for a in site.articles if a.published >= since]
    assert len(newer) == 14
    assert stored_urls(handle) == canonical(a.url for a in newer)
    fetched = site.fetched_paths()
    # Page 2 still had new articles, page 3 none: paging stopped there.
    assert "/page/3/" in fetched and "/page/4/" not in fetched
    assert counts["old"] == 16  # the rest of page 2, and page 3


def test_max_pages_stops_the_crawl(make_news_site, configure, database) -> None:
    site = make_news_site()
    config = news_config(configure, site, max_pages=50)
    handle = database(config)
    counts = crawl(config, "news", handle, max_pages=5)
    assert counts["pages"] == 5
    assert counts["limited"] is True
    assert len(stored_urls(handle)) == 4


# -- misbehaving servers ---------------------------------------------------------------------------

WORDS = " ".join(["Neighbours shared food, tools and rides while the river was high."] * 12)


def article_html(title: str) -> bytes:
    return (
        f"<html><head><title>{title}</title><meta property='og:type' content='article'></head>"
        f"<body><article><h1>{title}</h1><p>{WORDS}</p><p>{WORDS}</p></article></body></html>"
    ).encode()


class FlakySite:
    """A listing that answers 503 with Retry-After once, an article, a 404 and a 500."""

    def __init__(self, robots_status: int = 200) -> None:
        self.robots_status = robots_status
        self.listing_calls = 0
        self.server = SiteServer(self.respond)
        self.server.start()
        self.base_url = self.server.base_url

    def respond(self, request: Request) -> Response:
        if request.path == "/robots.txt":
            return Response(status=self.robots_status, body=b"User-agent: *\nDisallow:\n")
        if request.path == "/list/":
            self.listing_calls += 1
            if self.listing_calls == 1:
                return Response(status=503, body=b"busy", headers={"Retry-After": "1"})
            links = "".join(f'<h2><a href="/{p}/">{p}</a></h2>' for p in ("ok", "gone", "broken"))
            return Response(body=f"<html><body>{links}</body></html>".encode())
        if request.path == "/ok/":
            return Response(body=article_html("A working page"))
        if request.path == "/broken/":
            return Response(status=500, body=b"oops")
        return Response(status=404, body=b"not here")

    def times(self, path: str) -> list[datetime]:
        return [r.at for r in self.server.requests if r.path == path]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def flaky() -> Iterator[Callable[..., FlakySite]]:
    sites: list[FlakySite] = []

    def make(robots_status: int = 200) -> FlakySite:
        sites.append(FlakySite(robots_status))
        return sites[-1]

    yield make
    for site in sites:
        site.close()


def flaky_config(configure, site: FlakySite) -> Config:
    block = {"start_urls": [f"{site.base_url}/list/"], "article_links": ["h2 a"]}
    return configure({"flaky": {"homepage": f"{site.base_url}/", "crawl": block}})


def test_retry_after_is_honoured_and_bad_pages_are_errors(flaky, configure, database) -> None:
    site = flaky()
    config = flaky_config(configure, site)
    handle = database(config)
    counts = crawl(config, "flaky", handle)
    first, second = site.times("/list/")
    assert second - first >= timedelta(seconds=1)
    assert counts["new"] == 1, counts
    assert counts["errors"] == 2
    assert {reason for _, reason in counts["problems"]} == {"HTTP 404", "HTTP 500"}
    assert len(site.times("/broken/")) == 2  # retried once, then given up


@pytest.mark.parametrize("status", [500, 503])
def test_a_robots_txt_answering_5xx_closes_the_site(flaky, configure, database, status) -> None:
    site = flaky(robots_status=status)
    config = flaky_config(configure, site)
    counts = crawl(config, "flaky", database(config))
    assert {r.path for r in site.server.requests} == {"/robots.txt"}
    assert counts["blocked"] == 1 and counts["pages"] == 0
    [(_, reason)] = counts["problems"]
    assert reason == f"robots.txt answered HTTP {status}: site not crawled"


def test_a_crawl_that_fetches_nothing_fails_with_the_reason(configure, database) -> None:
    with socket.socket() as closed:  # a port nobody listens on: the site is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = configure(
        {"down": {"homepage": f"http://127.0.0.1:{port}/", "crawl": {"article_links": ["a"]}}}
    )
    handle = database(config)
    result = run_crawl(config, CrawlJob(("down",)), database=handle)
    error = result.error_for("down")
    assert error is not None
    assert error.startswith("nothing could be fetched: robots.txt could not be fetched: ")
    assert "Forbidden" not in error  # nothing forbade anything: the site is down
    with handle.session() as session:
        run = session.scalars(select(Run).where(Run.kind == "crawl")).one()
    assert (run.status, run.error) == ("failed", error)


def test_a_robots_txt_answering_404_allows_everything(flaky, configure, database) -> None:
    site = flaky(robots_status=404)
    config = flaky_config(configure, site)
    assert crawl(config, "flaky", database(config))["new"] == 1


# -- the command line's failures -----------------------------------------------------------------


def test_crawl_errors_are_one_line(write_config, run_cli) -> None:
    path = write_config({"sources": {"plain": {"homepage": "https://plain.example/"}}})
    missing = run_cli("-c", str(path), "crawl", "nope")
    assert missing.code == 1 and "unknown source 'nope'" in missing.err
    no_block = run_cli("-c", str(path), "crawl", "plain")
    assert no_block.code == 2 and "sources.plain.crawl: this source has no crawl" in no_block.err
    bad_since = run_cli("-c", str(path), "crawl", "plain", "--since", "yesterday-ish")
    assert bad_since.code == 2 and "--since" in bad_since.err
    no_redis = run_cli("-c", str(path), "worker")
    assert no_redis.code == 2 and "no source has crawl.backend: redis" in no_redis.err


# -- one crawl shared by workers through Redis -----------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(Redis URL, a key prefix of this test's own); its keys are deleted afterwards."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    prefix = f"mutualaid-test-{uuid.uuid4().hex[:10]}"
    yield url, prefix
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def shared_news_config(configure_any, site: NewsSite, url: str, prefix: str, **crawling: Any):
    block = {
        "backend": "redis",
        "start_urls": [f"{site.base_url}/"],
        "article_links": [".td-module-title a"],
        "next_page": ["a.next.page-numbers"],
    }
    return configure_any(
        {"news": {"homepage": f"{site.base_url}/", "crawl": block}},
        redis_url=url,
        redis_prefix=prefix,
        **crawling,
    )


@pytest.mark.redis
def test_two_workers_share_one_crawl_and_store_every_article_once(
    make_news_site, configure_any, database, redis_prefix, run_cli
) -> None:
    url, prefix = redis_prefix
    site = make_news_site()
    # A small delay keeps the crawl going long enough for both workers to take part.
    config = shared_news_config(configure_any, site, url, prefix, download_delay=0.25)
    handles = [database(config) for _ in range(2)]
    # The workers' idle clock runs from their start, and the seed comes from a new process,
    # which takes seconds to start on a loaded machine: they must outwait it.
    job = CrawlJob(("news",), shared=RedisTarget(url, prefix), idle_exit=15)
    results: list[Any] = [None, None]
    ready = [threading.Event(), threading.Event()]

    def note_progress(index: int, event: tuple[str, str, Any]) -> None:
        if event[0] == "progress":  # the spider is open and waiting for work
            ready[index].set()

    def work(index: int) -> None:
        try:
            results[index] = run_crawl(
                config, job, lambda event: note_progress(index, event), database=handles[index]
            )
        except BaseException as exc:  # shown by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    assert all(event.wait(timeout=60) for event in ready)  # both workers up and waiting
    seeded = run_cli("-c", config.origin, "crawl", "news", "--json")
    assert seeded.code == 0, seeded.err
    assert json.loads(seeded.out) == {"source": "news", "backend": "redis", "seeded": 1}
    for thread in threads:
        thread.join(timeout=240)
    assert all(isinstance(result, CrawlResult) and not result.errors for result in results), results
    counts = [result.counts["news"] for result in results]
    fetched = Counter(site.fetched_paths())
    articles = article_paths(site, list(fetched))
    assert len(articles) == 40
    assert all(fetched[path] == 1 for path in articles)  # each page fetched by one worker
    assert all(worker["pages"] > 0 for worker in counts), counts  # and both took part
    assert sum(worker["new"] for worker in counts) == 40
    assert stored_urls(handles[0]) == canonical(a.url for a in site.articles)
    with handles[0].session() as session:
        runs = session.scalars(select(Run)).all()
    assert len(runs) == 2 and {run.status for run in runs} == {"ok"}


@pytest.mark.redis
def test_a_worker_from_the_command_line_stops_when_idle(
    blog_site, configure, redis_prefix, run_cli
) -> None:
    url, prefix = redis_prefix
    block = {**repo_crawl_block("peterkropotkin", blog_site.base_url), "backend": "redis"}
    config = configure(
        {"blog": {"homepage": f"{blog_site.base_url}/", "crawl": block}},
        redis_url=url,
        redis_prefix=prefix,
    )
    assert run_cli("-c", config.origin, "crawl", "blog").code == 0
    result = run_cli("-c", config.origin, "worker", "--idle-exit", "1", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["source"], report["new"], report["status"]) == ("blog", 12, "ok")


def test_a_crawl_waits_for_no_one_the_daemon_is_crawling_the_source(
    configure, database, run_cli
) -> None:
    """The daemon holds source:NAME:crawl while it crawls; a manual crawl then stops at once."""
    block = {"start_urls": ["https://busy.example/"], "article_links": ["a"]}
    config = configure({"busy": {"homepage": "https://busy.example/", "crawl": block}})
    with hold_lock(database(config), "source:busy:crawl"):
        result = run_cli("-c", config.origin, "crawl", "busy")
    assert result.code == 1
    assert "source:busy:crawl is busy" in result.err
