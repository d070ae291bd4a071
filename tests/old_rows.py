"""Rows as an earlier revision's code wrote them, in plain SQL (the models describe only the
newest schema), for the migration tests: a source ``old`` (id 1) and its articles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

from aggregator.storage.engine import make_engine

NOW = datetime(2026, 12, 1, tzinfo=UTC)

_ARTICLE = text(
    "INSERT INTO articles (id, canonical_url, primary_source_id, title, date_estimated, "
    "first_seen_at, last_changed_at, text, html, tags, word_count, content_hash, simhash, "
    "matched_terms) VALUES (:id, :url, 1, 'Old', :no, :now, :now, :text, :html, '[]', 2, :hash, "
    ":simhash, '{}')"
)


def insert_old_articles(
    connection: Connection,
    numbers: Iterable[int],
    *,
    html: Callable[[int], str] = lambda number: "<p>Old</p>",
    simhash: Callable[[int], int | None] = lambda number: number,
    body: str = "Old text",
) -> None:
    """The source ``old`` and an article per number (its id), at ``https://old.example/N``."""
    connection.execute(
        text("INSERT INTO sources (id, name, homepage, enabled, created_at) "
             "VALUES (1, 'old', 'https://old.example/', :yes, :now)"),
        {"yes": True, "now": NOW},
    )  # fmt: skip
    connection.execute(
        _ARTICLE,
        [{"id": number, "url": f"https://old.example/{number}", "no": False, "now": NOW,
          "text": body, "html": html(number), "hash": f"{number:064x}",
          "simhash": simhash(number)} for number in numbers],
    )  # fmt: skip


def engine_at(url: str) -> Iterator[Engine]:
    """An engine on ``url``, disposed after the test (for a fixture to yield from)."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
