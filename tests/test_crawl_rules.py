"""The crawl's pure parts: its config, reading listings and sitemaps, and every decision it takes
(what to fetch, when to stop paging, how long to wait before a retry, what robots.txt means)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import CrawlConfig, SourceConfig, load_config
from aggregator.errors import ConfigError
from aggregator.net import NetworkPolicy
from aggregator.net.identity import user_agent
from spiders.listing import DEFAULT_NEXT_PAGE, Entry, LinkRules, read_listing
from spiders.plan import CrawlOptions, make_plan, on_allowed_domain, triage
from spiders.retry import parse_retry_after, retry_delay
from spiders.robots import DISALLOW_ALL, robots_body
from spiders.settings import POLICY_SETTING, RedisTarget, build_settings
from spiders.sitemaps import read_sitemap

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
BASE = "https://news.example/tag/kropotkin/"

LISTING = """<html><head><link rel="next" href="/tag/kropotkin/page/2/"></head><body>
<nav><a href="/2025/01/in-the-menu/">Menu link</a></nav>
<main>
 <div class="entry">
  <a href="/2025/03/first/"><img src="t.jpg"></a>
  <h3 class="title"><a href="/2025/03/first/">First</a></h3>
  <time datetime="2025-03-04T06:10:00+00:00">March 4</time>
  <a class="more" href="/2025/03/first/#more-1">Read more</a>
 </div>
 <div class="entry">
  <h3 class="title"><a href="https://news.example/2024/11/second/?utm_source=x">Second</a></h3>
  <span class="date">November 7, 2024</span><time>November 7, 2024</time>
 </div>
 <div class="entry"><h3 class="title"><a href="/2023/01/undated/">Undated</a></h3></div>
 <div class="pair">
  <h3 class="title"><a href="/2022/01/a/">A</a></h3>
  <h3 class="title"><a href="/2022/01/b/">B</a></h3>
  <time datetime="2022-01-01">shared</time>
 </div>
 <a class="next page-numbers" href="/tag/kropotkin/page/2/">Next</a>
 <a href="javascript:void(0)" class="next">js</a>
