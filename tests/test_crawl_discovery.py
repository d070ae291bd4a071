"""Crawling with no selectors, and the first crawl that goes through the whole backlog.

``crawl: {}`` finds a WordPress site's articles itself: the REST API's pages of posts, else
``wp-sitemap.xml``, else ``sitemap_index.xml``. Until a crawl of a source is recorded as complete
(``runs.complete``), a listing page of stored links does not stop the paging: a poll that stored
the feed's items must not hide the older essays behind them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from aggregator.config import Config, CrawlConfig, SourceConfig, load_config
from aggregator.poll.discover import api_link
from aggregator.sitemaps import post_sitemaps
from aggregator.storage import Database, open_database
from aggregator.storage.models import Run
from spiders.discovery import PER_PAGE, entry_points, read_posts_page
from spiders.known import has_complete_crawl
from spiders.listing import Entry
from spiders.plan import make_plan, triage
from spiders.runs import went_through_backlog
from tests.sites.blog_site import BlogSite
from tests.sites.server import Request, Response, SiteServer
from tests.test_crawl import FAST, canonical, configurer, crawl, repo_crawl_block, stored_urls

API = "/wp-json/wp/v2/posts"


# -- pure parts ------------------------------------------------------------------------------------


def test_the_entry_points_are_the_api_then_the_sitemaps_of_the_install() -> None:
    api, core, yoast = entry_points("https://blog.example/news")
    assert api.startswith("https://blog.example/wp-json/wp/v2/posts?per_page=100&page=1&")
    assert "_fields=link%2Cdate_gmt" in api
    assert (core, yoast) == ("https://blog.example/wp-sitemap.xml",
                             "https://blog.example/sitemap_index.xml")  # fmt: skip
    assert entry_points("https://x.example/blog/")[1] == "https://x.example/blog/wp-sitemap.xml"


def test_a_page_of_posts_gives_links_dates_and_the_next_page() -> None:
    url = "https://blog.example/wp-json/wp/v2/posts?per_page=100&page=2"
    body = (
        b'[{"link": "https://blog.example/2024/01/02/a/", "date_gmt": "2024-01-02T10:00:00"},'
        b' {"link": "/2024/01/01/b/"}, {"title": "no link"}]'
    )
    page = read_posts_page(body, url, "3")
    assert page is not None
    assert page.entries == (
        Entry("https://blog.example/2024/01/02/a/", datetime(2024, 1, 2, 10, tzinfo=UTC)),
        Entry("https://blog.example/2024/01/01/b/"),
    )
    assert page.next_page == "https://blog.example/wp-json/wp/v2/posts?per_page=100&page=3"
    last = read_posts_page(body, url, "2")
    assert last is not None and last.next_page is None


def test_without_a_page_count_only_a_full_page_has_a_successor() -> None:
    url = "https://blog.example/wp-json/wp/v2/posts?page=1"
    full = ",".join(f'{{"link": "https://blog.example/{n}/"}}' for n in range(PER_PAGE))
    page = read_posts_page(f"[{full}]".encode(), url, None)
    assert page is not None and page.next_page is not None and page.next_page.endswith("page=2")
    short = read_posts_page(b'[{"link": "https://blog.example/1/"}]', url, None)
    assert short is not None and short.next_page is None
    assert read_posts_page(b"[]", url, None) == read_posts_page(b"[]", url, "0")


@pytest.mark.parametrize(
    "body", [b"<html>Not here</html>", b'{"code": "rest_no_route"}', b"[1, 2]", b""]
)
def test_anything_but_a_list_of_posts_is_no_page_of_posts(body: bytes) -> None:
    assert read_posts_page(body, "https://blog.example/wp-json/wp/v2/posts", "1") is None


def test_an_index_is_narrowed_to_its_sitemaps_of_posts_when_it_names_them() -> None:
    def urls(*names: str) -> tuple[Entry, ...]:
        return tuple(Entry(f"https://s.example/{name}") for name in names)

    core = urls(
        "wp-sitemap-posts-post-1.xml", "wp-sitemap-posts-page-1.xml", "wp-sitemap-users-1.xml"
    )
    assert tuple(post_sitemaps(core)) == urls("wp-sitemap-posts-post-1.xml")
    yoast = urls(
        "post-sitemap.xml", "post-sitemap2.xml", "page-sitemap.xml", "category-sitemap.xml"
    )
    assert tuple(post_sitemaps(yoast)) == urls("post-sitemap.xml", "post-sitemap2.xml")
    other = urls("sitemap-a.xml", "sitemap-b.xml")
    assert tuple(post_sitemaps(other)) == other


def test_an_empty_crawl_block_plans_discovery_and_nothing_else() -> None:
    source = SourceConfig.model_validate(
        {
            "homepage": "https://www.blog.example/",
            "listings": ["https://www.blog.example/x/"],
            "crawl": {},
        }
    )
    plan = make_plan("blog", source, backlog_done=False)
    assert plan.discovery == entry_points("https://www.blog.example/")
    assert (plan.start_urls, plan.sitemaps, plan.stop_at_known) == ((), (), False)
    assert plan.allowed_domains == ("blog.example",)
    named = source.model_copy(update={"crawl": CrawlConfig(article_urls=("/20",))})
    assert make_plan("blog", named).discovery == ()
    assert make_plan("blog", named).stop_at_known is True


def test_an_empty_crawl_block_cannot_seed_a_shared_crawl() -> None:
    with pytest.raises(ValueError, match="backend: redis needs start_urls or sitemaps"):
        CrawlConfig.model_validate({"backend": "redis"})


def test_stored_links_stop_the_paging_only_after_a_complete_crawl() -> None:
    entries = [Entry("https://b.example/1/"), Entry("https://b.example/2/")]
    known = {"https://b.example/1", "https://b.example/2"}  # canonical: no final slash
    trusted = triage(entries, known=known, since=None, refresh=False)
    first = triage(entries, known=known, since=None, refresh=False, stop_at_known=False)
    assert (trusted.keep_paging, first.keep_paging) == (False, True)
    assert first.follow == () and first.known == 2
    old = [Entry("https://b.example/3/", datetime(2020, 1, 1, tzinfo=UTC))]
    since = datetime(2021, 1, 1, tzinfo=UTC)
    assert not triage(old, known=(), since=since, refresh=False, stop_at_known=False).keep_paging
    assert not triage([], known=(), since=None, refresh=False, stop_at_known=False).keep_paging


@pytest.mark.parametrize(
    ("counts", "error", "complete"),
    [
        ({"finish_reason": "finished", "backlog_cut": ""}, None, True),
        ({"finish_reason": "finished", "backlog_cut": "max_pages: 5 pages fetched"}, None, False),
        ({"finish_reason": "shutdown", "backlog_cut": ""}, None, False),
        ({"finish_reason": "finished", "backlog_cut": ""}, "interrupted", False),
        ({}, None, False),
    ],
)
def test_a_crawl_is_complete_when_nothing_cut_it_short(counts, error, complete) -> None:
    assert went_through_backlog(counts, error) is complete


# -- whole crawls against the local WordPress sites ----------------------------------------------


@pytest.fixture
def configure(write_config, sqlite_url) -> Callable[..., Config]:
    return configurer(write_config, sqlite_url)


@pytest.fixture
def database() -> Iterator[Callable[[Config], Database]]:
    opened: list[Database] = []

    def open_(config: Config) -> Database:
        opened.append(open_database(config.database.url))
        return opened[-1]

    yield open_
    for handle in opened:
        handle.close()


def blog_source(site: BlogSite, crawl_block: dict[str, Any]) -> dict[str, Any]:
    return {"homepage": f"{site.base_url}/", "feed": site.feed_url, "crawl": crawl_block,
            "relevance": "keep_all"}  # fmt: skip


def crawl_runs(handle: Database) -> list[Run]:
    with handle.session() as session:
        return list(session.scalars(select(Run).where(Run.kind == "crawl").order_by(Run.id)))


def essay_paths(site: BlogSite, paths: list[str]) -> list[str]:
    essays = {article.url.removeprefix(site.base_url) for article in site.articles}
    return [path for path in paths if path in essays]


@pytest.mark.slow
def test_an_empty_crawl_block_crawls_a_wordpress_blog_whole_through_its_api(
    make_blog_site, configure, database, run_cli
) -> None:
    """A poll stores the feed's ten essays; the crawl finds the other two through the API."""
    site = make_blog_site()
    config = configure({"blog": blog_source(site, {})})
    handle = database(config)
    assert run_cli("-c", config.origin, "poll", "blog").code == 0
    assert len(stored_urls(handle)) == 10 < len(site.articles) == 12
    site.clear_log()
    counts = crawl(config, "blog", handle)
    assert stored_urls(handle) == canonical(a.url for a in site.articles)
    assert (counts["new"], counts["known"], counts["listings"]) == (2, 10, 1)
    fetched = site.fetched_paths()
    [api_page] = [p for p in fetched if p.startswith("/wp-json/")]
    assert api_page.startswith(API + "?per_page=100&page=1&")
    assert len(essay_paths(site, fetched)) == 2  # only what was missing
    assert not [p for p in fetched if "sitemap" in p or "/page/" in p]
    assert [run.complete for run in crawl_runs(handle)] == [True]


