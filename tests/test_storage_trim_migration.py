"""Migration 0022 moves SQLite's SimHash bands and block sightings into tables without rowids,
every row, index and foreign key kept, and back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from aggregator.storage import migrate
from tests.old_rows import engine_at, insert_old_articles

ARTICLES = range(1, 31)
TABLES = ("simhash_bands", "block_sightings")


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    yield from engine_at(sqlite_url)


def _store_at_0021(engine: Engine) -> None:
    migrate.upgrade(engine, "0021")
    with engine.begin() as connection:
        insert_old_articles(connection, ARTICLES)
        connection.execute(
            text("INSERT INTO simhash_bands (article_id, band, value) VALUES (:id, :band, :v)"),
            [{"id": n, "band": band, "v": n * 10 + band} for n in ARTICLES for band in range(4)],
        )
        connection.execute(
            text("INSERT INTO block_sightings (source_id, fingerprint, article_id, author) "
                 "VALUES (1, :fingerprint, :id, :author)"),
            [{"fingerprint": f"{n % 7:016x}", "id": n, "author": f"A{n % 3}"} for n in ARTICLES],
        )  # fmt: skip


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: sorted(tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}")))
            for table in TABLES
        }


def _layout(engine: Engine) -> dict[str, tuple[bool, set[str], int]]:
    """Per table: whether it has no rowid, its indexes, its foreign keys."""
    found = inspect(engine)
    with engine.connect() as connection:
        sql = dict(connection.execute(text("SELECT name, sql FROM sqlite_schema")).all())
    return {
        table: (
            "WITHOUT ROWID" in sql[table].upper(),
            {str(index["name"]) for index in found.get_indexes(table)},
            len(found.get_foreign_keys(table)),
        )
        for table in TABLES
    }


def test_upgrade_drops_the_rowids_and_downgrade_restores_them(engine: Engine) -> None:
    _store_at_0021(engine)
    rows, before = _rows(engine), _layout(engine)
    assert not any(without for without, _, _ in before.values())
    migrate.upgrade(engine, "0022")
    after = _layout(engine)
    assert all(without for without, _, _ in after.values())
    assert {table: layout[1:] for table, layout in after.items()} == {
        table: layout[1:] for table, layout in before.items()
    }
    assert _rows(engine) == rows
    with engine.begin() as connection:  # the cascades still hold
        connection.execute(text("PRAGMA foreign_keys=ON"))
        connection.execute(text("DELETE FROM articles WHERE id = 1"))
    assert all(row[0] != 1 for row in _rows(engine)["simhash_bands"])
    assert all(row[2] != 1 for row in _rows(engine)["block_sightings"])
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0021")
    assert _layout(engine) == before
    assert len(_rows(engine)["simhash_bands"]) == 4 * (len(ARTICLES) - 1)
