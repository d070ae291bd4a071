"""Sanitised HTML is kept zlib-compressed on SQLite (``CompressedText``, migration 0023): what
goes in comes out, old text rows still read, and the migration converts rows both ways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, select, text, update

from aggregator.storage import migrate, open_database
from aggregator.storage.models import Article
from tests.old_rows import engine_at, insert_old_articles

SHORT = "<p>Old</p>"  # its compressed form is longer: kept as text
# Long enough to compress; every character beyond ASCII, to check the encoding both ways.
LONG = "".join(
    f'<p>Réseau d’entraide n° {n}: la cantine ouvre à 18 h <a href="https://x.example/{n}">'
    "lire</a> — 互助</p>"
    for n in range(60)
)
ARTICLES = range(1, 31)


def _html(number: int) -> str:
    return SHORT if number % 10 == 0 else f"{LONG}<p>{number}</p>"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    yield from engine_at(sqlite_url)


def _insert_articles(engine: Engine, numbers: range) -> None:
    """Rows as code before 0023 wrote them (and as hand-written SQL still does): text."""
    with engine.begin() as connection:
        insert_old_articles(connection, numbers, html=_html, body="cantine entraide")


def _stored(engine: Engine) -> dict[int, tuple[str, int]]:
    """Per article: how SQLite stores its HTML (``typeof``) and how many bytes it takes."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, typeof(html), length(html) FROM articles"))
        return {row[0]: (row[1], row[2]) for row in rows}


def _read(engine: Engine) -> dict[int, str]:
    with engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(select(Article.id, Article.html))}


def _changes(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT article_id, seq FROM article_changes ORDER BY 1"))
        return [(row[0], row[1]) for row in rows]


def _found(engine: Engine, word: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :word")
        return int(connection.execute(query, {"word": word}).scalar_one())


def test_upgrade_compresses_old_rows_and_downgrade_restores_them(engine: Engine) -> None:
    migrate.upgrade(engine, "0022")
    _insert_articles(engine, ARTICLES)
    before, changes = _stored(engine), _changes(engine)
    assert {kind for kind, _ in before.values()} == {"text"}
    assert _read(engine) == {n: _html(n) for n in ARTICLES}  # the model reads old text rows

    migrate.upgrade(engine, "0023")
    after = _stored(engine)
    for number in ARTICLES:
        kind, size = after[number]
        if _html(number) == SHORT:
            assert (kind, size) == before[number]
        else:
            assert kind == "blob"
            assert size < before[number][1] / 3
    assert _read(engine) == {n: _html(n) for n in ARTICLES}
    assert _changes(engine) == changes  # no page to rebuild: no article changed
    with engine.begin() as connection:  # the change trigger is back
        connection.execute(update(Article).where(Article.id == 1).values(html="<p>New</p>"))
    assert _changes(engine)[0][1] > max(seq for _, seq in changes)
    assert _found(engine, "cantine") == len(ARTICLES)

    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0022")
    expected = {n: _html(n) for n in ARTICLES} | {1: "<p>New</p>"}
    with engine.connect() as connection:  # as code before 0023 reads it: text
        rows = connection.execute(text("SELECT id, typeof(html), html FROM articles")).all()
    assert {row[0]: (row[1], row[2]) for row in rows} == {
        n: ("text", html) for n, html in expected.items()
    }
    assert _found(engine, "cantine") == len(ARTICLES)


def test_upgrade_converts_in_batches_past_the_first(engine: Engine) -> None:
    migrate.upgrade(engine, "0022")
    many = range(1, 1202)  # more than two of the migration's batches of 500
    _insert_articles(engine, many)
    migrate.upgrade(engine, "0023")
    kinds = {n: kind for n, (kind, _) in _stored(engine).items()}
    assert kinds == {n: "text" if _html(n) == SHORT else "blob" for n in many}


def test_html_round_trips_through_the_model(database_url: str) -> None:
    """Stored compressed on SQLite (about a third of its bytes here), as text on PostgreSQL,
    which compresses it itself; read back the same either way, old text rows beside new."""
    database = open_database(database_url)
    try:
        _insert_articles(database.engine, range(1, 3))
        with database.session() as session:
            session.execute(update(Article).where(Article.id == 1).values(html=LONG))
        with database.engine.connect() as connection:
            raw = connection.execute(text("SELECT html FROM articles WHERE id = 1")).scalar_one()
        with database.session() as session:
            stored = {a.id: a.html for a in session.scalars(select(Article))}
    finally:
        database.close()
    assert stored == {1: LONG, 2: _html(2)}
    if database_url.startswith("sqlite"):
        assert isinstance(raw, bytes)
        assert len(raw) < len(LONG.encode()) / 3
    else:
        assert raw == LONG