</main></body></html>"""


def rules(**crawl: object) -> LinkRules:
    return LinkRules.compile(CrawlConfig.model_validate(crawl))


# -- reading listings ---------------------------------------------------------------------------


def test_article_links_come_from_selectors_with_the_date_beside_each() -> None:
    listing = read_listing(LISTING, BASE, rules(article_links=["main .title a"]), NOW)
    by_url = {entry.url: entry.published for entry in listing.entries}
    assert list(by_url) == [
        "https://news.example/2025/03/first/",
        "https://news.example/2024/11/second/?utm_source=x",
        "https://news.example/2023/01/undated/",
        "https://news.example/2022/01/a/",
        "https://news.example/2022/01/b/",
    ]
    assert by_url["https://news.example/2025/03/first/"] == datetime(2025, 3, 4, 6, 10, tzinfo=UTC)
    assert by_url["https://news.example/2024/11/second/?utm_source=x"] == datetime(
        2024, 11, 7, tzinfo=UTC
    )
    assert by_url["https://news.example/2023/01/undated/"] is None
    # A date shared by two articles' block belongs to neither.
    assert by_url["https://news.example/2022/01/a/"] is None


def test_default_next_page_links_are_found_once_and_javascript_is_ignored() -> None:
    listing = read_listing(LISTING, BASE, rules(article_links=["h3 a"]), NOW)
    assert listing.next_pages == ("https://news.example/tag/kropotkin/page/2/",)
    assert DEFAULT_NEXT_PAGE[0].startswith("link")


def test_url_patterns_pick_articles_from_all_links_and_fragments_are_dropped() -> None:
    found = rules(article_urls=[r"/2025/\d\d/[^/]+/$"], next_page_urls=[r"/page/\d+/$"])
    listing = read_listing(LISTING, BASE, found, NOW)
    assert [entry.url for entry in listing.entries] == [
        "https://news.example/2025/01/in-the-menu/",
        "https://news.example/2025/03/first/",
    ]
    assert listing.next_pages == ("https://news.example/tag/kropotkin/page/2/",)


def test_selectors_and_patterns_together_both_filter() -> None:
    both = rules(article_links=["main a"], article_urls=[r"/2024/"])
    listing = read_listing(LISTING, BASE, both, NOW)
    assert [entry.url for entry in listing.entries] == [
        "https://news.example/2024/11/second/?utm_source=x"
    ]


def test_an_xpath_may_select_the_href_itself_and_base_href_is_honoured() -> None:
    page = '<html><head><base href="https://cdn.example/x/"></head><body><a href="p/">P</a></body>'
    listing = read_listing(page, BASE, rules(article_links=["//a/@href"]), NOW)
    assert listing.entries == (Entry("https://cdn.example/x/p/"),)


@pytest.mark.parametrize("page", ["", "   ", "<html></html>"])
def test_an_empty_page_has_no_entries(page: str) -> None:
    assert read_listing(page, BASE, rules(article_links=["a"]), NOW).entries == ()


# -- decisions ------------------------------------------------------------------------------------


ENTRIES = (
    Entry("https://news.example/2025/03/new/", datetime(2025, 3, 1, tzinfo=UTC)),
    Entry("https://news.example/2025/02/stored/?utm_source=feed", datetime(2025, 2, 1, tzinfo=UTC)),
    Entry("https://news.example/2020/01/old/", datetime(2020, 1, 1, tzinfo=UTC)),
    Entry("https://news.example/undated/"),
)
KNOWN = frozenset({"https://news.example/2025/02/stored"})


def test_triage_skips_stored_and_old_links_and_keeps_paging_while_anything_is_new() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    decision = triage(ENTRIES, known=KNOWN, since=since, refresh=False)
    assert decision.follow == ("https://news.example/2025/03/new/", "https://news.example/undated/")
    assert (decision.known, decision.old, decision.keep_paging) == (1, 1, True)


def test_triage_stops_paging_when_everything_is_stored_or_too_old() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    decision = triage(ENTRIES[1:3], known=KNOWN, since=since, refresh=False)
    assert decision.follow == ()
    assert not decision.keep_paging
    assert not triage((), known=KNOWN, since=None, refresh=False).keep_paging


def test_refresh_fetches_stored_links_again_but_still_honours_since() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    decision = triage(ENTRIES[1:3], known=KNOWN, since=since, refresh=True)
    assert decision.follow == ("https://news.example/2025/02/stored/?utm_source=feed",)
    assert decision.old == 1


def test_allowed_domains_match_subdomains_and_any_port() -> None:
    assert on_allowed_domain("http://127.0.0.1:8123/x", ["127.0.0.1"])
    assert on_allowed_domain("https://www.countercurrents.org/x", ["countercurrents.org"])
    assert not on_allowed_domain(
        "https://countercurrents.org.evil.example/", ["countercurrents.org"]
    )
    assert not on_allowed_domain("mailto:someone@countercurrents.org", ["countercurrents.org"])


# -- plans and config -----------------------------------------------------------------------------


def test_plan_takes_start_urls_from_the_crawl_block_then_listings_then_homepage() -> None:
    source = SourceConfig.model_validate(
        {
            "homepage": "https://www.blog.example/",
            "listings": ["https://www.blog.example/archive/"],
            "crawl": {"article_links": ["a.more-link"], "since": "2024-02-01"},
        }
    )
    plan = make_plan("blog", source)
    assert plan.start_urls == ("https://www.blog.example/archive/",)
    assert plan.allowed_domains == ("blog.example",)
    assert plan.options.since == datetime(2024, 2, 1, tzinfo=UTC)
    later = make_plan("blog", source, CrawlOptions(since=NOW, max_pages=3, refresh=True))
    assert later.options == CrawlOptions(since=NOW, max_pages=3, refresh=True)
    bare = source.model_copy(update={"listings": ()})
    assert make_plan("blog", bare).start_urls == ("https://www.blog.example/",)


def test_a_source_without_a_crawl_block_cannot_be_crawled() -> None:
    source = SourceConfig.model_validate({"homepage": "https://blog.example/"})
    with pytest.raises(ConfigError, match=r"sources\.blog\.crawl: this source has no crawl"):
        make_plan("blog", source, origin="config.yaml")


def test_options_survive_the_trip_through_request_meta() -> None:
    options = CrawlOptions(since=NOW, max_pages=7, refresh=True)
    assert CrawlOptions.from_meta(options.as_meta()) == options
    assert CrawlOptions.from_meta(None) == CrawlOptions()


def test_repo_config_crawls_both_seed_sites() -> None:
    config = load_config(REPO_CONFIG, environ={})
    news = make_plan("countercurrents", config.sources["countercurrents"])
    assert "https://countercurrents.org/tag/kropotkin/" in news.start_urls
    assert "https://countercurrents.org/?s=kropotkin" in news.start_urls
    assert news.allowed_domains == ("countercurrents.org",)
    blog = make_plan("peterkropotkin", config.sources["peterkropotkin"])
    assert blog.start_urls == ("https://peterkropotkin.org/kropotkin-today/",)


@pytest.mark.parametrize(
    ("crawl", "message"),
    [
        ({"start_urls": ["https://x.example/"]}, "say which links are articles"),
        ({"article_links": ["a[["]}, "invalid CSS selector"),
        ({"article_urls": ["(unclosed"]}, "invalid regular expression"),
        ({"article_links": ["a"], "max_depth": -1}, "greater than or equal to 0"),
        ({"article_links": ["a"], "backend": "kafka"}, "'memory' or 'redis'"),
        ({"article_links": ["a"], "start_urls": ["ftp://x.example/"]}, r"not an http\(s\) URL"),
    ],
)
def test_bad_crawl_blocks_are_config_errors_naming_the_key(write_config, crawl, message) -> None:
    path = write_config({"sources": {"site": {"homepage": "https://x.example/", "crawl": crawl}}})
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path, environ={})
    assert (caught.value.key or "").startswith("sources.site.crawl")


def test_crawling_defaults_and_the_cache_folder_beside_the_config(write_config, tmp_path) -> None:
    config = load_config(write_config({}), environ={})
    assert config.crawling.concurrency_per_domain == 1
    assert config.network.max_bytes == 10 * 1024 * 1024
    assert config.crawling.http_cache_dir == tmp_path / "cache" / "http"


# -- settings -------------------------------------------------------------------------------------


def test_settings_are_polite_and_speak_only_http(write_config) -> None:
    config = load_config(write_config({"network": {}}), environ={})  # the packaged defaults
    settings = build_settings(config, workers=2)
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["DOWNLOAD_MAXSIZE"] == 10 * 1024 * 1024
    assert settings["DOWNLOAD_TIMEOUT"] == 30
    assert settings["DOWNLOAD_FAIL_ON_DATALOSS"] is True
    assert settings["DOWNLOAD_HANDLERS"] == {"file": None, "ftp": None, "s3": None, "data": None}
    assert settings[POLICY_SETTING] == NetworkPolicy(allow_private=False)
    assert settings["HTTPPROXY_ENABLED"] is False
    assert str(config.crawling.contact) in settings["USER_AGENT"]
    assert settings["USER_AGENT"] == user_agent(config)
    assert settings["USER_AGENT"].startswith("mutualaid/")
    assert "SCHEDULER" not in settings
    shared = build_settings(config, workers=1, redis=RedisTarget("redis://r/0", "p"))
    assert shared["SCHEDULER_QUEUE_KEY"] == "p:%(spider)s:requests"
    assert shared["SCHEDULER_PERSIST"] is True
    assert build_settings(config, workers=1, overrides={"DOWNLOAD_DELAY": 0})["DOWNLOAD_DELAY"] == 0


def test_the_network_section_sets_the_download_limits_and_the_policy(write_config) -> None:
    network = {"allow_private": True, "total_timeout": "7s", "max_bytes": 5000}
    config = load_config(write_config({"network": network}), environ={})
    settings = build_settings(config, workers=0)
    assert (settings["DOWNLOAD_TIMEOUT"], settings["DOWNLOAD_MAXSIZE"]) == (7, 5000)
    assert settings[POLICY_SETTING] == NetworkPolicy(allow_private=True)


@pytest.mark.parametrize("key", ["timeout", "max_bytes"])
def test_the_old_crawling_limits_are_gone_for_the_network_section(write_config, key) -> None:
    with pytest.raises(ConfigError, match=f"crawling.{key}"):
        load_config(write_config({"crawling": {key: 10}}), environ={})


def test_a_configured_user_agent_wins(write_config) -> None:
    config = load_config(write_config({"crawling": {"user_agent": "me/1"}}), environ={})
    assert build_settings(config, workers=0)["USER_AGENT"] == "me/1"


# -- retries and robots.txt -----------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Sun, 01 Jun 2025 12:00:30 GMT", NOW) == 30
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_retry_delay_honours_retry_after_and_otherwise_backs_off() -> None:
    delay = lambda attempt, header=None: retry_delay(  # noqa: E731
        attempt, header, NOW, backoff=2.0, max_wait=60.0
    )
    assert [delay(n) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 32, 60]
    assert delay(1, "10") == 10
    assert delay(3, "0") == 0
    assert delay(1, "3600") is None  # longer than we are willing to wait: give up on the page
    assert delay(2, "garbage") == 4


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, b"User-agent: *\nAllow: /\n"), (404, b""), (403, b""), (429, DISALLOW_ALL)]
    + [(code, DISALLOW_ALL) for code in (500, 502, 503)],
)
def test_robots_txt_errors_mean_what_rfc_9309_says(status: int, expected: bytes) -> None:
    assert robots_body(status, b"User-agent: *\nAllow: /\n") == expected


# -- sitemaps -------------------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://news.example/2025/03/first/</loc><lastmod>2025-03-04T06:10:00+00:00</lastmod></url>
<url><loc>https://news.example/about/</loc></url>
<url><loc>javascript:alert(1)</loc></url>
</urlset>"""


