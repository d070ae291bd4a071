"""Retention: old articles are purged and, through their tombstones, never stored again."""

from __future__ import annotations

import importlib
import io
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from aggregator.config import load_config
from aggregator.daemon.work import purge_old
from aggregator.errors import ConfigError
from aggregator.ingest import Ingestor, Outcome
from aggregator.items import FetchedItem, Origin
from aggregator.runs import Outcome as JobOutcome
from aggregator.storage import migrate, open_database
from aggregator.storage.engine import make_engine
from aggregator.storage.health import daemon_health, source_health
from aggregator.storage.models import Article, Run, RunTotal, Sighting, SimhashBand, Tombstone
from aggregator.storage.retention import purge_before
from aggregator.storage.runs import preview_runs_purge, purge_runs_before, run_totals_by_name
from aggregator.storage.sources import source_ids
from tests.runs_history import HISTORY, KEEP_DAYS, write_history

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def items_for(site) -> list[FetchedItem]:
    items = []
    for article in site.articles:
        with urllib.request.urlopen(article.url, timeout=10) as response:
            html = response.read().decode("utf-8")
        items.append(
            FetchedItem(source="blog", url=article.url, origin=Origin.CRAWL, fetched_at=NOW,
                        html=html)
        )  # fmt: skip
    return items


