"""Block sightings are kept only while their block can still be learned as boilerplate.

Feed entries with full content go through the real ingest path into a real database (SQLite,
and PostgreSQL when configured); the clock moves between batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from aggregator.config import Config, load_config
from aggregator.ingest import Ingestor
from aggregator.items import FetchedItem, Origin
from aggregator.storage import Database, open_database
from aggregator.storage.boilerplate import forget_old_blocks
from aggregator.storage.models import Article, BlockSighting, Boilerplate

START = datetime(2026, 1, 1, tzinfo=UTC)
BANNER = "Read our appeal and give what you can to keep this site free for everyone."
WORDS = [
    "kitchen",
    "rent",
    "strike",
    "garden",
    "library",
    "clinic",
    "tenants",
    "union",
    "childcare",
    "repair",
]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ingest(write_config, database_url) -> Iterator[tuple[Database, Ingestor, Clock]]:
    path = write_config(
        {
            "database": {"url": database_url},
            "sources": {"zine": {"homepage": "https://zine.example/"}},
            "extraction": {"boilerplate_window_days": 30},
        }
    )
    config: Config = load_config(path, environ={})
    database = open_database(config.database.url)
    clock = Clock()
    yield database, Ingestor(database, config, clock=clock), clock
    database.close()


def entry(number: int, author: str, banner: bool = False) -> FetchedItem:
    """A full-content entry of its own text; with ``banner``, closed by the shared appeal."""
    words = [WORDS[(number * 7 + at * 3) % len(WORDS)] + str(at % (number + 5)) for at in range(90)]
    paragraphs = [" ".join(words[at : at + 30]).capitalize() + "." for at in range(0, 90, 30)]
    paragraphs.append(f"Written for issue {number} of the zine by its editors.")
    if banner:
        paragraphs.append(BANNER)
    return FetchedItem(
        source="zine",
        url=f"https://zine.example/{number}/",
        origin=Origin.FEED,
        fetched_at=START,
        content="".join(f"<p>{paragraph}</p>" for paragraph in paragraphs),
        feed_title=f"Issue {number}: on mutual aid",
        feed_author=author,
        feed_published=START.isoformat(),
    )


def sightings(database: Database, *where: object) -> int:
    with database.session() as session:
        query = select(func.count()).select_from(BlockSighting).where(*where)
        return session.scalar(query) or 0


def learned(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(Boilerplate.text)))


def test_a_block_recurring_within_the_window_is_learned_and_its_sightings_go(ingest) -> None:
    database, ingestor, clock = ingest
    ingestor.ingest([entry(1, "Ana Ruiz", banner=True), entry(2, "Bo Chen", banner=True)])
    assert sightings(database) > 0 and not learned(database)
    clock.now += timedelta(days=10)
    report = ingestor.ingest([entry(3, "Cy Odu", banner=True)])
    assert report.learned == 1 and learned(database) == [BANNER]
    with database.session() as session:
        texts = list(session.scalars(select(Article.text)))
    assert len(texts) == 3 and not any(BANNER in text for text in texts)
    # The learned block is known now: where it was seen is no longer kept, the rest is.
    with database.session() as session:
        banner = session.scalar(select(Boilerplate.fingerprint))
    assert sightings(database, BlockSighting.fingerprint == banner) == 0
    assert sightings(database) > 0


def test_a_block_whose_earlier_sightings_left_the_window_is_not_learned(ingest) -> None:
    database, ingestor, clock = ingest
    ingestor.ingest([entry(1, "Ana Ruiz", banner=True), entry(2, "Bo Chen", banner=True)])
    first = sightings(database)
    clock.now += timedelta(days=31)
    report = ingestor.ingest([entry(3, "Cy Odu", banner=True)])
    assert report.learned == 0 and not learned(database)
    # Only the new article's blocks are left; those of the first two were forgotten.
    with database.session() as session:
        newest = session.scalar(select(func.max(Article.id)))
    assert 0 < sightings(database) < first
    assert sightings(database, BlockSighting.article_id != newest) == 0
    # Two more within the window and the appeal is learned from what is left.
    clock.now += timedelta(days=1)
    report = ingestor.ingest([entry(4, "Di Lo", banner=True), entry(5, "Ed Ma", banner=True)])
    assert report.learned == 1 and learned(database) == [BANNER]


def test_each_batch_forgets_what_left_the_window_and_only_that(ingest) -> None:
    database, ingestor, clock = ingest  # a 30-day window
    for day in range(0, 60, 10):
        clock.now = START + timedelta(days=day)
        ingestor.ingest([entry(day, f"Writer {day}")])
    # At day 50, the articles of days 0 and 10 are more than 30 days old: forgotten.
    assert first_seen_of_kept(database) == [START + timedelta(days=day) for day in (20, 30, 40, 50)]
    before = sightings(database)
    aged = sightings(database, BlockSighting.article_id.in_(ids_seen(database, days=(20, 30))))
    with database.write_session() as session:
        gone = forget_old_blocks(session, START + timedelta(days=50), timedelta(days=15))
        again = forget_old_blocks(session, START + timedelta(days=50), timedelta(days=15))
    assert aged > 0 and (gone, again) == (aged, 0)
    assert sightings(database) == before - aged
    assert first_seen_of_kept(database) == [START + timedelta(days=day) for day in (40, 50)]


def ids_seen(database: Database, days: tuple[int, ...]) -> list[int]:
    moments = [START + timedelta(days=day) for day in days]
    with database.session() as session:
        return list(session.scalars(select(Article.id).where(Article.first_seen_at.in_(moments))))


def first_seen_of_kept(database: Database) -> list[datetime]:
    with database.session() as session:
        kept = select(BlockSighting.article_id)
        query = select(Article.first_seen_at).where(Article.id.in_(kept)).order_by(Article.id)
        return list(session.scalars(query))