def test_a_url_set_lists_pages_with_their_lastmod() -> None:
    page = read_sitemap(URLSET, "https://news.example/post-sitemap.xml", NOW)
    assert page.kind == "urlset"
    assert page.entries == (
        Entry("https://news.example/2025/03/first/", datetime(2025, 3, 4, 6, 10, tzinfo=UTC)),
        Entry("https://news.example/about/"),
    )
    assert read_sitemap(gzip.compress(URLSET), "https://news.example/s.xml.gz", NOW) == page


def test_an_index_and_a_robots_txt_point_at_more_sitemaps() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://news.example/post-sitemap.xml</loc></sitemap></sitemapindex>"""
    page = read_sitemap(index, "https://news.example/sitemap.xml", NOW)
    assert (page.kind, page.entries) == ("index", (Entry("https://news.example/post-sitemap.xml"),))
    robots = b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\n"
    page = read_sitemap(robots, "https://news.example/robots.txt", NOW)
    assert page.entries == (Entry("https://news.example/sitemap.xml"),)


@pytest.mark.parametrize("body", [b"", b"not xml at all", b"<html><body>404</body></html>"])
def test_garbage_is_no_sitemap(body: bytes) -> None:
    assert read_sitemap(body, "https://news.example/sitemap.xml", NOW).entries == ()


