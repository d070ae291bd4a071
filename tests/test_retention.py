"""Retention: old articles are purged and, through their tombstones, never stored again."""

from __future__ import annotations

import importlib
import io
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from aggregator.config import load_config
from aggregator.ingest import Ingestor, Outcome
from aggregator.items import FetchedItem, Origin
from aggregator.storage import open_database
from aggregator.storage.models import Article, Sighting, SimhashBand, Tombstone
from aggregator.storage.retention import purge_before

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
    unset = run_cli("-c", str(path), "db", "purge")
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
