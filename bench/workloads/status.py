"""``mutualaid status`` over a year and more of ``runs``: 2 million rows across 200 sources.

Subject: the CLI run in-process (``status --json``: config, opening the database, the health
queries, the JSON) against a database holding N runs, hourly polls of 200 sources going back
N / 200 hours (2M rows: about 14 months), a daily crawl for one source in four, one poll in
twenty failed, one source in ten failing for its last 30 polls, and the daemon's own rebuild
and purge rows. Floor: the same command, in the same process, against a copy of that database
with the same sources and no runs at all. So the ratio is what the runs cost ``status``: it
stays near 1 when status reads only indexed or summary rows, and grows with N when it scans
them. The issue also states an absolute aim (0.5 s at 2M runs); the report gives both.

The runs are written with raw sqlite3 ``executemany`` into the migrated schema (fast); times
are stored as SQLAlchemy writes them on SQLite (naive UTC text with microseconds).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.storage import open_database
from aggregator.storage.sources import sync_sources
from bench.harness import Workload

SOURCES = 200
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
COLUMNS = (
    "source_id", "kind", "status", "started_at", "finished_at", "fetched", "new", "updated",
    "unchanged", "failed", "error", "complete",
)  # fmt: skip


@dataclass
class Inputs:
    folder: Path
    with_runs: Path  # config of the database with N runs
    without_runs: Path  # config of the same sources, no runs


def prepare(size: int) -> Inputs:
    folder = Path(tempfile.mkdtemp(prefix="bench-status-"))
    empty = _write_config(folder, "empty")
    _create(empty)
    full = _write_config(folder, "full")
    shutil.copyfile(folder / "empty.db", folder / "full.db")
    _insert_runs(folder / "full.db", size)
    return Inputs(folder, full, empty)


def _write_config(folder: Path, name: str) -> Path:
    sources = {
        f"s{number:03d}": {
            "homepage": f"https://s{number:03d}.example/",
            "feed": f"https://s{number:03d}.example/feed/",
        }
        for number in range(SOURCES)
    }
    config = {"database": {"url": f"sqlite:///{folder / f'{name}.db'}"}, "sources": sources}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _create(config_path: Path) -> None:
    config = load_config(config_path, environ={})
    database = open_database(config.database.url)
    with database.write_session() as session:
        sync_sources(session, config.sources, NOW)
    database.close()


def _insert_runs(path: Path, size: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    ids = [row[0] for row in connection.execute("SELECT id FROM sources ORDER BY name")]
    placeholders = ", ".join("?" for _ in COLUMNS)
    statement = f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    connection.execute("BEGIN")
    connection.executemany(statement, _rows(ids, size))
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def _rows(ids: list[int], size: int) -> Iterator[tuple[object, ...]]:
    """Oldest first, hour by hour: each source's poll (or crawl), then now and then the daemon's."""
    hours = max(size // (len(ids) + 1), 1)
    written = 0
    for hour in range(hours, 0, -1):
        at = NOW - timedelta(hours=hour)
        for position, source_id in enumerate(ids):
            yield _source_run(source_id, position, hour, at)
            written += 1
        kind = "purge" if hour % 24 == 0 else "rebuild"
        yield (None, kind, "ok", _text(at), _text(at + timedelta(seconds=3)), 0, 0, 0, 0, 0,
               None, None)  # fmt: skip
        written += 1
    while written < size:  # the remainder: more polls of the first source, a year ago
        yield _source_run(ids[0], 0, hours + 1 + written, NOW - timedelta(days=400))
        written += 1


def _source_run(source_id: int, position: int, hour: int, at: datetime) -> tuple[object, ...]:
    crawl = position % 4 == 0 and hour % 24 == 0
    failing = position % 10 == 0 and hour <= 30
    failed = failing or (hour * 7 + position) % 20 == 0
    fetched, new = (0, 0) if failed else (20, hour % 3)
    return (
        source_id,
        "crawl" if crawl else "poll",
        "failed" if failed else "ok",
        _text(at),
        _text(at + timedelta(seconds=2)),
        fetched,
        new,
        hour % 2,
        fetched - new,
        1 if failed else 0,
        f"HTTP 503 from s{position:03d}.example" if failed else None,
        True if crawl else None,
    )


def _text(moment: datetime) -> str:
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def status_of(config_path: Path) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["-c", str(config_path), "status", "--json"])
    if code != 0:
        raise RuntimeError(f"status exited {code}")


STATUS = Workload(
    name="status-runs",
    description="mutualaid status --json over N runs of 200 sources",
    floor_name="the same status with the same sources and no runs",
    prepare=prepare,
    floor=lambda inputs: status_of(inputs.without_runs),
    subject=lambda inputs: status_of(inputs.with_runs),
    size=2_000_000,
    quick_size=2000,
    target=1.5,
    teardown=lambda inputs: shutil.rmtree(inputs.folder, ignore_errors=True),
)
