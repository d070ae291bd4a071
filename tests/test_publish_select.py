"""Which articles are published and in what order, on SQLite and (when configured) PostgreSQL;
entries, feed links and the publishing config keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.errors import ConfigError
from aggregator.publish.atom import render_atom
from aggregator.publish.build import Site, make_feed
from aggregator.publish.feed import Selection
from aggregator.publish.jsonfeed import render_jsonfeed
from aggregator.publish.rss import render_rss
from aggregator.publish.select import (
    PublishPolicy,
    group_by_tag,
    load_entries,
    published_ids,
    select_entries,
    sources_with_published,
)
from aggregator.storage import Database, open_database
from tests.publish_data import NOW, Row, add_sources, insert_rows, parse_feed, publish_config

POLICY = PublishPolicy(threshold=6.0, keep_all=frozenset({"keep"}), id_domain="example.org")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    add_sources(database, "scored", "keep", "other")
    hour = timedelta(hours=1)
    insert_rows(
        database,
        [
            Row(id=1, relevance=6.0, published_at=NOW - 1 * hour, tags=("Mutual aid",)),
            Row(id=2, relevance=5.99, published_at=NOW - 2 * hour),
            Row(id=3, relevance=None, published_at=NOW - 3 * hour),
            Row(id=4, source_id=2, relevance=0.0, published_at=NOW - 4 * hour, tags=("Co-ops",)),
            Row(
                id=5,
                relevance=1.0,
                published_at=NOW - 5 * hour,
                also_seen=((2, "https://keep.example/5"),),
            ),
            Row(id=6, relevance=9.0, published_at=NOW - 1 * hour, tags=("mutual-aid", "Co-ops")),
            Row(
                id=7, source_id=3, relevance=9.0, published_at=NOW - 6 * hour, tags=("MUTUAL AID",)
            ),
        ],
    )
    yield database
    database.close()


def test_published_means_on_topic_or_seen_at_a_keep_all_source(database: Database) -> None:
    with database.session() as session:
        ids = published_ids(session, POLICY, 100)
    # 6 before 1: same time, higher id first. 2 scores under the threshold, 3 has no score.
    assert ids == [6, 1, 4, 5, 7]


def test_limit_source_and_tag(database: Database) -> None:
    with database.session() as session:
        assert published_ids(session, POLICY, 2) == [6, 1]
        assert published_ids(session, POLICY, 100, source="keep") == [4, 5]
        assert published_ids(session, POLICY, 100, source="other") == [7]
        assert published_ids(session, POLICY, 100, tag="mutual-aid") == [6, 1, 5, 7]
        assert published_ids(session, POLICY, 1, tag="mutual-aid") == [6]
        assert published_ids(session, POLICY, 100, source="scored", tag="co-ops") == [6]
        assert published_ids(session, POLICY, 100, tag="missing") == []
        without_keep_all = PublishPolicy(6.0)
        assert published_ids(session, without_keep_all, 100) == [6, 1, 7]


def test_tag_groups_take_one_pass_and_keep_the_newest(database: Database) -> None:
    with database.session() as session:
        groups = {group.slug: group for group in group_by_tag(session, POLICY, 2)}
    assert set(groups) == {"mutual-aid", "co-ops"}
    assert groups["mutual-aid"].ids == [6, 1]  # limited to 2; one entry per article
    assert groups["mutual-aid"].label == "mutual-aid"  # the newest article's spelling
    assert groups["co-ops"].ids == [6, 4]


def test_sources_with_published_articles(database: Database) -> None:
    with database.session() as session:
        names = [source.name for source in sources_with_published(session, POLICY)]
    assert names == ["keep", "other", "scored"]


def test_entries_carry_ids_dates_and_attribution(database: Database) -> None:
    with database.session() as session:
        entries = select_entries(session, POLICY, 100)
    by_id = {entry.article_id: entry for entry in entries}
    assert by_id[5].id == f"tag:example.org,{NOW.date().isoformat()}:article/5"
    assert by_id[5].original.source.name == "scored"
    assert [(s.source.name, s.url) for s in by_id[5].also_seen] == [
        ("keep", "https://keep.example/5")
    ]
    assert by_id[5].changed == NOW + timedelta(minutes=1)  # the later sighting
    assert by_id[1].changed == NOW
    assert by_id[5].published == NOW - timedelta(hours=5)
    assert all(entry.updated >= entry.published for entry in entries)


def test_loading_with_a_cache_reads_each_article_once(database: Database) -> None:
    cache: dict = {}
    with database.session() as session:
        first = load_entries(session, POLICY, [6, 1], cache)
        assert set(cache) == {6, 1}
        again = load_entries(session, POLICY, [1, 4, 6, 999], cache)
    assert again[0] is first[1] and again[2] is first[0]
    assert [entry.article_id for entry in again] == [1, 4, 6]  # unknown ids are left out


def test_feed_links_are_relative_without_a_base_url_and_absolute_with_one(
    database: Database,
) -> None:
    with database.session() as session:
        entries = select_entries(session, POLICY, 100, tag="co-ops")
    relative = Site("Reader", 10, None, POLICY)
    feed = make_feed(relative, Selection(tag="co-ops"), "atom", entries, tag_label="Co-ops")
    assert feed.self_url == "co-ops.atom"
    assert feed.home_url == "../../index.html"
    assert feed.title == "Reader: Co-ops"
    absolute = Site("Reader", 10, "https://reader.example/r/", POLICY)
    for format_name, render in (("atom", render_atom), ("rss", render_rss)):
        feed = make_feed(absolute, Selection(tag="co-ops"), format_name, entries)
        parsed = parse_feed(render(feed))
        assert parsed.feed.link == "https://reader.example/r/"
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [f"https://reader.example/r/feeds/tag/co-ops.{format_name}"]
    document = render_jsonfeed(make_feed(absolute, Selection(), "json", entries))
    assert b'"feed_url": "https://reader.example/r/feed.json"' in document


def test_publishing_config_keys(tmp_path: Path) -> None:
    config = publish_config(
        tmp_path, "sqlite:///x.db", {}, base_url="https://reader.example/r", id_domain="me@x.org"
    )
    assert config.output.base_url == "https://reader.example/r/"
    assert config.output.id_domain == "me@x.org"
    assert (config.serve.host, config.serve.port) == ("127.0.0.1", 8080)
    assert config.serve.max_age == timedelta(minutes=5)
    with pytest.raises(ConfigError, match=r"output\.id_domain: not a domain"):
        publish_config(tmp_path, "sqlite:///x.db", {}, id_domain="not a domain/")
    with pytest.raises(ConfigError, match=r"output\.base_url: not an http\(s\) URL"):
        publish_config(tmp_path, "sqlite:///x.db", {}, base_url="ftp://x.example/")
