"""``mutualaid crawl`` and ``mutualaid worker``: run a source's spider, alone or via Redis."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import (
    AppContext,
    json_option,
    parse_since,
    pass_app,
    print_json,
    stderr,
    stdout,
)
from aggregator.config import Config
from aggregator.errors import ConfigError
from aggregator.extras import require
from aggregator.storage.locks import hold_lock
from spiders.plan import CrawlOptions, make_plan
from spiders.process import CrawlJob, CrawlResult, run_crawl
from spiders.progress import Event, empty_counts
from spiders.settings import RedisTarget

SHOWN_PROBLEMS = 10


@click.command("crawl")
@click.argument("source")
@click.option("--since", help="Skip articles published before DATE (2024-05-01) or older than 30d.")
@click.option("--max-pages", type=click.IntRange(min=1), help="Fetch at most N pages.")
@click.option("--refresh", is_flag=True, help="Fetch articles already stored again.")
@click.option(
    "--backend",
    type=click.Choice(["memory", "redis"]),
    help="redis: seed a crawl shared by 'mutualaid worker' processes (default: crawl.backend).",
)
@click.option("--redis-url", help="Redis for the shared crawl (default: crawling.redis_url).")
@click.option("--workers", type=click.IntRange(min=0), help="Extraction processes (0: a thread).")
@json_option
@pass_app
def crawl(
    app: AppContext,
    source: str,
    since: str | None,
    max_pages: int | None,
    refresh: bool,
    backend: str | None,
    redis_url: str | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Crawl SOURCE's listings and sitemaps (its crawl: block) and store the articles found.

    Articles already stored are not fetched again unless --refresh; once a crawl of SOURCE has
    gone through its whole backlog, paging stops at the first listing page with nothing new on
    it. A 'crawl: {}' block finds a WordPress site's articles itself (REST API, else sitemaps).
    """
    config = app.config
    options = CrawlOptions(parse_since(since), max_pages, refresh)
    plan = make_plan(source, app.source(source), options, config.origin)
    crawl_config = app.source(source).crawl
    if (backend or (crawl_config.backend if crawl_config else "memory")) == "redis":
        target = _redis_target(config, redis_url)
        from spiders.shared import seed_crawl  # Redis is an extra: imported only here

        seeded = seed_crawl(target, plan)
        if as_json:
            print_json({"source": source, "backend": "redis", "seeded": seeded})
        else:
            stdout.print(
                f"{source}: {seeded} start URL(s) queued in Redis ({target.prefix}:{source}:start);"
                " 'mutualaid worker' processes will crawl them"
            )
        return
    job = CrawlJob((source,), options, workers=workers, log_level=_log_level())
    result = _run_with_progress(app, job, quiet=as_json, lock=f"source:{source}:crawl")
    _report(result, job.sources, as_json)


@click.command("worker")
@click.argument("sources", nargs=-1)
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many seconds with nothing to do (default: wait for more work).",
)
@click.option("--redis-url", help="Redis holding the shared crawls (default: crawling.redis_url).")
@click.option("--workers", type=click.IntRange(min=0), help="Extraction processes (0: a thread).")
@json_option
@pass_app
def worker(
    app: AppContext,
    sources: tuple[str, ...],
    idle_exit: float | None,
    redis_url: str | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Work on shared crawls (crawl.backend: redis) of SOURCES (default: every such source).

    Start as many as you like, on one machine or several: they share one request queue and one
    list of pages seen, so each page is fetched once. Seed a crawl with 'mutualaid crawl SOURCE'.
    """
    config = app.config
    names = sources or tuple(
        name
        for name, source in config.sources.items()
        if source.crawl is not None and source.crawl.backend == "redis" and source.enabled
    )
    if not names:
        raise ConfigError(config.origin, "no source has crawl.backend: redis", key="sources")
    for name in names:
        make_plan(name, app.source(name), origin=config.origin)  # fails early on a bad source
    job = CrawlJob(
        names,
        shared=_redis_target(config, redis_url),
        idle_exit=idle_exit,
        workers=workers,
        log_level=_log_level(),
    )
    result = _run_with_progress(app, job, quiet=as_json)
    _report(result, names, as_json)


def _redis_target(config: Config, url: str | None) -> RedisTarget:
    require("scrapy_redis", extra="redis", purpose="a shared crawl (crawl.backend: redis)")
    url = url or config.crawling.redis_url
    if not url:
        raise ConfigError(
            config.origin, "a Redis URL is needed for the redis backend", key="crawling.redis_url"
        )
    return RedisTarget(url, config.crawling.redis_prefix)


def _log_level() -> int:
    return min(logging.getLogger().getEffectiveLevel(), logging.WARNING)


def _run_with_progress(
    app: AppContext, job: CrawlJob, quiet: bool, lock: str | None = None
) -> CrawlResult:
    """Run ``job`` with a live display; with ``lock``, only while no one else holds it (the
    daemon crawling the same source)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[line]}"),
        TimeElapsedColumn(),
    )
    database = app.open_database()
    try:
        live = not quiet and stderr.is_terminal
        with Progress(*columns, console=stderr, disable=not live) as progress:
            tasks = {
                name: progress.add_task(name, line=_progress_line(empty_counts()))
                for name in job.sources
            }

            def show(event: Event) -> None:
                kind, source, payload = event
                if kind in ("progress", "done") and source in tasks:
                    progress.update(tasks[source], line=_progress_line(payload))
                elif kind == "log":  # source is the level name here
                    progress.console.print(f"{source.lower()}: {payload}", markup=False)

            with hold_lock(database, lock) if lock else contextlib.nullcontext():
                return run_crawl(app.config, job, show, database)
    finally:
        database.close()


def _progress_line(counts: Mapping[str, Any]) -> str:
    return (
        f"pages {counts['pages']} · new {counts['new']} · updated {counts['updated']} · "
        f"duplicate {counts['duplicate']} · unchanged {counts['unchanged']} · "
        f"skipped {counts['skipped']} · errors {counts['errors']}"
    )


def _report(result: CrawlResult, sources: Iterable[str], as_json: bool) -> None:
    failed = False
    records = []
    for source in sources:
        counts = {**empty_counts(), **result.counts.get(source, {})}
        error = result.error_for(source)
        failed = failed or error is not None
        records.append({"source": source, "status": "failed" if error else "ok", "error": error,
                        **counts})  # fmt: skip
    if as_json:
        print_json(records[0] if len(records) == 1 else records)
    else:
        for record in records:
            stdout.print(_summary(record))
    if failed:
        raise click.exceptions.Exit(1)


def _summary(record: Mapping[str, Any]) -> Table:
    status = record["status"] if not record["error"] else f"failed: {record['error']}"
    table = Table(title=f"Crawl of {record['source']}: {status}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("pages fetched", record["pages"]),
        ("  listing pages", record["listings"]),
        ("  article pages", record["articles"]),
        ("  sitemaps", record["sitemaps"]),
        ("articles new", record["new"]),
        ("articles updated", record["updated"]),
        ("articles unchanged", record["unchanged"]),
        ("duplicates of stored articles", record["duplicate"]),
        ("pages that are not articles", record["skipped"]),
        ("links already stored (not fetched)", record["known"]),
        ("links older than --since", record["old"]),
        ("blocked by robots.txt or domain", record["blocked"]),
        ("errors", record["errors"]),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    if record["limited"]:
        table.add_row("stopped at --max-pages", "yes")
    for url, reason in record["problems"][:SHOWN_PROBLEMS]:
        table.add_row(Text(reason, style="red"), Text(url))
    return table