def test_since_from_the_command_line_reads_dates_and_durations() -> None:
    from aggregator.cli.context import parse_since as _parse_since

    assert _parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert _parse_since("30d", NOW) == NOW - timedelta(days=30)
    assert _parse_since(None) is None


# -- blocks learned while a batch was being extracted -------------------------------------------


def test_a_candidate_loses_blocks_learned_after_its_extraction(blog_site) -> None:
    """The pipeline extracts one batch while it stores the last; what that store learned is
    taken out of the next batch before it is stored, as extraction would have done."""
    import urllib.request

    from aggregator.ingest import SourceContext, prepare_item
    from aggregator.ingest import strip_stale_boilerplate as strip_candidate
    from aggregator.items import FetchedItem, Origin
    from aggregator.sanitize import SANITIZER_VERSION, sanitize_html

    config = load_config(REPO_CONFIG, environ={})
    profile = config.topic.profile()
    essay = blog_site.articles[0]
    with urllib.request.urlopen(essay.url, timeout=10) as response:
        html = response.read().decode()
    item = FetchedItem(source="blog", url=essay.url, origin=Origin.CRAWL, fetched_at=NOW, html=html)
    candidate = prepare_item(item, SourceContext(name="blog", profile=profile))
    assert candidate.blocks
    block = candidate.blocks[0]
    stripped = strip_candidate(candidate, frozenset({block.fingerprint, "unrelated"}), profile)
    assert block.text not in stripped.text
    assert block not in stripped.blocks
    assert stripped.content_hash != candidate.content_hash
    assert stripped.word_count < candidate.word_count
    # Rewritten by the sanitiser, and marked as such (publishing trusts the mark).
    assert stripped.sanitized_with == SANITIZER_VERSION
    assert sanitize_html(stripped.html) == stripped.html
    assert strip_candidate(candidate, frozenset({"unrelated"}), profile) is candidate
