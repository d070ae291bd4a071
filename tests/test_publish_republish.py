"""Publishing on the source's terms: ``republish`` shapes every entry (feeds and page) by its
primary source's mode, and ``opt_out`` takes a source's articles and its name out of every
output at the next build and from ``serve``. Selection on SQLite and (when configured)
PostgreSQL; builds and the server on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select, update

from aggregator.config import Config
from aggregator.errors import ConfigError
from aggregator.publish.atom import render_atom
from aggregator.publish.build import Site, make_feed, render_index
from aggregator.publish.feed import Selection
from aggregator.publish.jsonfeed import render_jsonfeed
from aggregator.publish.rss import render_rss
from aggregator.publish.select import (
    PublishPolicy,
    group_by_tag,
    published_filter,
    published_ids,
    select_entries,
    sources_with_published,
)
from aggregator.publish.server import PublishApp
from aggregator.publish.write import write_site
from aggregator.storage import Database, open_database
from aggregator.storage.models import Article
from tests.publish_data import (
    NOW,
    Row,
    add_sources,
    atom_schema,
    insert_rows,
    parse_feed,
    publish_config,
    serving,
)

NAMES = ("plain", "quoted", "linked", "auto", "gone", "watch")
SOURCES: dict[str, dict[str, Any]] = {
    "plain": {"homepage": "https://plain.example/"},
    "quoted": {"homepage": "https://quoted.example/", "republish": "excerpt"},
    "linked": {"homepage": "https://linked.example/", "republish": "link"},
    "auto": {"homepage": "https://auto.example/", "republish": "auto"},
    "gone": {"homepage": "https://gone.example/", "opt_out": True},
    "watch": {"homepage": "https://watch.example/", "relevance": "keep_all", "opt_out": True},
}
WORDS = [f"word{n}" for n in range(100)]
TEXT = " ".join(WORDS)
LICENCES = {4: "CC-BY-SA-4.0", 5: "CC-BY-ND-4.0"}  # article 6 declares none


def long_row(article_id: int, source_id: int, **extra: Any) -> Row:
    return Row(
        id=article_id,
        source_id=source_id,
        title=f"Essay {article_id}",
        text=TEXT,
        html=f"<p>{TEXT}</p>",
        published_at=NOW - timedelta(hours=article_id),
        **extra,
    )


def rows() -> list[Row]:
    return [
        long_row(1, 1),
        long_row(2, 2),
        long_row(3, 3),
        long_row(4, 4),
        long_row(5, 4),
        long_row(6, 4),
        long_row(7, 5),
        long_row(8, 1, also_seen=((5, "https://gone.example/8"),)),
        long_row(9, 5, also_seen=((1, "https://plain.example/9"),)),  # the primary governs
        long_row(10, 1, relevance=0.0, also_seen=((6, "https://watch.example/10"),)),
        long_row(11, 6),
    ]


def fill(database: Database) -> None:
    add_sources(database, *NAMES)
    insert_rows(database, rows())
    with database.session() as session:
        for article_id, licence in LICENCES.items():
            session.execute(update(Article).where(Article.id == article_id).values(licence=licence))


def configured(folder: Path, url: str, sources: dict[str, dict[str, Any]] = SOURCES) -> Config:
    return publish_config(folder, url, sources, id_domain="example.org")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    fill(database)
    yield database
    database.close()


@pytest.fixture
def policy(tmp_path: Path, database: Database) -> PublishPolicy:
    return PublishPolicy.from_config(configured(tmp_path, database.url))


def test_the_policy_reads_modes_and_opt_outs_from_the_config(policy: PublishPolicy) -> None:
    assert [policy.republish_mode(name) for name in NAMES] == [
        "full", "excerpt", "link", "auto", "full", "full",
    ]  # fmt: skip
    assert policy.republish_mode("not-configured") == "full"
    assert policy.opted_out == {"gone", "watch"}
    assert policy.keep_all == frozenset()  # a source that opted out keeps nothing


def test_opted_out_sources_leave_every_selection(database: Database, policy: PublishPolicy) -> None:
    with database.session() as session:
        assert published_ids(session, policy, 100) == [1, 2, 3, 4, 5, 6, 8]
        assert published_ids(session, policy, 100, source="plain") == [1, 8]
        assert published_ids(session, policy, 100, source="gone") == []
        assert published_ids(session, policy, 100, source="watch") == []
        assert published_ids(session, policy, 100, source="plain", tag="mutual-aid") == [1, 8]
        assert published_ids(session, policy, 100, source="gone", tag="mutual-aid") == []
        groups = group_by_tag(session, policy, 100)
        names = [source.name for source in sources_with_published(session, policy)]
        filtered = session.scalars(
            select(Article.id).where(published_filter(policy)).order_by(Article.id)
        )
        assert list(filtered) == [1, 2, 3, 4, 5, 6, 8]
    assert [(group.slug, group.ids) for group in groups] == [("mutual-aid", [1, 2, 3, 4, 5, 6, 8])]
    assert names == ["auto", "linked", "plain", "quoted"]


def test_without_opt_out_the_same_articles_are_back(tmp_path: Path, database: Database) -> None:
    """Nothing was deleted: opting back in publishes them again."""
    opted_in = {name: {**settings, "opt_out": False} for name, settings in SOURCES.items()}
    policy = PublishPolicy.from_config(configured(tmp_path, database.url, opted_in))
    with database.session() as session:
        assert published_ids(session, policy, 100) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        assert published_ids(session, policy, 100, source="gone") == [7, 8, 9]


def test_each_entry_takes_its_primary_source_s_shape(
    database: Database, policy: PublishPolicy
) -> None:
    with database.session() as session:
        entries = {entry.article_id: entry for entry in select_entries(session, policy, 100)}
    shapes = {article_id: entry.republished for article_id, entry in entries.items()}
    assert shapes == {
        1: "full", 2: "excerpt", 3: "link", 4: "full", 5: "excerpt", 6: "excerpt", 8: "full",
    }  # fmt: skip
    assert (
        "word99" in entries[1].content_html and "Originally published at" in entries[1].content_html
    )
    excerpt = " ".join(WORDS[:60]) + "…"
    assert entries[2].content_html == (
        f'<p>{excerpt}</p><p><em>Read it at <a href="https://source2.example/2/" '
        'rel="noopener noreferrer">Quoted</a>.</em></p>'
    )
    assert "word60" not in entries[2].summary and entries[2].summary.startswith("word0 word1")
    assert (entries[3].content_html, entries[3].summary) == ("", "")
    assert entries[3].url == "https://source3.example/3/"
    assert "word99" in entries[4].content_html  # CC BY-SA: in full
    assert "word99" not in entries[5].content_html  # CC BY-ND: not modified, so an excerpt
    assert entries[4].licence == "CC-BY-SA-4.0" and entries[6].licence is None
    # Seen at a source that opted out: published, without naming it.
    assert entries[8].also_seen == ()
    assert "Gone" not in entries[8].content_html


def _feeds(database: Database, policy: PublishPolicy) -> dict[str, bytes]:
    site = Site("Reader", 100, None, policy)
    with database.session() as session:
        entries = select_entries(session, policy, 100)
    rendered = {
        name: renderer(make_feed(site, Selection(), name, entries))
        for name, renderer in (
            ("atom", render_atom),
            ("rss", render_rss),
            ("json", render_jsonfeed),
        )
    }
    rendered["page"] = render_index(site, entries, [])
    return rendered


def test_the_shapes_reach_atom_rss_json_feed_and_the_page(
    database: Database, policy: PublishPolicy
) -> None:
    feeds = _feeds(database, policy)
    atom_schema().assertValid(etree.fromstring(feeds["atom"]))
    for name in ("atom", "rss"):
        parsed = {entry.title: entry for entry in parse_feed(feeds[name]).entries}
        assert set(parsed) == {f"Essay {n}" for n in (1, 2, 3, 4, 5, 6, 8)}
        assert "word99" in parsed["Essay 1"].content[0].value
        assert "word99" not in parsed["Essay 2"].content[0].value
        assert "Read it at" in parsed["Essay 2"].content[0].value
        assert "content" not in parsed["Essay 3"]  # a link only
        assert parsed["Essay 3"].link == "https://source3.example/3/"
        assert "word99" in parsed["Essay 4"].content[0].value
        assert "word99" not in parsed["Essay 6"].content[0].value
    items = {item["title"]: item for item in json.loads(feeds["json"])["items"]}
    assert items["Essay 3"]["content_html"] == "" and "summary" not in items["Essay 3"]
    assert "word99" not in items["Essay 5"]["content_html"]
    assert "word99" in items["Essay 4"]["content_html"]
    page = etree.HTML(feeds["page"])
    excerpts = {
        article.findtext(".//h2/a"): article.findtext(".//p[@class='excerpt']")
        for article in page.iter("article")
    }
    assert set(excerpts) == {f"Essay {n}" for n in (1, 2, 3, 4, 5, 6, 8)}
    assert excerpts["Essay 3"] is None  # title and link only
    assert excerpts["Essay 2"].startswith("word0") and "word60" not in excerpts["Essay 2"]
    assert b"Gone" not in feeds["page"] and b"gone.example" not in feeds["atom"]


# --- builds and the server (SQLite) ----------------------------------------------------------


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    fill(database)
    yield database
    database.close()


def test_the_next_build_follows_opt_out_and_republish_changes(
    tmp_path: Path, sqlite_database: Database, run_cli
) -> None:
    opted_in = {name: {**settings, "opt_out": False} for name, settings in SOURCES.items()}
    config = configured(tmp_path, sqlite_database.url, opted_in)
    config_path = str(tmp_path / "publish-config.yaml")
    assert run_cli("-c", config_path, "feed", "build").code == 0
    public = config.output.dir
    assert (public / "feeds/source/gone.atom").is_file()
    assert b"source5.example/7/" in (public / "feed.atom").read_bytes()

    config = configured(tmp_path, sqlite_database.url)  # gone and watch opt out
    result = run_cli("-c", config_path, "feed", "build")
    assert result.code == 0, result.err
    assert not (public / "feeds/source/gone.atom").exists()
    assert not (public / "feeds/source/watch.atom").exists()
    for name in ("feed.atom", "feed.rss", "feed.json", "index.html", "feeds/tag/mutual-aid.atom"):
        data = (public / name).read_bytes()
        assert b"source5.example" not in data and b"source6.example" not in data, name
        assert b"gone.example" not in data, name
    assert b"Essay 8" in (public / "feed.atom").read_bytes()

    quoted_full = {**SOURCES, "quoted": {"homepage": "https://quoted.example/"}}
    before = (public / "feed.json").read_bytes()
    report = write_site(sqlite_database, configured(tmp_path, sqlite_database.url, quoted_full))
    changed = {written.path for written in report.written if written.changed}
    assert {"feed.atom", "feed.rss", "feed.json", "feeds/source/quoted.atom"} <= changed
    items = {
        item["title"]: item for item in json.loads((public / "feed.json").read_bytes())["items"]
    }
    assert "word99" in items["Essay 2"]["content_html"]
    assert (public / "feed.json").read_bytes() != before


def test_a_changed_licence_rewrites_the_entries_auto_shapes(
    tmp_path: Path, sqlite_database: Database
) -> None:
    config = configured(tmp_path, sqlite_database.url)
    write_site(sqlite_database, config)
    with sqlite_database.session() as session:
        session.execute(update(Article).where(Article.id == 6).values(licence="CC0-1.0"))
    report = write_site(sqlite_database, config)
    changed = {written.path for written in report.written if written.changed}
    assert {"feed.atom", "feeds/source/auto.atom"} <= changed
    assert "feeds/source/quoted.atom" not in changed
    items = {
        item["title"]: item
        for item in json.loads((config.output.dir / "feed.json").read_bytes())["items"]
    }
    assert "word99" in items["Essay 6"]["content_html"]


def test_serve_leaves_out_opted_out_sources(tmp_path: Path, sqlite_database: Database) -> None:
    config = configured(tmp_path, sqlite_database.url)
    with serving(PublishApp(sqlite_database, config)) as site:
        feed = site.get("/feed.json")
        gone = site.get("/feeds/source/gone.atom")
        narrowed = site.get("/feed.json?source=gone")
        page = site.get("/")
        quoted = site.get("/feeds/source/quoted.rss")
    assert feed.status == 200
    items = {item["title"]: item for item in json.loads(feed.body)["items"]}  # type: ignore[attr-defined]
    assert set(items) == {f"Essay {n}" for n in (1, 2, 3, 4, 5, 6, 8)}
    assert items["Essay 3"]["content_html"] == ""
    assert (gone.status, narrowed.status) == (404, 404)
    assert page.status == 200 and b"Gone" not in page.body  # type: ignore[attr-defined]
    [entry] = parse_feed(quoted.body).entries  # type: ignore[attr-defined]
    assert "word99" not in entry.content[0].value and "Read it at" in entry.content[0].value


@pytest.mark.parametrize(
    ("sources", "output", "key"),
    [
        ({"a": {"homepage": "https://a.example/", "republish": "all"}}, {}, "sources.a.republish"),
        ({"a": {"homepage": "https://a.example/", "opt_out": "maybe"}}, {}, "sources.a.opt_out"),
        ({}, {"republish": "none"}, "output.republish"),
    ],
)
def test_bad_terms_are_refused_naming_the_key(
    tmp_path: Path, sources: dict[str, Any], output: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        publish_config(tmp_path, "sqlite:///x.db", sources, **output)
