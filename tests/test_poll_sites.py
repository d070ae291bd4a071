"""Polling the local WordPress test sites: summary-only and full-content feeds, 304s that write
nothing, new posts, the WordPress API, backfill, and what ``mutualaid status`` then shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.items import Origin
from aggregator.kinds import kind_of
from aggregator.normalize import canonical_url
from aggregator.poll.collect import CollectSettings
from aggregator.poll.limiter import HostLimiter
from aggregator.storage.models import Article, FetchState, Run, Sighting
from tests.pollkit import PollEnv, poll_env
from tests.sites.blog_site import BlogSite
from tests.sites.news_site import FEED_SIZE, NewsSite


def news_env(write_config, database_url: str, site: NewsSite, **extra: object):
    source = {"homepage": f"{site.base_url}/", "feed": site.feed_url, "relevance": "keep_all"}
    return poll_env(write_config, database_url, {"news": {**source, **extra}})


def blog_env(write_config, database_url: str, site: BlogSite, **extra: object):
    source = {"homepage": f"{site.base_url}/", "feed": site.feed_url, "relevance": "keep_all"}
    return poll_env(write_config, database_url, {"blog": {**source, **extra}})


def snapshot(env: PollEnv) -> dict[str, object]:
    """Every article and sighting row with the timestamps a write would move."""
    with env.database.session() as session:
        articles = session.execute(
            select(Article.id, Article.content_hash, Article.last_changed_at, Article.updated_at)
        ).all()
        sightings = session.execute(select(Sighting.id, Sighting.last_seen_at)).all()
    return {"articles": sorted(articles), "sightings": sorted(sightings)}


def test_summary_only_feed_gets_each_page_fetched_once(
    write_config, database_url, news_site: NewsSite
) -> None:
    news_site.clear_log()
    with news_env(write_config, database_url, news_site) as env:
        result = env.one("news")
        assert (result.status, result.new, result.failed) == ("ok", FEED_SIZE, 0)
        paths = news_site.fetched_paths()
        pages = [path for path in paths if "utm_source=rss" in path]
        assert paths[0] == "/feed/"
        assert len(pages) == FEED_SIZE == len(set(pages))  # each page once, as the feed links it
        assert result.requests == len(paths)
        with env.database.session() as session:
            rows = session.execute(select(Sighting.url, Sighting.guid)).all()
        latest = news_site.articles[:FEED_SIZE]
        assert {url for url, _ in rows} == {canonical_url(a.url) for a in latest}  # no utm_*
        assert {guid for _, guid in rows} == {
            f"{news_site.base_url}/?p={article.post_id}" for article in latest
        }
        with env.database.session() as session:
            stored = session.scalars(select(Article).where(Article.guid.like("%?p=%"))).all()
        by_url = {article.canonical_url: article for article in stored}
        first = latest[0]
        article = by_url[canonical_url(first.url)]
        assert (article.title, article.author) == (first.title, first.author)  # the feed's
        assert first.paragraphs[0][:60] in article.text


def test_an_unchanged_feed_costs_one_304_and_writes_no_article(
    write_config, database_url, news_site: NewsSite
) -> None:
    with news_env(write_config, database_url, news_site) as env:
        env.one("news")
        before = snapshot(env)
        etag = env.state("news").etag
        news_site.clear_log()
        result = env.one("news")
        assert (result.status, result.requests, result.new, result.unchanged) == (
            "not_modified",
            1,
            0,
            0,
        )
        [request] = news_site.requests
        assert request.path == "/feed/" and request.headers["if-none-match"] == etag
        assert snapshot(env) == before  # same rows, same timestamps
        state = env.state("news")
        assert state.etag == etag and state.consecutive_failures == 0
        runs = env.runs("news")
        assert [(run.status, run.fetched, run.new) for run in runs][-1] == ("ok", 1, 0)
        assert len(runs) == 2


def test_a_new_post_costs_the_feed_and_its_one_page(write_config, database_url, make_news_site):
    site = make_news_site()
    with news_env(write_config, database_url, site) as env:
        env.one("news")
        added = site.add_article(
            "Neighbours open a community fridge",
            ["A community fridge opened this week, run by neighbours as mutual aid. " * 8],
        )
        site.clear_log()
        result = env.one("news")
        assert (result.new, result.unchanged, result.failed) == (1, FEED_SIZE - 1, 0)
        assert site.fetched_paths() == [
            "/feed/",
            added.url.removeprefix(site.base_url)
            + (f"?utm_source=rss&utm_medium=rss&utm_campaign={added.slug}"),
        ]
        assert env.count(Article) == FEED_SIZE + 1


def test_full_content_feed_is_ingested_without_another_fetch(
    write_config, database_url, blog_site: BlogSite
) -> None:
    blog_site.clear_log()
    with blog_env(write_config, database_url, blog_site) as env:
        result = env.one("blog")
        assert (result.status, result.new, result.requests) == ("ok", FEED_SIZE, 1)
        assert blog_site.fetched_paths() == ["/feed/"]
        essay = blog_site.articles[0]
        with env.database.session() as session:
            query = select(Article).where(Article.canonical_url == canonical_url(essay.url))
            stored = session.scalars(query).one()
        assert stored.title == essay.title
        assert essay.paragraphs[-1][:60] in stored.text  # the whole essay, past the more-tag
        assert set(essay.tags) <= set(stored.tags)


def test_always_fetch_page_fetches_pages_even_with_full_content(
    write_config, database_url, blog_site: BlogSite
) -> None:
    blog_site.clear_log()
    with blog_env(write_config, database_url, blog_site, always_fetch_page=True) as env:
        result = env.one("blog")
        assert (result.new, result.requests) == (FEED_SIZE, 1 + FEED_SIZE)
        pages = [path for path in blog_site.fetched_paths() if path != "/feed/"]
        assert sorted(pages) == sorted(
            a.url.removeprefix(blog_site.base_url) for a in blog_site.articles[:FEED_SIZE]
        )
        assert not any(path.startswith("/wp-json") for path in pages)


def test_wordpress_api_replaces_page_fetches_and_sees_edits(
    write_config, database_url, make_news_site
) -> None:
    site = make_news_site()
    site.wp_api = True
    with news_env(write_config, database_url, site) as env:
        first = env.one("news")
        api_calls = [p for p in site.fetched_paths() if p.startswith("/wp-json/")]
        assert (first.new, first.requests, len(api_calls)) == (FEED_SIZE, 2, 1)
        assert "include=" in api_calls[0]
        api = env.state("news").kind_state["wordpress"]
        assert api["api_url"] == f"{site.base_url}/wp-json/wp/v2/posts"
        with env.database.session() as session:
            tags = session.scalars(select(Article.tags)).all()
        assert any("World" in article_tags for article_tags in tags)  # categories, from the API
        edited = site.articles[2]
        site.update_article(edited.slug, paragraphs=["Rewritten: mutual aid in practice. " * 20])
        site.clear_log()
        second = env.one("news")
        assert (second.updated, second.new, second.requests) == (1, 0, 2)
        with env.database.session() as session:
            query = select(Article.text).where(Article.canonical_url == canonical_url(edited.url))
            text = session.scalar(query)
        assert text is not None and text.startswith("Rewritten")


def test_an_unanswering_api_is_remembered_and_not_asked_every_poll(
    write_config, database_url, make_news_site
) -> None:
    site = make_news_site()
    with news_env(write_config, database_url, site) as env:
        env.one("news")
        api = env.state("news").kind_state["wordpress"]
        assert api["api_url"] is None and api["api_checked_at"] is not None
        site.add_article("Another post", ["Plain words about a co-op bakery. " * 12])
        site.clear_log()
        env.one("news")
        assert not any(p.startswith("/wp-json") for p in site.fetched_paths())


def test_backfill_through_the_api_fetches_older_posts(
    write_config, database_url, blog_site: BlogSite
) -> None:
    with blog_env(write_config, database_url, blog_site) as env:
        blog_site.clear_log()
        poll, backfill = env.poll("blog", backfill_count=50)
        assert (poll.kind, poll.new) == ("poll", FEED_SIZE)
        assert backfill.kind == "backfill"
        older = len(blog_site.articles) - FEED_SIZE
        assert (backfill.new, backfill.unchanged) == (older, FEED_SIZE)
        api_calls = [p for p in blog_site.fetched_paths() if p.startswith("/wp-json/")]
        assert len(api_calls) == 1 and "per_page=50" in api_calls[0]
        assert env.count(Article) == len(blog_site.articles)
        with env.database.session() as session:
            origins = session.scalars(select(Run.kind).order_by(Run.id)).all()
        assert origins == ["poll", "backfill"]


def test_backfill_stops_at_the_count_and_pages_through(
    write_config, database_url, make_blog_site
) -> None:
    site = make_blog_site()
    with blog_env(write_config, database_url, site) as env:
        with env.poller() as poller:
            poller.poll(["blog"])
            site.clear_log()
            [_, backfill] = poller.poll(["blog"], backfill_count=11, force=True)
        assert backfill.new == 1 and backfill.unchanged == FEED_SIZE
        assert env.count(Article) == FEED_SIZE + 1


def test_item_origin_is_recorded_as_feed_or_api(write_config, database_url, make_news_site):
    site = make_news_site()
    site.wp_api = True
    with news_env(write_config, database_url, site) as env, env.poller() as poller:
        job = poller._jobs(["news"], force=False, due_only=False)[0][0]
        collected = kind_of(job.source).collect(poller.collector, job)
    assert {item.origin for item in collected.items} == {Origin.API}
    assert all(item.content and not item.html for item in collected.items)


def test_page_limit_defers_the_rest_to_the_next_poll(write_config, database_url, make_news_site):
    site = make_news_site()
    with news_env(write_config, database_url, site) as env:
        with env.poller(collect=CollectSettings(max_pages=4)) as poller:
            first = poller.poll(["news"])[0]
            assert (first.new, len(first.skips)) == (4, FEED_SIZE - 4)
            assert env.state("news").etag is not None  # kept: the rest wait on their own
            second = poller.poll(["news"])[0]
            third = poller.poll(["news"])[0]
        # The feed answers 304; the pages left for later are fetched all the same.
        assert (second.new, second.status) == (4, "not_modified")
        assert (third.new, third.status) == (2, "not_modified")
        assert env.count(Article) == FEED_SIZE


def test_status_shows_what_polling_wrote(
    write_config, database_url, news_site: NewsSite, run_cli
) -> None:
    with news_env(write_config, database_url, news_site) as env:
        env.one("news")
    config = write_config(
        {
            "database": {"url": database_url},
            "sources": {"news": {"homepage": f"{news_site.base_url}/", "feed": news_site.feed_url}},
        }
    )
    result = run_cli("-c", str(config), "status", "--json")
    assert result.code == 0, result.err
    [health] = json.loads(result.out)["sources"]
    assert health["articles"] == FEED_SIZE
    assert health["consecutive_failures"] == 0
    assert health["last_error"] is None
    success = datetime.fromisoformat(health["last_success_at"])
    assert datetime.fromisoformat(health["next_check_at"]) > success
    assert health["last_run"]["kind"] == "poll" and health["last_run"]["new"] == FEED_SIZE


@pytest.mark.parametrize("gzip", [True, False])
def test_feed_fetched_gzipped_or_plain_reads_the_same(
    write_config, database_url, blog_site: BlogSite, gzip: bool
) -> None:
    with blog_env(write_config, database_url, blog_site) as env, env.poller() as poller:
        if not gzip:
            poller.client.headers["Accept-Encoding"] = "identity"
        [result] = poller.poll(["blog"])
        assert result.new == FEED_SIZE
        with env.database.session() as session:
            state = session.scalars(select(FetchState)).one()
        assert state.body_hash and state.last_success_at is not None
        assert state.last_success_at <= datetime.now(UTC)


def test_every_request_of_a_poll_waits_its_turn_at_the_host(
    write_config, database_url, make_news_site
) -> None:
    site = make_news_site()
    sleeps: list[float] = []
    limiter = HostLimiter(1.5, clock=lambda: 100.0, sleep=sleeps.append)  # time stands still
    with news_env(write_config, database_url, site) as env, env.poller() as poller:
        poller.fetcher.limiter = limiter
        [result] = poller.poll(["news"])
    # The feed, the WordPress API probe and ten article pages, one at a time, 1.5 s apart.
    assert result.requests == len(site.requests) == 2 + FEED_SIZE
    assert sleeps == [1.5] * (result.requests - 1)