def test_purged_articles_leave_tombstones_and_do_not_come_back(
    write_config, database_url, blog_site
) -> None:
    path = write_config(
        {"database": {"url": database_url},
         "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "relevance": "keep_all"}}}
    )  # fmt: skip
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    items = items_for(blog_site)
    ingestor = Ingestor(database, config, clock=lambda: NOW)
    assert ingestor.ingest(items).counts == {Outcome.NEW: len(items)}
    cutoff = sorted(article.published for article in blog_site.articles)[len(items) // 2]
    old = [a for a in blog_site.articles if a.published < cutoff]
    purged = purge_before(database, cutoff, NOW)
    assert purged == len(old) > 0
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == len(items) - len(old)
        orphans = session.scalar(
            select(func.count())
            .select_from(Sighting)
            .where(~Sighting.article_id.in_(select(Article.id)))
        )
        assert orphans == 0
        assert (
            session.scalar(
                select(func.count())
                .select_from(SimhashBand)
                .where(~SimhashBand.article_id.in_(select(Article.id)))
            )
            == 0
        )
        assert session.scalar(select(func.count()).select_from(Tombstone)) >= 2 * len(old)
    again = ingestor.ingest(items)
    assert again.counts == {Outcome.PURGED: len(old), Outcome.UNCHANGED: len(items) - len(old)}
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == len(items) - len(old)
    database.close()


def test_db_purge_command(run_cli, write_config, blog_site, tmp_path) -> None:
    path, days, older = _purge_setup(write_config, blog_site)
    result = run_cli("-c", str(path), "db", "purge", "--days", str(days), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["purged"] == older >= 1
    kept_forever = write_config(
        {"sources": {}, "retention": {"runs_days": None}}, name="forever.yaml"
    )
    unset = run_cli("-c", str(kept_forever), "db", "purge")
    assert unset.code == 2 and "retention.days" in unset.err


def _purge_setup(write_config, blog_site) -> tuple[Path, int, int]:
    """A database with the blog's essays; (config, --days that purges some, how many)."""
    path = write_config(
        {"sources": {"blog": {"homepage": f"{blog_site.base_url}/", "relevance": "keep_all"}}}
    )
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    Ingestor(database, config, clock=lambda: NOW).ingest(items_for(blog_site))
    database.close()
    dates = sorted(article.published for article in blog_site.articles)
    days = (datetime.now(UTC) - dates[len(dates) // 2]).days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    return path, days, sum(date < cutoff for date in dates)


def _stored(path: Path) -> int:
    database = open_database(load_config(path, environ={}).database.url)
    try:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(Article)) or 0
    finally:
        database.close()


def test_purge_dry_run_says_what_would_go_and_deletes_nothing(
    run_cli, write_config, blog_site
) -> None:
    path, days, older = _purge_setup(write_config, blog_site)
    before = _stored(path)
    result = run_cli("-c", str(path), "db", "purge", "--days", str(days), "--dry-run", "--json")
    assert result.code == 0, result.err
    preview = json.loads(result.out)
    assert (preview["dry_run"], preview["would_purge"]) == (True, older)
    assert preview["oldest"] <= preview["newest"]
    text = run_cli("-c", str(path), "db", "purge", "--days", str(days), "--dry-run")
    assert f"would purge {older} article(s) older than {days} day(s), dated " in text.out
    assert _stored(path) == before


def test_purge_on_a_terminal_asks_first(run_cli, write_config, blog_site, monkeypatch) -> None:
    path, days, older = _purge_setup(write_config, blog_site)
    before = _stored(path)
    commands = importlib.import_module("aggregator.cli.db")  # the module, not the click group
    monkeypatch.setattr(commands, "_on_terminal", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    declined = run_cli("-c", str(path), "db", "purge", "--days", str(days))
    assert declined.code != 0
    assert "for good?" in declined.out and _stored(path) == before
    agreed = run_cli("-c", str(path), "db", "purge", "--days", str(days), "--yes")
    assert agreed.code == 0 and _stored(path) == before - older


# -- runs ----------------------------------------------------------------------------------------


def _snapshot(database) -> tuple[Any, ...]:
    """What status reads of runs, and every run ever recorded added up."""
    with database.session() as session:
        return (
            source_health(session, ["a", "b"]),
            daemon_health(session),
            run_totals_by_name(session, ["a", "b"]),
        )


def _stored_ids(database) -> set[int]:
    with database.session() as session:
        return set(session.scalars(select(Run.id)))


def test_old_runs_are_folded_into_totals_and_what_status_reads_is_kept(database_url) -> None:
    database = open_database(database_url)
    ids = write_history(database, NOW)
    before = _snapshot(database)
    cutoff = NOW - timedelta(days=KEEP_DAYS)
    expected_gone = {ids[run.label] for run in HISTORY if not run.kept}
    assert preview_runs_purge(database, cutoff).count == len(expected_gone)
    assert purge_runs_before(database, cutoff) == len(expected_gone) == 7
    assert _stored_ids(database) == set(ids.values()) - expected_gone
    assert _snapshot(database) == before  # same last runs, failures, failing since, totals
    with database.session() as session:
        folded = {(row.source_id, row.kind): row for row in session.scalars(select(RunTotal))}
        names = {source_id: name for name, source_id in source_ids(session).items()}
    assert {(names[source], kind) for source, kind in folded} == {("a", "poll"), ("b", "poll")}
    a_poll = next(row for (source, kind), row in folded.items() if names[source] == "a")
    assert (a_poll.runs, a_poll.ok_runs, a_poll.failed_runs) == (3, 1, 2)  # a1, a2, a5
    assert a_poll.first_started_at == NOW - timedelta(days=200)
    assert a_poll.last_started_at == NOW - timedelta(days=120)
    assert purge_runs_before(database, cutoff) == 0  # nothing left to fold
    assert _snapshot(database) == before
    database.close()


def test_totals_fold_again_on_a_later_purge(sqlite_url) -> None:
    """A second purge adds into the stored totals (earliest first, latest last) and they still
    match the runs ever recorded."""
    database = open_database(sqlite_url)
    write_history(database, NOW)
    before = _snapshot(database)
    assert purge_runs_before(database, NOW - timedelta(days=150)) == 3  # a1, a2, b4
    assert _snapshot(database) == before
    assert purge_runs_before(database, NOW - timedelta(days=KEEP_DAYS)) == 4
    assert _snapshot(database) == before
    database.close()


def test_the_daemon_purge_applies_runs_retention(write_config, sqlite_url) -> None:
    path = write_config({"retention": {"runs_days": KEEP_DAYS}})
    config = load_config(path, environ={})
    database = open_database(sqlite_url)
    write_history(database, NOW)
    result = purge_old(database, config, NOW)
    assert (result.status, dict(result.counts)) == (JobOutcome.OK, {"runs_purged": 7})
    kept_forever = load_config(write_config({"retention": {"runs_days": None}}), environ={})
    assert purge_old(database, kept_forever, NOW).status == JobOutcome.SKIPPED
    database.close()


def test_runs_days_of_zero_is_refused(write_config) -> None:
    with pytest.raises(ConfigError, match=r"retention\.runs_days"):
        load_config(write_config({"retention": {"runs_days": 0}}), environ={})


def test_migration_0014_keeps_stored_runs_up_and_down(database_url) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0010")
        database = open_database(database_url, upgrade=False)
        ids = write_history(database, NOW)  # stored before 0014
        assert database.upgrade().after == migrate.head_revision()
        purge_runs_before(database, NOW - timedelta(days=KEEP_DAYS))
        kept = _stored_ids(database)
        database.close()
        _downgrade(engine, "0010")
        assert "run_totals" not in inspect(engine).get_table_names()
        assert _index_names(engine) == {"ix_runs_source_id_started_at"}
        with engine.connect() as connection:
            assert set(connection.scalars(text("SELECT id FROM runs"))) == kept
        assert migrate.upgrade(engine).after == migrate.head_revision()
        assert "ix_runs_source_id_kind_status_started_at" in _index_names(engine)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM run_totals")) == 0
            assert set(connection.scalars(text("SELECT id FROM runs"))) == kept
        assert len(kept) == len(ids) - 7
    finally:
        engine.dispose()


def _index_names(engine) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes("runs")}


def _downgrade(engine, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_db_purge_folds_runs_with_a_dry_run_first(run_cli, write_config, sqlite_url) -> None:
    now = datetime.now(UTC)
    path = write_config({"sources": {name: {"homepage": f"https://{name}.example/",
                                           "feed": f"https://{name}.example/feed"}
                                     for name in ("a", "b")}})  # fmt: skip
    database = open_database(sqlite_url)
    write_history(database, now)
    database.close()
    status = ("-c", str(path), "status", "--json", "--totals")
    before = json.loads(run_cli(*status).out)
    dry = run_cli("-c", str(path), "db", "purge", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    preview = json.loads(dry.out)
    assert (preview["runs_days"], preview["would_purge_runs"], preview["days"]) == (90, 7, None)
    text_preview = run_cli("-c", str(path), "db", "purge", "--dry-run")
    assert "would fold 7 run(s) older than 90 day(s) into per-source totals" in text_preview.out
    assert "articles: kept" in text_preview.out
    assert json.loads(run_cli(*status).out) == before
    done = run_cli("-c", str(path), "db", "purge", "--json")
    assert done.code == 0, done.err
    assert (json.loads(done.out)["runs_purged"], json.loads(done.out)["purged"]) == (7, 0)
    after = json.loads(run_cli(*status).out)
    assert after == before
    assert after["totals"]["a"]["poll"]["runs"] == 6
    assert json.loads(run_cli("-c", str(path), "db", "purge", "--json").out)["runs_purged"] == 0
