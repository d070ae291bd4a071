"""Storage: migrations create the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from aggregator.config import SourceConfig
from aggregator.errors import StorageError
from aggregator.storage import migrate, open_database
from aggregator.storage.engine import make_engine
from aggregator.storage.fulltext import include_object
from aggregator.storage.health import source_health
from aggregator.storage.models import Article, Base, FetchState, Run, Sighting, Source
from aggregator.storage.sources import source_ids, sync_sources

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TABLES = {
    "sources", "fetch_states", "articles", "sightings", "runs", "alembic_version",
    "simhash_bands", "block_sightings", "boilerplate", "tombstones", "pending_entries",
    "article_feeds", "run_totals", "decisions", "article_changes",
    # The search index (migration 0018) and FTS5's own tables behind it.
    "articles_fts", "articles_fts_data", "articles_fts_idx", "articles_fts_docsize",
    "articles_fts_config",
}  # fmt: skip


def configured(*names: str) -> dict[str, SourceConfig]:
    return {
        name: SourceConfig(homepage=f"https://{name}.example/", feed=f"https://{name}.example/f")
        for name in names
    }


def test_upgrade_creates_schema_then_changes_nothing(sqlite_url: str) -> None:
    database = open_database(sqlite_url, upgrade=False)
    first = database.upgrade()
    assert first.before is None
    assert first.after == migrate.head_revision()
    assert set(inspect(database.engine).get_table_names()) == TABLES
    path = Path(database.engine.url.database or "")
    schema_before = _sqlite_schema(path)
    second = database.upgrade()
    assert not second.changed
    assert _sqlite_schema(path) == schema_before
    database.close()


def _sqlite_schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_models_and_migrations_agree(database_url: str) -> None:
    database = open_database(database_url)
    with database.engine.connect() as connection:
        options = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=options)
        differences = compare_metadata(context, Base.metadata)
    database.close()
    assert differences == []


def test_first_open_upgrades_automatically(sqlite_url: str) -> None:
    database = open_database(sqlite_url)
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    assert database.ensure_schema() is None
    database.close()


def test_sqlite_is_tuned_for_concurrent_readers(sqlite_url: str) -> None:
    database = open_database(sqlite_url)
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    database.close()


def test_foreign_keys_are_enforced(database_url: str) -> None:
    database = open_database(database_url)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Run(source_id=999, kind="poll", status="ok", started_at=NOW))
    database.close()


def test_database_newer_than_the_code_is_refused(sqlite_url: str) -> None:
    database = open_database(sqlite_url)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    database.close()
    with pytest.raises(StorageError, match="newer version"):
        open_database(sqlite_url)


def test_unopenable_database_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((StorageError, OSError)):
        open_database(f"sqlite:///{blocker}/inside/db.sqlite")


def test_datetimes_round_trip_as_utc(database_url: str) -> None:
    database = open_database(database_url)
    plus_five = timezone(timedelta(hours=5))
    with database.session() as session:
        sync_sources(session, configured("a"), NOW)
    with database.session() as session:
        session.add(
            Run(
                source_id=source_ids(session)["a"],
                kind="poll",
                status="ok",
                started_at=datetime(2026, 1, 1, 17, 0, tzinfo=plus_five),
            )
        )
    with database.session() as session:
        started = session.scalars(select(Run.started_at)).one()
    assert started == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert started.tzinfo is not None
    with pytest.raises(StatementError, match="naive datetime"), database.session() as session:
        session.add(Run(kind="poll", status="ok", started_at=datetime(2026, 1, 1)))
    database.close()


def test_sync_sources_upserts_and_disables_removed(database_url: str) -> None:
    database = open_database(database_url)
    with database.session() as session:
        sync_sources(session, configured("a", "b"), NOW)
    renamed = {"a": SourceConfig(homepage="https://new.example/", title="A"), **configured("c")}
    with database.session() as session:
        sync_sources(session, renamed, NOW + timedelta(days=1))
    with database.session() as session:
        rows = {row.name: row for row in session.scalars(select(Source))}
    assert set(rows) == {"a", "b", "c"}
    assert rows["a"].homepage == "https://new.example/"
    assert rows["a"].title == "A"
    assert rows["a"].created_at == NOW  # an update keeps the first creation time
    assert not rows["b"].enabled
    assert rows["c"].enabled
    database.close()


def test_health_reports_success_errors_and_counts(database_url: str) -> None:
    database = open_database(database_url)
    with database.session() as session:
        sync_sources(session, configured("a", "b"), NOW)
        ids = source_ids(session)
        session.add_all(
            [
                FetchState(
                    source_id=ids["a"],
                    url="https://a.example/f",
                    last_success_at=NOW - timedelta(hours=2),
                    last_error="HTTP 503",
                    last_error_at=NOW - timedelta(hours=1),
                    consecutive_failures=2,
                    next_check_at=NOW + timedelta(minutes=30),
                ),
                Run(
                    source_id=ids["a"],
                    kind="poll",
                    status="failed",
                    started_at=NOW,
                    error="HTTP 503",
                ),
                Run(source_id=ids["a"], kind="poll", status="ok", started_at=NOW - timedelta(1)),
            ]
        )
        article = _article(ids["a"], "https://a.example/1")
        session.add(article)
        session.flush()
        for source, url in (("a", "https://a.example/1"), ("b", "https://b.example/copy")):
            session.add(
                Sighting(
                    article_id=article.id,
                    source_id=ids[source],
                    url=url,
                    first_seen_at=NOW,
                    last_seen_at=NOW,
                )
            )
    with database.session() as session:
        a, b, missing = source_health(session, ["a", "b", "never"])
    database.close()
    assert a.known and a.consecutive_failures == 2
    assert a.last_error == "HTTP 503"
    assert a.last_success_at == NOW - timedelta(hours=2)
    assert a.next_check_at == NOW + timedelta(minutes=30)
    assert (a.articles, a.sightings) == (1, 1)
    assert a.last_run is not None and a.last_run.status == "failed"
    assert (b.articles, b.sightings, b.last_run) == (0, 1, None)
    assert not missing.known


def _article(source_id: int, url: str) -> Article:
    return Article(
        canonical_url=url,
        primary_source_id=source_id,
        title="Mutual aid",
        first_seen_at=NOW,
        last_changed_at=NOW,
        text="Text",
        html="<p>Text</p>",
        content_hash="0" * 64,
        tags=["kropotkin"],
        matched_terms={"mutual aid": 2},
        simhash=-(2**63),
    )


def test_article_values_survive_a_round_trip(database_url: str) -> None:
    database = open_database(database_url)
    with database.session() as session:
        sync_sources(session, configured("a"), NOW)
        session.add(_article(source_ids(session)["a"], "https://a.example/1"))
    with database.session() as session:
        stored = session.scalars(select(Article)).one()
    database.close()
    assert stored.tags == ["kropotkin"]
    assert stored.matched_terms == {"mutual aid": 2}
    assert stored.simhash == -(2**63)
    assert stored.date_estimated is False


def test_deleting_an_article_removes_its_sightings(database_url: str) -> None:
    database = open_database(database_url)
    with database.session() as session:
        sync_sources(session, configured("a"), NOW)
        article = _article(source_ids(session)["a"], "https://a.example/1")
        article.sightings.append(
            Sighting(
                source_id=article.primary_source_id,
                url="https://a.example/1",
                first_seen_at=NOW,
                last_seen_at=NOW,
            )
        )
        session.add(article)
    with database.session() as session:
        session.execute(Article.__table__.delete())
        remaining = session.scalars(select(Sighting)).all()
    database.close()
    assert remaining == []


def test_migration_0006_leaves_existing_articles_unmarked(database_url: str) -> None:
    """Articles stored before 0006 keep their bodies and get no sanitiser version (None)."""
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0005")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sources (name, homepage, enabled, created_at) "
                    "VALUES ('old', 'https://old.example/', :yes, :now)"
                ),
                {"yes": True, "now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO articles (canonical_url, primary_source_id, title, "
                    "date_estimated, first_seen_at, last_changed_at, text, html, tags, "
                    "word_count, content_hash, matched_terms) VALUES ('https://old.example/1', "
                    "1, 'Old', :no, :now, :now, 'Old text', :html, '[]', 2, :hash, '{}')"
                ),
                {
                    "no": False,
                    "now": NOW,
                    "html": "<p>Old <script>x</script></p>",
                    "hash": "0" * 64,
                },
            )
        assert migrate.upgrade(engine).after == migrate.head_revision()
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT html, sanitized_with FROM articles")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("<p>Old <script>x</script></p>", None)]