@pytest.mark.slow
def test_without_the_api_robots_txt_still_rules_and_the_sitemap_is_read(
    make_blog_site, configure, database
) -> None:
    site = make_blog_site()
    hidden = site.articles[5]
    hidden_path = hidden.url.removeprefix(site.base_url)
    site.robots_disallow = ("/wp-json/", hidden_path)
    config = configure({"blog": blog_source(site, {})})
    handle = database(config)
    counts = crawl(config, "blog", handle)
    fetched = site.fetched_paths()
    assert not [p for p in fetched if p.startswith("/wp-json") or p == hidden_path]
    assert stored_urls(handle) == canonical(a.url for a in site.articles if a != hidden)
    assert "/wp-sitemap.xml" in fetched and "/wp-sitemap-posts-post-1.xml" in fetched
    assert "/wp-sitemap-posts-page-1.xml" not in fetched  # only the sitemaps of posts
    assert counts["blocked"] == 2 and counts["errors"] == 0
    assert counts["sitemaps"] == 2 and counts["new"] == 11


@pytest.mark.slow
def test_a_yoast_sitemap_index_is_the_last_resort(news_site, configure, database) -> None:
    """The news site has no REST API and no core sitemap: its sitemap_index.xml leads to
    post-sitemap.xml; the pages and categories sitemaps are not read."""
    config = configure({"news": {"homepage": f"{news_site.base_url}/", "crawl": {}}})
    handle = database(config)
    news_site.clear_log()
    counts = crawl(config, "news", handle)
    assert stored_urls(handle) == canonical(a.url for a in news_site.articles)
    fetched = news_site.fetched_paths()
    assert "/sitemap_index.xml" in fetched and "/post-sitemap.xml" in fetched
    assert not {"/page-sitemap.xml", "/category-sitemap.xml"} & set(fetched)
    assert not [p for p in fetched if p.startswith("/private/")]
    assert counts["new"] == len(news_site.articles) and counts["errors"] == 0
    assert len(counts["problems"]) == 2  # the API and wp-sitemap.xml: HTTP 404


