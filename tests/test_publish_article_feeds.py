"""``article_feeds``: every article filed under its sources and tag slugs, kept current, and
filled for the articles stored before migration 0012; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import select, text, update

from aggregator.storage import article_feeds, migrate, open_database, published
from aggregator.storage.articles import save_batch
from aggregator.storage.engine import make_engine
from aggregator.storage.models import Article, ArticleFeed, Sighting
from aggregator.storage.retention import purge_before
from tests.candidates import make_candidate
from tests.publish_data import NOW, Row, add_sources, insert_rows


def _filed(database: Any) -> set[tuple[str, str, int, str | None]]:
    with database.session() as session:
        rows = session.execute(
            select(ArticleFeed.kind, ArticleFeed.key, ArticleFeed.article_id, ArticleFeed.label)
        )
        return {tuple(row) for row in rows}


def test_rows_follow_sources_tags_and_purges(database_url: str) -> None:
    database = open_database(database_url)
    add_sources(database, "news", "blog")
    old = NOW - timedelta(days=400)
    insert_rows(
        database,
        [
            Row(id=1, tags=("Mutual aid", "mutual-aid", "<b>Co-ops</b>", "..")),
            Row(id=2, source_id=2, tags=(), also_seen=((1, "https://news.example/2"),)),
            Row(id=3, published_at=old, tags=("Old",)),
        ],
    )
    assert _filed(database) == {
        ("source", "1", 1, None),
        ("tag", "mutual-aid", 1, "Mutual aid"),  # one row per slug, the first spelling
        ("tag", "co-ops", 1, "Co-ops"),
        ("source", "2", 2, None),
        ("source", "1", 2, None),
        ("source", "1", 3, None),
        ("tag", "old", 3, "Old"),
    }
    with database.session() as session:
        session.execute(update(Article).where(Article.id == 1).values(tags=["Housing"]))
        session.execute(update(Sighting).where(Sighting.article_id == 2).values(source_id=2))
        article_feeds.refresh(session, [1, 2])
    purge_before(database, NOW - timedelta(days=100), NOW)
    assert _filed(database) == {
        ("source", "1", 1, None),
        ("tag", "housing", 1, "Housing"),
        ("source", "2", 2, None),
    }
    database.close()


def test_migration_0012_files_the_stored_articles_and_goes_down(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0010")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sources (id, name, homepage, enabled, created_at) "
                    "VALUES (7, 'old', 'https://old.example/', :yes, :now)"
                ),
                {"yes": True, "now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO articles (id, canonical_url, primary_source_id, title, "
                    "published_at, date_estimated, first_seen_at, last_changed_at, text, html, "
                    "tags, word_count, content_hash, relevance, matched_terms) VALUES (4, "
                    "'https://old.example/1', 7, 'Old', :now, :no, :now, :now, 'Old text', "
                    "'<p>Old</p>', :tags, 2, :hash, 8.5, '{}')"
                ),
                {"no": False, "now": NOW, "tags": '["Mutual aid"]', "hash": "0" * 64},
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text('SELECT kind, "key", article_id, relevance FROM article_feeds')
            ).all()
        assert sorted(tuple(row) for row in rows) == [
            ("source", "7", 4, 8.5),
            ("tag", "mutual-aid", 4, 8.5),
        ]
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0010")
        with engine.connect() as connection:
            assert migrate.current_revision(engine) == "0010"
            titles = connection.execute(text("SELECT title FROM articles")).scalars().all()
        assert titles == ["Old"]
    finally:
        engine.dispose()


def test_a_sighting_that_moves_to_another_article_takes_its_source_row_along(
    database_url: str,
) -> None:
    """The blog's copy of a news article turns out, by its GUID, to be the blog's own essay:
    the news article is no longer filed under the blog."""
    database = open_database(database_url)
    add_sources(database, "news", "blog")
    copy_url = "https://blog.example/copy"

    def entry(source: int, url: str, guid: str, content: str, simhash: int) -> Any:
        name = ("news", "blog")[source - 1]
        candidate = make_candidate(content_hash=content, simhash=simhash, when=NOW,
                                   source=name, url=url, canonical_url=url, guid=guid)  # fmt: skip
        return [(candidate, source)]

    with database.write_session() as session:
        news = save_batch(session, entry(1, "https://news.example/a", "a", "text-a", 0), NOW)
        save_batch(session, entry(2, copy_url, "copy", "text-a", 0), NOW + timedelta(hours=1))
        essay = save_batch(session, entry(2, "https://blog.example/b", "b", "text-b", -1), NOW)
    news_id, essay_id = news[0].article_id, essay[0].article_id
    assert ("source", "2", news_id, None) in _filed(database)
    with database.write_session() as session:
        moved = save_batch(session, entry(2, copy_url, "b", "text-b2", -1), NOW)
    assert moved[0].article_id == essay_id
    filed = _filed(database)
    assert ("source", "2", news_id, None) not in filed
    assert {("source", "1", news_id, None), ("source", "2", essay_id, None)} <= filed
    database.close()


def test_an_entrys_mark_changes_with_its_text_alone(database_url: str) -> None:
    """Cleaning learned boilerplate changes the text, not its change time: the build must see it."""
    database = open_database(database_url)
    add_sources(database, "news")
    insert_rows(database, [Row(id=1)])
    with database.session() as session:
        before = published.change_marks(session, [1])
        session.execute(update(Article).where(Article.id == 1).values(content_hash="cleaned"))
        after = published.change_marks(session, [1])
    assert before.keys() == after.keys() == {1}
    assert before != after
    database.close()
