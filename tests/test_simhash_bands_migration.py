"""Migration 0011 rewrites stored articles' SimHash bands (7 of 9-10 bits to 4 of 16) and back."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from aggregator.fingerprints import simhash_bands
from aggregator.storage import migrate
from tests.old_rows import engine_at, insert_old_articles

# A few edge values, then more articles than the migration rewrites in one batch (1,000).
_DRAW = random.Random(11)
SIMHASHES: dict[int, int | None] = {1: 0x0123_4567_89AB_CDEF, 2: -1, 3: -(2**63), 4: None, 5: 42}
SIMHASHES.update({n: _DRAW.getrandbits(64) - 2**63 for n in range(6, 1206)})


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    yield from engine_at(database_url)


def _store_articles_at_0010(engine: Engine) -> None:
    migrate.upgrade(engine, "0010")
    with engine.begin() as connection:
        insert_old_articles(connection, SIMHASHES, simhash=SIMHASHES.__getitem__)
        connection.execute(
            text("INSERT INTO simhash_bands (article_id, band, value) VALUES (:id, :band, :value)"),
            [{"id": article_id, "band": band, "value": part}
             for (article_id, band), part in _expected(7).items()],
        )  # fmt: skip


def _bands(engine: Engine) -> dict[tuple[int, int], int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT article_id, band, value FROM simhash_bands"))
        return {(article_id, band): value for article_id, band, value in rows}


def _expected(bands: int) -> dict[tuple[int, int], int]:
    return {
        (article_id, band): part
        for article_id, value in SIMHASHES.items()
        if value is not None
        for band, part in enumerate(simhash_bands(value, bands))
    }


def _index_names(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes("articles")}


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_upgrade_rewrites_the_bands_and_downgrade_restores_them(engine: Engine) -> None:
    _store_articles_at_0010(engine)
    assert _bands(engine) == _expected(7)
    migrate.upgrade(engine, "0011")
    assert _bands(engine) == _expected(4)
    assert "ix_articles_id_simhash" in _index_names(engine)
    assert "ix_articles_simhash" not in _index_names(engine)
    _downgrade(engine, "0010")
    assert _bands(engine) == _expected(7)
    assert "ix_articles_simhash" in _index_names(engine)
    assert "ix_articles_id_simhash" not in _index_names(engine)