@pytest.mark.slow
def test_max_pages_bounds_a_discovered_crawl_and_leaves_it_incomplete(
    make_blog_site, configure, database
) -> None:
    site = make_blog_site()
    config = configure({"blog": blog_source(site, {"max_pages": 4})})
    handle = database(config)
    counts = crawl(config, "blog", handle)
    assert counts["pages"] == 4 and counts["limited"] is True
    assert len(stored_urls(handle)) == 3
    assert counts["backlog_cut"] == "max_pages: 4 pages fetched"
    assert [run.complete for run in crawl_runs(handle)] == [False]
    assert not has_complete_crawl(handle, "blog")


@pytest.mark.slow
def test_a_first_crawl_after_a_poll_pages_through_the_whole_backlog(
    make_blog_site, configure, database, run_cli
) -> None:
    """The feed's ten essays fill the first two listing pages; the first crawl still reads the
    third page, and only a second crawl stops at the first page of stored links."""
    site = make_blog_site()
    block = repo_crawl_block("peterkropotkin", site.base_url)
    config = configure({"blog": blog_source(site, block)})
    handle = database(config)
    assert run_cli("-c", config.origin, "poll", "blog").code == 0
    site.clear_log()
    first = crawl(config, "blog", handle)
    assert stored_urls(handle) == canonical(a.url for a in site.articles)
    assert (first["new"], first["listings"]) == (2, 3)
    assert has_complete_crawl(handle, "blog")
    site.clear_log()
    second = crawl(config, "blog", handle)
    assert (second["new"], second["listings"], second["known"]) == (0, 1, 5)
    assert [p for p in site.fetched_paths() if "kropotkin-today" in p] == ["/kropotkin-today/"]
    assert second["backlog_cut"].startswith("stopped paging at ")
    assert [run.complete for run in crawl_runs(handle)] == [True, False]


# -- sources add proposes crawl: {} for a WordPress site ------------------------------------------


def test_the_api_is_found_in_the_link_header_or_the_page_head() -> None:
    header = {"link": '<https://b.example/wp-json/>; rel="https://api.w.org/"'}
    assert api_link(header, b"", "https://b.example/") == "https://b.example/wp-json/"
    head = b'<html><head><link rel="https://api.w.org/" href="/blog/wp-json/"></head></html>'
    assert api_link({}, head, "https://b.example/") == "https://b.example/blog/wp-json/"
    other = {"link": '<https://b.example/?p=4>; rel="shortlink"'}
    assert api_link(other, b"<html><head></head></html>", "https://b.example/") is None


