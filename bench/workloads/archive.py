"""Costs as the archive grows: ingest, ``feed build``, ``GET /feed.atom``, ``status``, bytes.

``python -m bench archive [--sizes 1k,10k,100k] [--database sqlite|postgresql] [--breakdown]``
builds an empty archive and one of each size (realistic synthetic articles, ``bench.archive_data``,
bulk-inserted as ingest would have stored them), then, in rounds on a fresh copy of each (a
file copy on SQLite, a template database on PostgreSQL), times through the public entry points:

- ingest: one batch of 1,000 new articles stored by ``Ingestor.store_prepared`` in batches of
  50, as ``Ingestor.ingest`` does after extraction (extraction is done once, before, since its
  cost is per article and would only hide the archive's share);
- ``feed build`` (the CLI's own ``main``) into an empty output folder before the batch, again
  after it (the batch's pages and what they change), then once more with nothing new;
- ``GET /feed.atom`` from the ``serve`` WSGI application, the first request of a new app;
- ``status`` (the CLI's own ``main``);

and reports each as the median over rounds and its ratio to the empty archive's figure, with
the database's bytes per article (pages in use on SQLite, ``pg_total_relation_size`` on
PostgreSQL, less the empty database's, over N) beside the article's own text and HTML.
``--breakdown`` adds the bytes per article of every table and index. ``--cpu-time`` times the
rounds in this process's CPU time instead of the wall clock: on a machine loaded by other jobs
the wall clock of the same round moves by 2x and more; CPU time less so, but it leaves out the
work of other processes (a PostgreSQL server's).

Registered as a workload too, for ``python -m bench`` with no names: ingest into an archive of
N against ingest into an empty one, on SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from wsgiref.util import setup_testing_defaults

import yaml
from sqlalchemy import Table

from aggregator.cli import main as cli_main
from aggregator.config import Config, load_config
from aggregator.ingest import Ingestor, Prepared
from aggregator.ingest.workers import prepare
from aggregator.items import FetchedItem, Origin
from aggregator.publish.server import PublishApp
from aggregator.storage import article_feeds, open_database
from aggregator.storage.bands import forget_old_bands
from aggregator.storage.boilerplate import forget_old_blocks
from aggregator.storage.fulltext import merge_index
from aggregator.storage.models import Article, BlockSighting, Sighting, SimhashBand
from bench import archive_data
from bench.archive_data import NOW, SOURCES, Rows, Synthetic
from bench.archive_report import COLUMNS, SizeResult, aims, breakdown, table
from bench.archive_store import Part, PostgresStore, SqliteStore, Store
from bench.harness import Workload

POSTGRES_ENV = "MUTUALAID_TEST_POSTGRES_URL"
BATCH = 1000
STORE_BATCH = 50  # Ingestor.ingest's own batch size
CHUNK = 500  # articles generated per worker task and inserted per transaction
CLOCK = NOW + timedelta(days=1)
# What a round's measures are timed by: the wall clock, or with ``--cpu-time`` this process's
# CPU time (user and system), steadier beside other jobs; it leaves out other processes' work
# (PostgreSQL's server: use it on SQLite).
_timer: Callable[[], float] = time.perf_counter
ARTICLES, SIGHTINGS, BANDS, BLOCKS = (
    cast(Table, model.__table__) for model in (Article, Sighting, SimhashBand, BlockSighting)
)


# --- the archive -----------------------------------------------------------------------------


@dataclass
class Archive:
    size: int
    url: str
    build_seconds: float
    bytes: int = 0


def write_config(folder: Path, database_url: str) -> Path:
    """A config for ``database_url`` with the benchmark's sources and its own output folder."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {
        name: {"homepage": f"https://{name}.example/", "feed": f"https://{name}.example/feed/"}
        for name in SOURCES
    }
    settings = {
        "database": {"url": database_url},
        "output": {
            "dir": str(folder / "public"),
            "base_url": "https://reader.example/",
            "id_domain": "reader.example",
        },
        "sources": sources,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def build_archive(
    store: Store, size: int, folder: Path, workers: int, per_day: int = archive_data.PER_DAY
) -> Archive:
    """An archive of ``size`` articles, bulk-inserted; how long that took."""
    start = time.perf_counter()
    url = store.new_url(f"n{size}")
    config = load_config(write_config(folder / f"n{size}", url), environ={})
    database = open_database(url)
    try:
        source_ids = Ingestor(database, config, clock=lambda: NOW).source_ids
        profile = config.topic.profile()
        window = timedelta(days=config.extraction.boilerplate_window_days)
        near_window = timedelta(days=config.extraction.near_duplicate_window_days)
        for rows in _generated(size, source_ids, profile, workers, per_day):
            store.load(
                database,
                [
                    (ARTICLES, rows.articles),
                    (SIGHTINGS, rows.sightings),
                    (BANDS, rows.bands),
                    (BLOCKS, rows.blocks),
                ],
            )
            # Filed under its sources' and tags' feeds, as ingest files what it stores.
            with database.write_session() as session:
                article_feeds.refresh(session, [row["id"] for row in rows.articles])
            # What ingest forgets as it goes, aged block sightings and SimHash bands (each chunk
            # is about a day's articles or more), and the room it frees reused, as autovacuum
            # lets PostgreSQL reuse it.
            newest = rows.articles[-1]["first_seen_at"]
            with database.write_session() as session:
                forgotten = forget_old_blocks(session, newest, window)
                bands_forgotten = forget_old_bands(session, newest, near_window)
            if forgotten:
                store.reclaim(database, BLOCKS)
            if bands_forgotten:
                store.reclaim(database, BANDS)
            # The search index's segments merged, as the daemon does after each rebuild.
            merge_index(database)
    finally:
        database.close()
    if isinstance(store, PostgresStore):
        store.settle(url)
    return Archive(size, url, time.perf_counter() - start, store.size(url))


def _generated(
    size: int, source_ids: dict[str, int], profile: Any, workers: int, per_day: int
) -> Iterator[Rows]:
    chunks = [range(at, min(at + CHUNK, size)) for at in range(0, size, CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        for numbers in chunks:
            yield archive_data.archive_rows(numbers, size, source_ids, profile, per_day)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for at in range(0, len(chunks), 4 * workers):  # a few chunks ahead, not all in memory
            some = chunks[at : at + 4 * workers]
            count = len(some)
            yield from pool.map(
                archive_data.archive_rows,
                some,
                [size] * count,
                [source_ids] * count,
                [profile] * count,
                [per_day] * count,
            )


def prepare_batch(size: int, config: Config) -> list[list[Prepared]]:
    """The batch of new articles as extraction hands them to storage, in ``STORE_BATCH``es."""
    database = open_database(config.database.url)
    try:
        ingestor = Ingestor(database, config, clock=lambda: CLOCK)
        items = [_item(article) for article in archive_data.new_batch(size)]
        prepared = [prepare(item, ingestor.context(item.source)) for item in items]
    finally:
        database.close()
    return [prepared[at : at + STORE_BATCH] for at in range(0, len(prepared), STORE_BATCH)]


def _item(article: Synthetic) -> FetchedItem:
    return FetchedItem(
        source=article.source,
        url=article.url,
        origin=Origin.FEED,
        fetched_at=CLOCK,
        content=article.feed_html(),
        guid=article.guid,
        feed_title=article.title,
        feed_author=article.author,
        feed_tags=article.tags,
        feed_published=article.published_at.isoformat(),
    )


# --- one round -------------------------------------------------------------------------------


@dataclass
class Timings:
    """Seconds per measure, one entry per round."""

    ingest: list[float] = field(default_factory=list)
    build_first: list[float] = field(default_factory=list)
    build_batch: list[float] = field(default_factory=list)
    build_again: list[float] = field(default_factory=list)
    get_feed: list[float] = field(default_factory=list)
    status: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)

    def medians(self) -> dict[str, float]:
        return {
            name: statistics.median(values)
            for name, values in vars(self).items()
            if isinstance(values, list) and values
        }


def store_batch(
    database_url: str, config: Config, batches: Sequence[list[Prepared]]
) -> tuple[float, dict[str, int]]:
    """Store the prepared batch into ``database_url`` as ingest does; seconds and outcomes."""
    database = open_database(database_url)
    try:
        ingestor = Ingestor(database, config, clock=lambda: CLOCK)
        outcomes: dict[str, int] = {}
        start = _timer()
        for batch in batches:
            report = ingestor.store_prepared(batch)
            if report.failed:
                raise RuntimeError(f"ingest failed: {report.failed[:3]}")
            for outcome, count in report.counts.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + count
        return _timer() - start, outcomes
    finally:
        database.close()


def run_cli(*args: str) -> float:
    """Seconds the ``mutualaid`` command takes, run in this process; it must succeed."""
    output = io.StringIO()
    start = _timer()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = cli_main(list(args))
    seconds = _timer() - start
    if code != 0:
        raise RuntimeError(f"mutualaid {' '.join(args)} failed ({code}): {output.getvalue()}")
    return seconds


def get_feed(config: Config) -> float:
    """Seconds for the first ``GET /feed.atom`` of a new ``serve`` application."""
    database = open_database(config.database.url)
    try:
        app = PublishApp(database, config)
        environ: dict[str, Any] = {"PATH_INFO": "/feed.atom", "REQUEST_METHOD": "GET"}
        setup_testing_defaults(environ)
        statuses: list[str] = []
        start = _timer()
        body = b"".join(app(environ, lambda status, _headers: statuses.append(status)))
        seconds = _timer() - start
    finally:
        database.close()
    if not statuses[0].startswith("200") or b"<entry" not in body:
        raise RuntimeError(f"GET /feed.atom: {statuses[0]}, {len(body)} bytes")
    return seconds


def run_round(
    store: Store, archive: Archive, batches: Sequence[list[Prepared]], folder: Path, number: int
) -> dict[str, float | dict[str, int]]:
    """Every measure once, on a fresh copy of ``archive``."""
    url = store.copy(archive.url, f"n{archive.size}r{number}")
    where = folder / f"n{archive.size}-round{number}"
    try:
        path = write_config(where, url)
        config = load_config(path, environ={})
        first = run_cli("--config", str(path), "feed", "build", "--json")
        ingest, outcomes = store_batch(url, config, batches)
        after_batch = run_cli("--config", str(path), "feed", "build", "--json")
        again = run_cli("--config", str(path), "feed", "build", "--json")
        return {
            "ingest": ingest,
            "build_first": first,
            "build_batch": after_batch,
            "build_again": again,
            "get_feed": get_feed(config),
            "status": run_cli("--config", str(path), "status", "--json"),
            "outcomes": outcomes,
        }
    finally:
        store.drop(url)
        shutil.rmtree(where, ignore_errors=True)


# --- the whole run ---------------------------------------------------------------------------


def measure_archives(
    store: Store,
    sizes: Sequence[int],
    *,
    batch: int,
    rounds: int,
    breakdown: bool,
    workers: int,
    say: Callable[[str], None],
    per_day: int = archive_data.PER_DAY,
) -> list[SizeResult]:
    folder = Path(tempfile.mkdtemp(prefix="bench-archive-config-"))
    results: list[SizeResult] = []
    try:
        empty = build_archive(store, 0, folder, workers)
        batches = prepare_batch(batch, load_config(folder / "n0" / "config.yaml", environ={}))
        if rounds > 1:  # a warm-up round: first imports, first queries
            run_round(store, empty, batches, folder, -1)
        for size in [0, *sizes]:
            archive = empty if size == 0 else build_archive(store, size, folder, workers, per_day)
            say(f"# archive of {size:,} built in {archive.build_seconds:.1f} s")
            timings = Timings()
            for number in range(rounds):
                for name, value in run_round(store, archive, batches, folder, number).items():
                    if isinstance(value, dict):
                        timings.outcomes = value
                    else:
                        getattr(timings, name).append(value)
            text_html = sum(store.column_bytes(archive.url, c) for c in ("text", "html"))
            parts = store.parts(archive.url) + _columns(store, archive.url) if breakdown else []
            results.append(
                SizeResult(size, archive.build_seconds, archive.bytes, text_html,
                           timings.medians(), timings.outcomes, parts)
            )  # fmt: skip
            say(f"# measured {size:,}: {_brief(results[-1])}")
            if size:
                store.drop(archive.url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def _columns(store: Store, url: str) -> list[Part]:
    """What the article's own columns hold as stored (a share of the ``articles`` table above,
    its TOAST included)."""
    return [
        Part(f"articles.{column}", "articles", "column", store.column_bytes(url, column, True))
        for column in COLUMNS
    ]


def _brief(result: SizeResult) -> str:
    return ", ".join(f"{name} {seconds:.3f} s" for name, seconds in result.medians.items())


def parse_sizes(text: str) -> list[int]:
    """``1k,10k,100k`` as numbers."""
    sizes = []
    for piece in text.split(","):
        piece = piece.strip().lower()
        factor = {"k": 1000, "m": 1_000_000}.get(piece[-1:], 1)
        number = piece[:-1] if factor > 1 else piece
        if not number.isdigit() or int(number) * factor < 1:
            raise argparse.ArgumentTypeError(f"not a size: {piece!r} (e.g. 1k,10k,100k)")
        sizes.append(int(number) * factor)
    return sorted(set(sizes))


def main(argv: list[str] | None = None) -> int:
    """``python -m bench archive``: the table of costs against the archive's size."""
    parser = argparse.ArgumentParser(
        prog="python -m bench archive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[1000, 10_000, 100_000],
        help="archive sizes besides the empty one (default 1k,10k,100k)",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV),
        help=f"a PostgreSQL server to make databases on (default ${POSTGRES_ENV})",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size (median taken)")
    parser.add_argument("--batch", type=int, default=BATCH, help="new articles ingested per round")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes generating the archives' rows",
    )
    parser.add_argument("--per-day", type=int, default=archive_data.PER_DAY,
                        help="articles a day the archive grew by (its time span)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="sizes 200 and a batch of 50, once")
    parser.add_argument("--breakdown", action="store_true", help="bytes per table and index")
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time in this process's CPU time (SQLite)"
    )
    args = parser.parse_args(argv)
    global _timer
    _timer = time.process_time if args.cpu_time else time.perf_counter
    if args.quick:
        args.sizes, args.batch, args.rounds = [200], 50, 1
    if args.rounds < 1 or args.batch < 1 or args.per_day < 1:
        parser.error("--rounds, --batch and --per-day must be at least 1")
    if args.database == "postgresql" and not args.postgres_url:
        parser.error(f"--database postgresql needs --postgres-url or ${POSTGRES_ENV}")
    store: Store = (
        PostgresStore(args.postgres_url) if args.database == "postgresql" else SqliteStore()
    )
    say = (lambda _line: None) if args.json else _say
    if isinstance(store, PostgresStore):
        _say(f"# databases {store.prefix}_* (dropped at the end)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the databases are dropped first
    try:
        results = measure_archives(
            store, args.sizes, batch=args.batch, rounds=args.rounds,
            breakdown=args.breakdown, workers=args.workers, say=say, per_day=args.per_day,
        )  # fmt: skip
    finally:
        store.close()
    if args.json:
        for result in results:
            print(json.dumps({"database": store.kind, **asdict(result)}))
        return 0
    timed = "CPU time of this process" if args.cpu_time else "wall clock"
    print(f"# {store.kind}, batch of {args.batch:,}, median of {args.rounds} round(s), {timed}")
    for line in table(results, store.kind, args.batch) + aims(results):
        print(line)
    if args.breakdown:
        for result in results[1:]:
            print()
            print("\n".join(breakdown(result, results[0])))
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- as a workload of the harness ------------------------------------------------------------


@dataclass
class Inputs:
    store: SqliteStore
    empty: Archive
    archive: Archive
    batches: list[list[Prepared]]
    folder: Path


def prepare_workload(size: int) -> Inputs:
    store = SqliteStore()
    folder = store.folder / "configs"
    empty = build_archive(store, 0, folder, workers=1)
    archive = build_archive(store, size, folder, workers=1)
    config = load_config(folder / "n0" / "config.yaml", environ={})
    return Inputs(
        store, empty, archive, prepare_batch(max(20, min(BATCH, size // 10)), config), folder
    )


def _ingest_into(archive: Callable[[Inputs], Archive]) -> Callable[[Inputs], object]:
    def ingest(inputs: Inputs) -> object:
        url = inputs.store.copy(archive(inputs).url, "round")
        config = load_config(write_config(inputs.folder / "round", url), environ={})
        try:
            return store_batch(url, config, inputs.batches)
        finally:
            inputs.store.drop(url)

    return ingest


INGEST_INTO_ARCHIVE = Workload(
    name="archive",
    description="store a batch of N/10 new articles into an archive of N (SQLite); "
    "`python -m bench archive` for the whole table",
    floor_name="the same batch into an empty archive",
    prepare=prepare_workload,
    floor=_ingest_into(lambda inputs: inputs.empty),
    subject=_ingest_into(lambda inputs: inputs.archive),
    size=10_000,
    quick_size=100,
    teardown=lambda inputs: inputs.store.close(),
    command=main,
)
