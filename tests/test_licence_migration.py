"""Migration 0016: the licence columns are added empty to the articles stored before it, and
taken away again by a downgrade that keeps the articles and what hangs off them. SQLite and
(when configured) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import inspect, text

from aggregator.storage import migrate
from aggregator.storage.engine import make_engine

STORED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def test_migration_0016_adds_and_removes_the_licence_columns(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0015")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sources (name, homepage, enabled, created_at) "
                    "VALUES ('a', 'https://a.example/', :yes, :now)"
                ),
                {"yes": True, "now": STORED},
            )
            connection.execute(
                text(
                    "INSERT INTO articles (canonical_url, primary_source_id, title, "
                    "first_seen_at, last_changed_at, text, html, content_hash, date_estimated, "
                    "tags, word_count, matched_terms) VALUES ('https://a.example/1', 1, 'One', "
                    ":now, :now, 'Text', '<p>Text</p>', 'h', :no, '[]', 1, '{}')"
                ),
                {"now": STORED, "no": False},
            )
            connection.execute(
                text(
                    "INSERT INTO sightings (article_id, source_id, url, first_seen_at, "
                    "last_seen_at) VALUES (1, 1, 'https://a.example/1', :now, :now)"
                ),
                {"now": STORED},
            )
        assert "licence" not in _columns(engine)
        migrate.upgrade(engine)
        assert {"licence", "licence_declared"} <= _columns(engine)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT title, licence, licence_declared FROM articles"))
            assert row.one() == ("One", None, None)
            connection.execute(text("UPDATE articles SET licence = 'CC-BY-4.0'"))
            connection.commit()
        _downgrade(engine, "0015")
        assert not {"licence", "licence_declared"} & _columns(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT title FROM articles")).scalar_one() == "One"
            # Nothing that hangs off an article went with the columns (a table rebuilt by
            # DROP TABLE would have taken its sightings along, foreign keys being on).
            assert connection.execute(text("SELECT count(*) FROM sightings")).scalar_one() == 1
    finally:
        engine.dispose()


def _columns(engine: Any) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("articles")}


def _downgrade(engine: Any, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
