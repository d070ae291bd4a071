"""Kinds of source: the registry, ``sources.NAME.kind`` in the config, which sources a poll
serves, the ``wordpress`` kind without a feed, and migration 0010 (WordPress state into
``kind_state``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from aggregator.config import SourceConfig, load_config
from aggregator.daemon.service import Daemon
from aggregator.errors import ConfigError
from aggregator.kinds import REGISTRY, kind_named, kind_of, polled
from aggregator.kinds.crawl import CrawlKind
from aggregator.normalize import canonical_url
from aggregator.storage import migrate, open_database
from aggregator.storage.engine import make_engine
from aggregator.storage.models import Article
from tests.pollkit import poll_env
from tests.sites.blog_site import BlogSite

HOME = "https://site.example/"
FEED = "https://site.example/feed/"
CRAWL = {"article_urls": ["/20"]}


def source(**settings: Any) -> SourceConfig:
    return SourceConfig.model_validate({"homepage": HOME, **settings})


def test_every_registered_kind_loads_under_its_name() -> None:
    for name in REGISTRY:
        assert kind_named(name).name == name


@pytest.mark.parametrize(
    ("settings", "kind"),
    [
        ({"feed": FEED}, "wordpress"),  # today's behaviour: the feed, and the API if it answers
        ({"feed": FEED, "crawl": CRAWL}, "wordpress"),
        ({"crawl": CRAWL}, "crawl"),
        ({}, "feed"),  # nothing to poll, as before
        ({"feed": FEED, "kind": "feed"}, "feed"),
        ({"kind": "sitemap"}, "sitemap"),
        ({"kind": "wordpress"}, "wordpress"),
    ],
)
def test_the_kind_of_a_source(settings: dict[str, Any], kind: str) -> None:
    assert kind_of(source(**settings)).name == kind


@pytest.mark.parametrize(
    ("settings", "is_polled"),
    [
        ({"feed": FEED}, True),
        ({"kind": "sitemap"}, True),
        ({"kind": "wordpress"}, True),  # the homepage's API is enough
        ({"crawl": CRAWL}, False),
        ({"kind": "crawl", "feed": FEED, "crawl": CRAWL}, False),
        ({}, False),
    ],
)
def test_which_sources_a_poll_serves(settings: dict[str, Any], is_polled: bool) -> None:
    assert polled(source(**settings)) is is_polled


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "sitmap"}, "unknown kind 'sitmap' (did you mean 'sitemap'?)"),
        ({"kind": "mastodon"}, "unknown kind 'mastodon' (known kinds: feed, wordpress,"),
        ({"kind": "feed"}, "kind 'feed' needs 'feed'"),
        ({"kind": "crawl"}, "kind 'crawl' needs 'crawl'"),
    ],
)
def test_bad_kinds_are_named_in_the_config_error(write_config, settings, message) -> None:
    path = write_config({"sources": {"s": {"homepage": HOME, **settings}}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}: sources.s")


def test_the_daemon_polls_the_sources_a_poll_serves(write_config) -> None:
    sources = {
        "feed": {"homepage": HOME, "feed": FEED},
        "sitemap": {"homepage": HOME, "kind": "sitemap"},
        "api": {"homepage": HOME, "kind": "wordpress"},
        "crawled": {"homepage": HOME, "crawl": CRAWL},
        "off": {"homepage": HOME, "kind": "sitemap", "enabled": False},
        "nothing": {"homepage": HOME},
    }
    config = load_config(write_config({"sources": sources}), environ={})
    daemon = Daemon(open_database(config.database.url), config)
    try:
        assert daemon._feed_sources() == ["feed", "sitemap", "api"]
    finally:
        daemon.database.close()


def test_the_crawl_kind_crawls_with_the_spider(write_config, database_url, blog_site) -> None:
    crawl = {"sitemaps": [blog_site.sitemap_url]}
    sources = {"blog": {"homepage": f"{blog_site.base_url}/", "kind": "crawl", "crawl": crawl}}
    with poll_env(write_config, database_url, sources) as env:
        # No politeness delay and extraction in the crawl's own thread: this is about the kind
        # handing the source to the spider, not about pacing (tests/test_crawl.py does that).
        fast = {"download_delay": 0, "autothrottle": False, "workers": 0}
        config = env.config.model_copy(
            update={"crawling": env.config.crawling.model_copy(update=fast)}
        )
        result = CrawlKind().crawl(env.database, config, "blog")
        assert result.error_for("blog") is None
        with env.database.session() as session:
            stored = set(session.scalars(select(Article.canonical_url)))
        assert {canonical_url(a.url) for a in blog_site.articles} <= stored


def test_polling_a_crawled_source_says_how_it_is_read(write_config, run_cli) -> None:
    path = write_config({"sources": {"s": {"homepage": HOME, "kind": "crawl", "crawl": CRAWL}}})
    result = run_cli("--config", str(path), "poll", "s")
    assert "crawled, not polled: `mutualaid crawl` reads it" in result.out + result.err


# --- the wordpress kind with only a homepage -------------------------------------------------


def wordpress_env(write_config, database_url: str, site: BlogSite):
    source = {"homepage": f"{site.base_url}/", "kind": "wordpress", "relevance": "keep_all"}
    return poll_env(write_config, database_url, {"blog": source})


def test_wordpress_without_a_feed_polls_its_api(write_config, database_url, make_blog_site):
    site: BlogSite = make_blog_site()
    with wordpress_env(write_config, database_url, site) as env:
        first = env.one("blog")
        assert (first.status, first.new, first.requests) == ("ok", len(site.articles), 1)
        assert site.fetched_paths()[0].startswith("/wp-json/wp/v2/posts?")
        state = env.state("blog")
        assert state.url == f"{site.base_url}/"
        assert state.kind_state["wordpress"]["api_url"] == f"{site.base_url}/wp-json/wp/v2/posts"
        second = env.one("blog", force=True)
        assert (second.status, second.new, second.unchanged) == ("ok", 0, len(site.articles))


def test_wordpress_without_a_feed_or_an_api_fails_clearly(
    write_config, database_url, make_blog_site
):
    site: BlogSite = make_blog_site()
    site.wp_api = False
    with wordpress_env(write_config, database_url, site) as env:
        result = env.one("blog")
    assert result.status == "failed"
    assert result.error == f"WordPress API at {site.base_url}/wp-json/wp/v2/posts: HTTP 404"


# --- migration 0010 ----------------------------------------------------------------------------

CHECKED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def test_migration_0010_moves_wordpress_state_into_kind_state(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0009")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sources (name, homepage, enabled, created_at) VALUES "
                    "('a', 'https://a.example/', :yes, :now), "
                    "('b', 'https://b.example/', :yes, :now), "
                    "('c', 'https://c.example/', :yes, :now)"
                ),
                {"yes": True, "now": CHECKED},
            )
            rows = [
                (1, "https://a.example/feed/", "https://a.example/wp-json/wp/v2/posts"),
                (2, "https://b.example/feed/", None),  # asked, did not answer
            ]
            for source_id, url, api in rows:
                connection.execute(
                    text(
                        "INSERT INTO fetch_states (source_id, url, consecutive_failures, "
                        "redirect_count, etag, wp_api_url, wp_api_checked_at) "
                        "VALUES (:id, :url, 0, 0, '\"v1\"', :api, :checked)"
                    ),
                    {"id": source_id, "url": url, "api": api, "checked": CHECKED},
                )
            connection.execute(
                text(
                    "INSERT INTO fetch_states (source_id, url, consecutive_failures, "
                    "redirect_count) VALUES (3, 'https://c.example/feed/', 0, 0)"
                )
            )
        migrate.upgrade(engine)
        assert "wp_api_url" not in _columns(engine)
        assert _kind_states(engine) == {
            "https://a.example/feed/": {
                "wordpress": {
                    "api_url": "https://a.example/wp-json/wp/v2/posts",
                    "api_checked_at": "2026-11-02T08:30:00+00:00",
                }
            },
            "https://b.example/feed/": {
                "wordpress": {"api_url": None, "api_checked_at": "2026-11-02T08:30:00+00:00"}
            },
            "https://c.example/feed/": {},
        }
        _downgrade(engine, "0009")
        with engine.connect() as connection:
            back = connection.execute(
                text("SELECT url, wp_api_url, wp_api_checked_at, etag FROM fetch_states")
            ).all()
        assert {url: api for url, api, _, _ in back} == {url: api for _, url, api in rows} | {
            "https://c.example/feed/": None
        }
        assert sum(1 for *_, checked, _ in back if checked is not None) == 2
        assert {etag for *_, etag in back} == {'"v1"', None}
        assert all(state == {} for state in _kind_states(engine).values())
    finally:
        engine.dispose()


def _columns(engine: Any) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("fetch_states")}


def _kind_states(engine: Any) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT url, kind_state FROM fetch_states")).all()
    return {url: state if isinstance(state, dict) else json.loads(state) for url, state in rows}


def _downgrade(engine: Any, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
