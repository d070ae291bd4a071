"""Curators' decisions (``storage.decisions``): publish, hold and pin override the score in every
selection, on SQLite and PostgreSQL; they survive re-extraction and rescoring, reach the
written feeds at the next build and the served ones at once, keep a pinned article from a purge,
and carry over to a rebuilt instance by URL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from alembic import command
from sqlalchemy import inspect, select, text, update
from sqlalchemy.orm import Session

from aggregator.config import Config
from aggregator.curation import DecisionRecord, Verdict, dump_decisions, parse_decisions
from aggregator.ingest import Ingestor
from aggregator.items import FetchedItem, Origin
from aggregator.publish.explain import ArticleQuery, list_articles
from aggregator.publish.select import (
    PublishPolicy,
    group_by_tag,
    published_ids,
    sources_with_published,
)
from aggregator.publish.server import PublishApp
from aggregator.publish.write import write_site
from aggregator.storage import Database, article_feeds, decisions, migrate, open_database
from aggregator.storage.models import Article, ArticleFeed
from aggregator.storage.published import rows_by_id
from aggregator.storage.retention import preview_purge, purge_before
from tests.plans import assert_no_table_scans, captured_statements
from tests.publish_data import (
    NOW,
    Row,
    Served,
    add_sources,
    insert_rows,
    publish_config,
    serving,
)

POLICY = PublishPolicy(threshold=6.0, keep_all=frozenset({"keep"}), id_domain="example.org")
SOURCES = {
    "scored": {"homepage": "https://scored.example/"},
    "keep": {"homepage": "https://keep.example/", "relevance": "keep_all"},
}
# 1: scored in; 2: scored out; 3: scored out but from a keep_all source; 4: scored in, untouched.
ROWS = [
    Row(id=1, relevance=9.0, tags=("Mutual aid",)),
    Row(id=2, relevance=1.0, tags=("Mutual aid",)),
    Row(id=3, source_id=2, relevance=1.0, tags=("Mutual aid",)),
    Row(id=4, relevance=8.0, tags=("Housing",)),
]


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    add_sources(database, "scored", "keep")
    insert_rows(database, ROWS)
    yield database
    database.close()


def _decide(
    database: Database, article_id: int, verdict: Verdict | None, note: str | None = None
) -> None:
    with database.write_session() as session:
        if verdict is None:
            decisions.clear(session, article_id)
        else:
            decisions.decide(session, article_id, verdict, NOW, note)


def _everywhere(database: Database, policy: PublishPolicy = POLICY) -> dict[str, set[Any]]:
    """What each selection publishes: the combined feed, each source's, each tag's, the
    ``articles`` list (published_filter), and the sources listed on the page."""
    with database.session() as session:
        listed = list_articles(session, policy, ArticleQuery(state="published", limit=100))
        return {
            "combined": set(published_ids(session, policy, 50)),
            "scored": set(published_ids(session, policy, 50, source="scored")),
            "keep": set(published_ids(session, policy, 50, source="keep")),
            "tags": {i for group in group_by_tag(session, policy, 50) for i in group.ids},
            "tagged at keep": set(
                published_ids(session, policy, 50, source="keep", tag="mutual-aid")
            ),
            "listed": {line.id for line in listed},
            "pages": {ref.name for ref in sources_with_published(session, policy)},
        }


def test_a_decision_overrides_the_score_both_ways(database: Database) -> None:
    before = _everywhere(database)
    assert before["combined"] == before["listed"] == before["tags"] == {1, 3, 4}
    assert before["keep"] == before["tagged at keep"] == {3}
    _decide(database, 1, "hold")  # scored in: held
    _decide(database, 2, "publish")  # scored out: published
    _decide(database, 3, "hold")  # a keep_all source's: held all the same
    after = _everywhere(database)
    for name in ("combined", "listed", "tags"):
        assert after[name] == {2, 4}, name
    assert after["scored"] == {2, 4}
    assert after["keep"] == after["tagged at keep"] == set()
    assert after["pages"] == {"scored"}  # the keep_all source has nothing published now
    _decide(database, 3, "pin")
    assert _everywhere(database)["keep"] == {3}
    for article_id in (1, 2, 3):
        _decide(database, article_id, None)
    assert _everywhere(database) == before


def test_a_decision_holds_whatever_the_threshold(database: Database) -> None:
    _decide(database, 2, "publish")
    _decide(database, 4, "hold")
    for threshold in (0.5, 6.0, 100.0):
        policy = PublishPolicy(threshold, frozenset({"keep"}), "example.org")
        published = _everywhere(database, policy)
        assert 2 in published["combined"] and 2 in published["listed"]
        assert 4 not in published["combined"] and 4 not in published["listed"]
        assert 4 not in published["tags"]


def test_the_walks_still_read_through_indexes_with_decisions(database: Database) -> None:
    """As ``tests/test_publish_plans.py`` checks the walks, with decisions among the rows (and
    enough rows for PostgreSQL's planner to show its choice)."""
    more = [
        Row(id=number, source_id=1 + number % 2, relevance=9.0 if number % 2 else 1.0,
            published_at=NOW - timedelta(hours=number % 17, minutes=number),
            tags=("Mutual aid",) if number % 3 else ("Housing",))
        for number in range(5, 65)
    ]  # fmt: skip
    insert_rows(database, more)
    for number in range(1, 65, 7):
        _decide(database, number, ("hold", "pin", "publish")[number % 3])
    with database.session() as session, captured_statements(session) as statements:
        assert published_ids(session, POLICY, 5)
        assert published_ids(session, POLICY, 5, source="scored")
        assert published_ids(session, POLICY, 5, source="keep", tag="mutual-aid")
        assert group_by_tag(session, POLICY, 5)
        assert sources_with_published(session, POLICY)
    with database.session() as session:
        assert_no_table_scans(session, statements, sorts=True, price_out=True)


def test_refiling_and_rescoring_keep_the_decision(database: Database) -> None:
    """Rescoring rewrites the article's score and refiles its feed rows, as cleaning learned
    boilerplate does; a fresh fill of the table (migration 0012's) keeps the copy too."""
    _decide(database, 2, "publish", note="a good one")
    _decide(database, 1, "hold")
    with database.write_session() as session:
        session.execute(update(Article).where(Article.id.in_([1, 2])).values(relevance=3.0))
        article_feeds.refresh(session, [1, 2])
    assert _everywhere(database)["scored"] == {2, 4}
    with database.write_session() as session:
        session.execute(update(Article).values(relevance=20.0))
        article_feeds.fill_all(session)
        copies = session.execute(select(ArticleFeed.article_id, ArticleFeed.decision)).all()
        kept = decisions.decision_of(session, 2)
    assert {(article_id, verdict) for article_id, verdict in copies if verdict} == {
        (1, "hold"),
        (2, "publish"),
    }
    assert _everywhere(database)["combined"] == {2, 3, 4}
    assert kept is not None and kept.note == "a good one" and kept.decided_at == NOW


def test_re_extraction_keeps_the_decision(database_url: str, tmp_path: Path) -> None:
    """The same entry ingested again with new text updates the article (and its score); the
    decision stays, and still wins."""
    config = publish_config(tmp_path, database_url, {"scored": SOURCES["scored"]})
    url = "https://scored.example/letters/1"
    database = open_database(database_url)
    try:
        ingestor = Ingestor(database, config, clock=lambda: NOW)
        ingestor.ingest([_entry(url, "A gardening note", "Tomatoes need water. " * 40)])
        with database.session() as session:
            (article_id,) = session.scalars(select(Article.id)).all()
        _decide(database, article_id, "publish")
        ingestor.ingest([_entry(url, "A gardening note, revised", "Beans need sun. " * 45)])
        policy = PublishPolicy.from_config(config)
        with database.session() as session:
            title, score = session.execute(select(Article.title, Article.relevance)).one()
            assert title == "A gardening note, revised"
            assert score is not None and score < policy.threshold
            assert decisions.decision_of(session, article_id) is not None
            assert published_ids(session, policy, 10) == [article_id]
            assert published_ids(session, policy, 10, source="scored") == [article_id]
    finally:
        database.close()


def _entry(url: str, title: str, text: str) -> FetchedItem:
    return FetchedItem(
        source="scored", url=url, origin=Origin.FEED, fetched_at=NOW,
        content=f"<p>{text}</p>", feed_title=title, feed_author="A. Gardener",
    )  # fmt: skip


def test_the_next_build_and_the_server_follow_a_decision(
    database: Database, tmp_path: Path
) -> None:
    config = publish_config(tmp_path, database.url, SOURCES, items=10)
    write_site(database, config)
    assert _feed_titles(config) == _titles([1, 3, 4])
    unchanged = write_site(database, config)
    assert not any(written.changed for written in unchanged.written)
    with serving(PublishApp(database, config)) as served:
        assert _served_ids(served) == _titles([1, 3, 4])
        _decide(database, 2, "publish")
        _decide(database, 4, "hold")
        assert _served_ids(served) == _titles([1, 2, 3])  # at once, no build needed
    assert _feed_titles(config) == _titles([1, 3, 4])  # written files wait for the build
    rebuilt = write_site(database, config)
    changed = {written.path for written in rebuilt.written if written.changed}
    assert {"feed.atom", "feed.json", "index.html"} <= changed
    assert _feed_titles(config) == _titles([1, 2, 3])


def _titles(ids: list[int]) -> set[str]:
    return {f"https://source{ROWS[i - 1].source_id}.example/{i}/" for i in ids}


def _feed_titles(config: Config) -> set[str]:
    feed = json.loads((config.output.dir / "feed.json").read_text(encoding="utf-8"))
    return {item["url"] for item in feed["items"]}


def _served_ids(served: Served) -> set[str]:
    response = served.get("/feed.json")
    assert response.status == 200
    body: bytes = response.body  # type: ignore[attr-defined]
    return {item["url"] for item in json.loads(body)["items"]}


def test_a_pinned_article_survives_a_purge(database: Database) -> None:
    _decide(database, 2, "pin")
    _decide(database, 1, "publish")  # published, but not kept from the purge
    cutoff = NOW + timedelta(days=1)
    assert preview_purge(database, cutoff).count == 3
    assert purge_before(database, cutoff, NOW) == 3
    with database.session() as session:
        assert session.scalars(select(Article.id)).all() == [2]
        assert published_ids(session, POLICY, 10) == [2]
        assert [item.row.article_id for item in decisions.every_decision(session)] == [2]


def test_export_then_import_into_a_fresh_instance_restores_the_published_set(
    database: Database, tmp_path: Path
) -> None:
    """The fresh instance stores the same articles under other ids, one of them known there only
    by a sighting's URL: the decisions find them by URL."""
    _decide(database, 1, "hold", note="off topic after all")
    _decide(database, 2, "publish")
    _decide(database, 3, "pin")
    with database.session() as session:
        exported = [
            DecisionRecord(
                d.row.url, cast(Verdict, d.row.decision), d.row.decided_at, d.row.note, d.title
            )
            for d in decisions.every_decision(session)
        ]
        wanted = _published_urls(session)
    text = dump_decisions(exported, NOW)
    fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        add_sources(fresh, "scored", "keep")
        renumbered = [
            Row(id=10 + row.id, source_id=row.source_id, relevance=row.relevance, tags=row.tags,
                url=f"https://source{row.source_id}.example/{row.id}/")
            for row in ROWS
        ]  # fmt: skip
        renumbered[1] = Row(id=12, relevance=1.0, url="https://mirror.example/2/",
                            also_seen=((2, "https://source1.example/2/"),))  # fmt: skip
        insert_rows(fresh, renumbered)
        for _ in range(2):  # idempotent
            records = parse_decisions(text, "decisions.json")
            with fresh.write_session() as session:
                found = decisions.articles_at(session, [record.url for record in records])
                decisions.restore(
                    session,
                    [(found[record.url], record) for record in records],
                )
        with fresh.session() as session:
            assert len(decisions.every_decision(session)) == 3
            held = decisions.decision_of(session, 11)
            restored = _published_urls(session)
    finally:
        fresh.close()
    assert held is not None and held.note == "off topic after all"
    wanted = {
        url.replace("https://source1.example/2/", "https://mirror.example/2/") for url in wanted
    }
    assert restored == wanted


def _published_urls(session: Session) -> set[str]:
    ids = published_ids(session, POLICY, 50)
    return {row.canonical_url for row in rows_by_id(session, ids)}


def test_migration_0017_goes_down_and_up_again(database: Database) -> None:
    """Down past 0017 the decisions go (with their copies), the articles stay; up again, the
    walks work as before."""
    _decide(database, 1, "hold")
    config = migrate.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")
    columns = {column["name"] for column in inspect(database.engine).get_columns("article_feeds")}
    assert "decision" not in columns
    assert "decisions" not in inspect(database.engine).get_table_names()
    migrate.upgrade(database.engine)
    with database.session() as session:
        assert sorted(session.scalars(select(Article.id))) == [1, 2, 3, 4]
        assert decisions.every_decision(session) == []
    assert _everywhere(database)["combined"] == {1, 3, 4}


def test_a_source_that_opted_out_wins_over_a_decision(database: Database) -> None:
    """The source's terms come first: its pinned article is in no output either."""
    _decide(database, 2, "pin")
    policy = PublishPolicy(6.0, frozenset({"keep"}), "example.org", opted_out=frozenset({"scored"}))
    published = _everywhere(database, policy)
    assert published["combined"] == published["listed"] == published["tags"] == {3}
    assert 2 in _everywhere(database)["combined"]


def test_a_decision_made_while_an_article_is_refiled_reaches_its_new_feed_rows(
    database: Database,
) -> None:
    """PostgreSQL, read committed: the refile holds the article's row, so the decision waits and
    then marks the rows the refile wrote (not the ones it deleted)."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers take the whole database: no two run at once")
    errors: list[BaseException] = []

    def decide() -> None:
        try:
            _decide(database, 1, "hold")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=decide)
    try:
        with database.write_session() as session:
            article_feeds.refresh(session, [1])
            worker.start()
            _wait_for_a_lock_wait(database)
        worker.join(timeout=60)
        assert not worker.is_alive() and not errors, errors
    finally:
        worker.join(timeout=60)
    with database.session() as session:
        copies = session.scalars(select(ArticleFeed.decision).where(ArticleFeed.article_id == 1))
        assert set(copies) == {"hold"}
    assert 1 not in published_ids_of(database)


def _wait_for_a_lock_wait(database: Database, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with database.engine.connect() as connection:
            if connection.execute(waiting).scalar_one():
                return
        time.sleep(0.05)
    raise AssertionError("the decision never waited for the refile")


def published_ids_of(database: Database) -> list[int]:
    with database.session() as session:
        return published_ids(session, POLICY, 10)
