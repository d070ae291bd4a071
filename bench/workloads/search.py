"""Full-text search latency as the archive grows, against a primary-key lookup.

``python -m bench search [--sizes 10k,100k] [--database sqlite|postgresql] [--rounds 21]``
builds archives of realistic synthetic articles (``bench.archive_data``, as the archive
benchmark does), then times, interleaved round by round in one process on one open database:

- the floor: one article's row read by its primary key (``storage.published.rows_by_id``, what
  a page about one article reads), a different id each round;
- each typical query through ``storage.search.search`` (the published articles only, best 20
  first, with their snippets): one word, two words, a phrase, and a word at one source;

and reports each query's median and its ratio to the floor's median. The query words are
topic terms the generator sprinkles into about half the articles, so each matches thousands
of articles at 100k: the cost of ranking many matches, not of finding a rare word.

Registered as a workload too (``python -m bench search`` with no options is the table):
the two-word query against the key lookup at 10k articles, on SQLite.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aggregator.config import load_config
from aggregator.search.query import parse_query
from aggregator.storage import Database, open_database
from aggregator.storage.published import PublishPolicy, rows_by_id
from aggregator.storage.search import search
from bench.archive_store import PostgresStore, SqliteStore, Store
from bench.harness import Workload
from bench.workloads.archive import POSTGRES_ENV, Archive, build_archive, parse_sizes

QUERIES = {
    "one word": "solidarity",
    "two words": "tenant union",
    "a phrase": '"mutual aid"',
    "a word at one source": "cooperative source:source3",
}
LIMIT = 20


@dataclass
class Measured:
    size: int
    build_seconds: float
    lookup: float  # median seconds
    queries: dict[str, float]  # median seconds per query name
    matches: dict[str, int]  # results on the first page, per query (a check it searched)


def _policy(archive: Archive, folder: Path) -> PublishPolicy:
    config = load_config(folder / f"n{archive.size}" / "config.yaml", environ={})
    return PublishPolicy.from_config(config)


def _lookup(database: Database, article_id: int) -> int:
    with database.session() as session:
        return len(rows_by_id(session, [article_id]))


def _search(database: Database, policy: PublishPolicy, text: str) -> int:
    with database.session() as session:
        return len(search(session, parse_query(text), policy, LIMIT))


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure_size(
    store: Store, size: int, rounds: int, workers: int, folder: Path, say: Callable[[str], None]
) -> Measured:
    archive = build_archive(store, size, folder, workers)
    say(f"# archive of {size:,} built in {archive.build_seconds:.1f} s")
    policy = _policy(archive, folder)
    database = open_database(archive.url)
    chance = random.Random(size)
    lookups: list[float] = []
    timings: dict[str, list[float]] = {name: [] for name in QUERIES}
    try:
        matches = {name: _search(database, policy, text) for name, text in QUERIES.items()}
        for _ in range(rounds):  # the first query of each kind above was the warm-up
            article_id = chance.randrange(1, size + 1)
            lookups.append(_timed(lambda: _lookup(database, article_id)))  # noqa: B023
            for name, text in QUERIES.items():
                timings[name].append(_timed(lambda: _search(database, policy, text)))  # noqa: B023
    finally:
        database.close()
        store.drop(archive.url)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    return Measured(size, archive.build_seconds, statistics.median(lookups), medians, matches)


def header(kind: str) -> list[str]:
    """The Markdown table's head: per size, the key lookup and each query (ms and ratio)."""
    head = ["articles", "key lookup", *QUERIES]
    return [
        f"# search on {kind}, median of each; (Nx): times the key lookup",
        f"| {' | '.join(head)} |",
        f"|{'---|' * len(head)}",
    ]


def row(result: Measured) -> str:
    cells = [f"{result.size:,}", f"{result.lookup * 1000:.2f} ms"]
    cells += [
        f"{seconds * 1000:.1f} ms ({seconds / result.lookup:.0f}x)"
        for seconds in result.queries.values()
    ]
    return f"| {' | '.join(cells)} |"


def main(argv: list[str] | None = None) -> int:
    """``python -m bench search``: search latency at each size, as a ratio to a key lookup."""
    parser = argparse.ArgumentParser(
        prog="python -m bench search",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=parse_sizes, default=[10_000, 100_000])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--rounds", type=int, default=21, help="rounds per size (median taken)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="one size of 200, 3 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds = [200], 3
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.database == "postgresql" and not args.postgres_url:
        parser.error(f"--database postgresql needs --postgres-url or ${POSTGRES_ENV}")
    store: Store = (
        PostgresStore(args.postgres_url) if args.database == "postgresql" else SqliteStore()
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the databases are dropped first
    folder = Path(tempfile.mkdtemp(prefix="bench-search-config-"))
    print("\n".join(header(args.database)), flush=True)
    try:
        for size in args.sizes:  # each row as soon as it is measured: a 100k archive takes long
            result = measure_size(store, size, args.rounds, args.workers, folder, _say)
            _say(f"# {size:,}: first-page results {result.matches}")
            print(row(result), flush=True)
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- as a workload of the harness ------------------------------------------------------------


@dataclass
class Inputs:
    store: SqliteStore
    database: Database
    policy: PublishPolicy
    size: int
    folder: Path


def prepare_workload(size: int) -> Inputs:
    store = SqliteStore()
    folder = store.folder / "configs"
    archive = build_archive(store, size, folder, workers=1)
    return Inputs(store, open_database(archive.url), _policy(archive, folder), size, folder)


def _teardown(inputs: Inputs) -> None:
    inputs.database.close()
    inputs.store.close()


SEARCH = Workload(
    name="search",
    description="search an archive of N for two words, best 20 with snippets (SQLite); "
    "`python -m bench search` for 10k and 100k on either database",
    floor_name="one article read by its key",
    prepare=prepare_workload,
    floor=lambda inputs: _lookup(inputs.database, inputs.size // 2),
    subject=lambda inputs: _search(inputs.database, inputs.policy, QUERIES["two words"]),
    size=10_000,
    quick_size=200,
    teardown=_teardown,
    command=main,
)
