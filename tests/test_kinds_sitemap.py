"""The ``sitemap`` kind against local sites: a WordPress-like news site (a sitemap index of
post, page and category sitemaps) and scripted servers for what the news site cannot show."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aggregator.poll.collect import CollectSettings
from aggregator.sitemaps import (
    Listed,
    Sitemap,
    SitemapError,
    newest_first,
    parse_sitemap,
    post_sitemaps,
)
from aggregator.storage.models import Article
from tests.feedserver import ScriptedServer, article_page, html_page, xml_response
from tests.pollkit import PollEnv, poll_env
from tests.sites.news_site import NewsSite
from tests.sites.sitemaps import sitemap_index, url_set

ALL_PAGES = CollectSettings(max_pages=100)
MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, tzinfo=UTC)


def sitemap_env(write_config, database_url: str, homepage: str, **extra: object):
    source: dict[str, Any] = {"homepage": homepage, "kind": "sitemap", "relevance": "keep_all"}
    return poll_env(write_config, database_url, {"site": {**source, **extra}})


def page_paths(site: NewsSite) -> list[str]:
    """Requests for article pages (every sitemap ends in .xml)."""
    return [path for path in site.fetched_paths() if not path.endswith(".xml")]


def poll(env: PollEnv, settings: CollectSettings = ALL_PAGES, **options: Any):
    with env.poller(collect=settings) as poller:
        return poller.poll(["site"], **options)


def test_first_poll_finds_the_sitemap_and_stores_every_post(
    write_config, database_url, make_news_site
) -> None:
    site: NewsSite = make_news_site()
    with sitemap_env(write_config, database_url, f"{site.base_url}/") as env:
        [result] = poll(env)
        assert (result.status, result.new, result.failed) == ("ok", len(site.articles), 0)
        sitemaps = [p for p in site.fetched_paths() if p.endswith(".xml")]
        # Found by trying the usual places (the site answers Yoast's index, not WordPress
        # core's); only the sitemap of posts is read, not pages or categories, and the pages
        # fetched are exactly the posts.
        assert sitemaps == ["/wp-sitemap.xml", "/sitemap_index.xml", "/post-sitemap.xml"]
        assert sorted(page_paths(site)) == sorted(
            a.url.removeprefix(site.base_url) for a in site.articles
        )
        assert env.count(Article) == len(site.articles)
        memory = env.state("site").kind_state["sitemap"]
        assert memory["sitemap"] == site.url("/sitemap_index.xml")
        assert list(memory["read"]) == [site.url("/post-sitemap.xml")]


def test_a_second_poll_with_nothing_new_fetches_no_page(
    write_config, database_url, make_news_site
) -> None:
    site: NewsSite = make_news_site()
    with sitemap_env(write_config, database_url, f"{site.base_url}/") as env:
        poll(env)
        site.clear_log()
        [again] = poll(env, force=True)
        assert (again.status, again.new, again.requests) == ("not_modified", 0, 1)
        # Straight to the index found before, a conditional GET.
        assert site.fetched_paths() == ["/sitemap_index.xml"]

        site.add_article("A new co-op", ["Neighbours share a kitchen and a tool library. " * 12])
        site.clear_log()
        [third] = poll(env, force=True)
        assert (third.status, third.new, third.unchanged) == ("ok", 1, len(site.articles) - 1)
        assert page_paths(site) == [site.articles[0].url.removeprefix(site.base_url)]


def test_the_page_limit_leaves_the_rest_for_the_next_poll(
    write_config, database_url, make_news_site
) -> None:
    site: NewsSite = make_news_site()
    with sitemap_env(write_config, database_url, f"{site.base_url}/") as env:
        [first] = poll(env, CollectSettings(max_pages=25))
        assert (first.new, len(first.skips)) == (25, len(site.articles) - 25)
        newest = {a.url.removeprefix(site.base_url) for a in site.articles[:25]}
        assert set(page_paths(site)) == newest  # newest first, by lastmod
        assert env.state("site").kind_state["sitemap"]["read"] == {}  # not read whole yet
        [second] = poll(env, CollectSettings(max_pages=25), force=True)
        assert (second.new, second.unchanged) == (len(site.articles) - 25, 25)
        assert env.count(Article) == len(site.articles)


def test_sitemaps_of_an_index_read_whole_are_not_read_again(
    write_config, database_url, server: ScriptedServer
) -> None:
    server.route("/a", article_page("Mutual aid in the flood"))
    server.route("/b", article_page("A tool library opens"))
    server.route("/post-sitemap.xml", xml_response(url_set([(server.url("/a"), MAY)])))
    server.route("/post-sitemap2.xml", xml_response(url_set([(server.url("/b"), JUNE)])))
    first = [(server.url("/post-sitemap.xml"), MAY)]
    both = [*first, (server.url("/post-sitemap2.xml"), JUNE)]
    server.route(
        "/sitemap.xml", xml_response(sitemap_index(first)), xml_response(sitemap_index(both))
    )
    sitemap = server.url("/sitemap.xml")
    with sitemap_env(write_config, database_url, server.url("/"), sitemap=sitemap) as env:
        assert poll(env)[0].new == 1
        server.clear_log()
        [second] = poll(env, force=True)
        assert second.new == 1
        # The index changed, its first sitemap did not (same lastmod): only the new one is read.
        assert server.paths() == ["/sitemap.xml", "/post-sitemap2.xml", "/b"]


def test_a_broken_sitemap_fails_clearly_and_keeps_what_is_stored(
    write_config, database_url, server: ScriptedServer
) -> None:
    server.route("/a", article_page("Mutual aid in the flood"))
    good = xml_response(url_set([(server.url("/a"), MAY)]))
    broken = xml_response(b"<?xml version='1.0'?><urlset><url><loc>http://x/</loc></url")
    server.route("/sitemap.xml", good, broken)
    with sitemap_env(write_config, database_url, server.url("/")) as env:
        assert poll(env)[0].new == 1
        before = env.state("site").kind_state
        [failed] = poll(env, force=True)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.startswith(f"no sitemap: {server.url('/sitemap.xml')}: not XML")
        assert env.count(Article) == 1
        state = env.state("site")
        assert state.kind_state == before and state.consecutive_failures == 1


def test_a_site_without_a_sitemap_says_where_it_looked(
    write_config, database_url, server: ScriptedServer
) -> None:
    server.route("/sitemap.xml", html_page("Just a page"))
    with sitemap_env(write_config, database_url, server.url("/")) as env:
        [result] = poll(env)
    assert result.status == "failed" and result.error is not None
    assert f"{server.url('/wp-sitemap.xml')}: HTTP 404" in result.error
    assert f"{server.url('/sitemap.xml')}: not" in result.error


def test_a_broken_sitemap_within_an_index_fails_its_pages_only(
    write_config, database_url, server: ScriptedServer
) -> None:
    server.route("/a", article_page("Mutual aid in the flood"))
    server.route("/post-sitemap.xml", xml_response(url_set([(server.url("/a"), MAY)])))
    server.route("/post-sitemap2.xml", html_page("Gone", status=500))
    children = [(server.url("/post-sitemap.xml"), MAY), (server.url("/post-sitemap2.xml"), JUNE)]
    server.route("/sitemap_index.xml", xml_response(sitemap_index(children)))
    with sitemap_env(write_config, database_url, server.url("/")) as env:
        [result] = poll(env)
        assert (result.status, result.new) == ("ok", 1)
        assert result.failures == ((server.url("/post-sitemap2.xml"), "HTTP 500"),)
        assert env.state("site").kind_state["sitemap"]["read"] == {}  # both read again next time


def test_backfill_goes_past_the_page_limit(write_config, database_url, make_news_site) -> None:
    site: NewsSite = make_news_site()
    with sitemap_env(write_config, database_url, f"{site.base_url}/") as env:
        poll_result, backfill = poll(env, CollectSettings(max_pages=5), backfill_count=100)
        assert poll_result.new == 5
        assert (backfill.kind, backfill.new) == ("backfill", len(site.articles) - 5)
        assert env.count(Article) == len(site.articles)


# --- reading sitemaps (no server) --------------------------------------------------------------

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_url_set_gives_its_pages_with_their_lastmod() -> None:
    body = url_set([("https://a.example/1/", MAY), ("https://a.example/2/", None)])
    assert parse_sitemap(body, NOW) == Sitemap(
        False, (Listed("https://a.example/1/", MAY), Listed("https://a.example/2/"))
    )


def test_an_index_gives_its_sitemaps() -> None:
    body = sitemap_index([("https://a.example/post-sitemap.xml", JUNE)])
    assert parse_sitemap(body, NOW) == Sitemap(
        True, (Listed("https://a.example/post-sitemap.xml", JUNE),)
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "not a sitemap"),
        (b"<html><body><p>Unclosed</body></html>", "not XML"),
        (b"<html><body>Not found</body></html>", "not a sitemap (its root element is <html>)"),
        (b"", "not XML"),
    ],
)
def test_what_is_not_a_sitemap_says_what_it_is(body: bytes, reason: str) -> None:
    with pytest.raises(SitemapError) as caught:
        parse_sitemap(body, NOW)
    assert caught.value.reason.startswith(reason)


def test_entities_a_sitemap_declares_are_not_expanded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://a.example/&b;</loc></url></urlset>"
    )
    entries = parse_sitemap(body, NOW).entries
    assert all("aaaa" not in entry.url for entry in entries)


def test_the_sitemaps_of_posts_are_chosen_where_the_index_names_them() -> None:
    def names(urls: list[str]) -> list[str]:
        return [listed.url for listed in post_sitemaps(Listed(url) for url in urls)]

    core = [
        "https://a/wp-sitemap-posts-post-1.xml",
        "https://a/wp-sitemap-posts-page-1.xml",
        "https://a/wp-sitemap-taxonomies-category-1.xml",
        "https://a/wp-sitemap-users-1.xml",
    ]
    assert names(core) == ["https://a/wp-sitemap-posts-post-1.xml"]
    yoast = [
        "https://a/post-sitemap.xml",
        "https://a/post-sitemap2.xml",
        "https://a/page-sitemap.xml",
    ]
    assert names(yoast) == yoast[:2]
    other = ["https://a/sitemap-1.xml", "https://a/sitemap-2.xml"]
    assert names(other) == other
    assert names(["https://a/sitemap-posts-2.xml", *other]) == ["https://a/sitemap-posts-2.xml"]


def test_pages_go_newest_first_and_undated_last() -> None:
    pages = [Listed("u1"), Listed("m", MAY), Listed("j", JUNE), Listed("u2")]
    assert [p.url for p in newest_first(pages)] == ["j", "m", "u1", "u2"]