@pytest.mark.slow
def test_sources_add_gives_a_wordpress_blog_a_crawl_block_that_crawls_it_whole(
    make_blog_site, write_config, database, run_cli
) -> None:
    site = make_blog_site()
    path = write_config({"crawling": FAST, "sources": {}})
    added = run_cli("-c", str(path), "sources", "add", f"{site.base_url}/", "--json")
    assert added.code == 0, added.err
    record = json.loads(added.out)
    assert record["crawl"] == {}
    assert record["found"] == {"api": site.url(API), "sitemap": None}
    assert "    crawl: {}\n" in path.read_text(encoding="utf-8")
    config = load_config(path, environ={})
    handle = database(config)
    counts = crawl(config, record["name"], handle)
    assert stored_urls(handle) == canonical(a.url for a in site.articles)
    assert counts["new"] == 12


def test_sources_add_says_what_it_found_and_can_leave_the_crawl_out(
    make_blog_site, write_config, run_cli
) -> None:
    site, other = make_blog_site(), make_blog_site()
    site.wp_api = False  # no API: the core sitemap still shows every post
    path = write_config({"sources": {}})
    added = run_cli("-c", str(path), "sources", "add", site.feed_url, "--name", "blog")
    assert added.code == 0, added.err
    assert f"found the sitemap at {site.sitemap_url}: added crawl: {{}}" in added.out
    other.clear_log()
    plain = run_cli("-c", str(path), "sources", "add", other.feed_url, "--no-crawl", "--name", "b2")
    assert plain.code == 0, plain.err
    assert "crawl" not in plain.out
    assert not [p for p in other.fetched_paths() if "wp-json" in p or "sitemap" in p]
    sources = load_config(path, environ={}).sources
    assert (sources["blog"].crawl, sources["b2"].crawl) == (CrawlConfig(), None)


def test_a_site_with_neither_api_nor_sitemap_gets_no_crawl_block(
    feed_only_site: SiteServer, write_config, run_cli
) -> None:
    path = write_config({"sources": {}})
    added = run_cli("-c", str(path), "sources", "add", feed_only_site.base_url + "/", "--json")
    assert added.code == 0, added.err
    record = json.loads(added.out)
    assert "crawl" not in record and record["found"] is None
    assert load_config(path, environ={}).sources[record["name"]].crawl is None
    paths = [request.path for request in feed_only_site.requests]
    assert paths[-3:] == [
        "/wp-json/wp/v2/posts?per_page=1",
        "/wp-sitemap.xml",
        "/sitemap_index.xml",
    ]


FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Plain</title>
<link>http://plain.example/</link><description>d</description>
<item><title>One</title><link>http://plain.example/one</link></item></channel></rss>"""


@pytest.fixture
def feed_only_site() -> Iterator[SiteServer]:
    def respond(request: Request) -> Response:
        if request.path == "/feed/":
            return Response(body=FEED, content_type="application/rss+xml")
        if request.path == "/":
            page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed/">'
            return Response(body=page + b"</head><body>Hello</body></html>")
        return Response(status=404, body=b"not here")

    server = SiteServer(respond)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.slow
def test_the_api_is_paged_through_and_a_second_crawl_stops_at_its_first_page(
    make_news_site, configure, database
) -> None:
    site = make_news_site(extra_articles=61)  # 101 posts: two pages of the API
    site.wp_api = True
    config = configure({"news": {"homepage": f"{site.base_url}/", "crawl": {}}})
    handle = database(config)
    site.clear_log()
    first = crawl(config, "news", handle)
    api_pages = [p for p in site.fetched_paths() if p.startswith(API)]
    assert [("page=1&" in p, "page=2&" in p) for p in api_pages] == [(True, False), (False, True)]
    assert (first["new"], first["listings"], first["backlog_cut"]) == (101, 2, "")
    assert stored_urls(handle) == canonical(a.url for a in site.articles)
    site.clear_log()
    second = crawl(config, "news", handle)
    fetched = site.fetched_paths()
    assert len([p for p in fetched if p.startswith(API)]) == 1  # page 1: nothing new on it
    assert (second["new"], second["known"], second["listings"]) == (0, 100, 1)
    assert second["backlog_cut"].startswith("stopped paging at ")
    assert [run.complete for run in crawl_runs(handle)] == [True, False]
