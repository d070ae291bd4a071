"""Retention: old articles are purged and, through their tombstones, never stored again."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

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
    path = write_config(
        {"sources": {"blog": {"homepage": f"{blog_site.base_url}/", "relevance": "keep_all"}}}
    )
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    Ingestor(database, config, clock=lambda: NOW).ingest(items_for(blog_site))
    database.close()
    oldest = min(article.published for article in blog_site.articles)
    days = (datetime.now(UTC) - oldest).days - 1
    result = run_cli("-c", str(path), "db", "purge", "--days", str(days), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["purged"] >= 1
    unset = run_cli("-c", str(path), "db", "purge")
    assert unset.code == 2 and "retention.days" in unset.err
