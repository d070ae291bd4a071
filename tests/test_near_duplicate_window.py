"""Near-duplicates are found among the articles of the window; exact copies at any age.

Full-content feed entries go through the real ingest path into a real database (SQLite, and
PostgreSQL when configured); the clock moves between batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from aggregator.config import load_config
from aggregator.ingest import Ingestor, Outcome
from aggregator.items import FetchedItem, Origin
from aggregator.storage import Database, open_database
from aggregator.storage.bands import forget_old_bands
from aggregator.storage.models import Article, Sighting, SimhashBand

START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW_DAYS = 20


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=[WINDOW_DAYS])
def ingest(request, write_config, database_url) -> Iterator[tuple[Database, Ingestor, Clock]]:
    sources = {name: {"homepage": f"https://{name}.example/"} for name in ("blog", "news")}
    path = write_config(
        {
            "database": {"url": database_url},
            "sources": sources,
            "extraction": {"near_duplicate_window_days": request.param},
        }
    )
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    clock = Clock()
    try:
        yield database, Ingestor(database, config, clock=clock), clock
    finally:
        database.close()


def paragraphs(topic: str) -> list[str]:
    return [
        f"On {topic}, paragraph {index} argues its own point about neighbours, tools and "
        f"meeting number {index * 7 + len(topic)} in the hall on street {index}."
        for index in range(20)
    ]


def essay(source: str, slug: str, text: list[str], when: datetime) -> FetchedItem:
    return FetchedItem(
        source=source, url=f"https://{source}.example/{slug}", origin=Origin.FEED,
        fetched_at=when, feed_title=f"On {slug}", feed_author="Ana Ruiz",
        content="".join(f"<p>{paragraph}</p>" for paragraph in text),
        feed_published=when.isoformat(),
    )  # fmt: skip


def edited(text: list[str]) -> list[str]:
    return [*text[:-1], "A last paragraph the republisher added about their own town."]


def count(database: Database, model: type, *where: object) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_near_copy_within_the_window_is_a_duplicate(ingest) -> None:
    database, ingestor, clock = ingest
    text = paragraphs("tool libraries")
    assert ingestor.ingest([essay("blog", "tools", text, clock.now)]).counts == {Outcome.NEW: 1}
    clock.now += timedelta(days=WINDOW_DAYS - 1)
    copy = essay("news", "tools", edited(text), clock.now)
    assert ingestor.ingest([copy]).counts == {Outcome.DUPLICATE: 1}
    assert count(database, Sighting, Sighting.matched_by == "near") == 1


def test_past_the_window_bands_go_and_only_an_exact_copy_is_still_found(ingest) -> None:
    database, ingestor, clock = ingest
    old = paragraphs("seed swaps")
    ingestor.ingest([essay("blog", "seeds", old, clock.now)])
    old_id = Article.id == 1
    assert count(database, SimhashBand, SimhashBand.article_id == 1) == 4
    clock.now += timedelta(days=WINDOW_DAYS + 1)
    # A batch forgets the bands of articles first seen before the window, and only those.
    fresh = essay("blog", "bikes", paragraphs("bicycle repair"), clock.now)
    assert ingestor.ingest([fresh]).counts == {Outcome.NEW: 1}
    assert count(database, SimhashBand, SimhashBand.article_id == 1) == 0
    assert count(database, SimhashBand) == 4
    # An edited copy of the old article is an article of its own now ...
    near = essay("news", "seeds", edited(old), clock.now)
    assert ingestor.ingest([near]).counts == {Outcome.NEW: 1}
    # ... while an exact copy still finds it, at any age.
    exact = essay("news", "seeds-again", old, clock.now)
    assert ingestor.ingest([exact]).counts == {Outcome.DUPLICATE: 1}
    assert count(database, Sighting, Sighting.matched_by == "content") == 1
    assert count(database, Article, old_id) == 1


def test_forgetting_costs_nothing_when_nothing_aged(ingest) -> None:
    database, ingestor, clock = ingest
    ingestor.ingest([essay("blog", "kitchens", paragraphs("kitchens"), clock.now)])
    with database.write_session() as session:
        kept = forget_old_bands(session, clock.now, timedelta(days=WINDOW_DAYS))
        gone = forget_old_bands(session, clock.now + timedelta(days=30), timedelta(days=1))
        again = forget_old_bands(session, clock.now + timedelta(days=30), timedelta(days=1))
    assert (kept, gone, again) == (0, 4, 0)


@pytest.mark.parametrize("ingest", [0], indirect=True)
def test_no_window_keeps_every_band_and_finds_a_near_copy_at_any_age(ingest) -> None:
    database, ingestor, clock = ingest
    old = paragraphs("seed swaps")
    ingestor.ingest([essay("blog", "seeds", old, clock.now)])
    clock.now += timedelta(days=3 * 365)
    fresh = essay("blog", "bikes", paragraphs("bicycle repair"), clock.now)
    assert ingestor.ingest([fresh]).counts == {Outcome.NEW: 1}
    assert count(database, SimhashBand, SimhashBand.article_id == 1) == 4
    near = essay("news", "seeds", edited(old), clock.now)
    assert ingestor.ingest([near]).counts == {Outcome.DUPLICATE: 1}
    assert count(database, Sighting, Sighting.matched_by == "near") == 1
