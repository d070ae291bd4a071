"""Batched article inserts through our storage layer, against raw sqlite3 ``executemany``.

Both sides write the same rows, in one transaction, into a fresh copy of the same migrated
database in the same journal mode (WAL, synchronous NORMAL); only the insert is timed. The ratio
is the cost of SQLAlchemy and our column types over the bare driver.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from aggregator.storage import open_database
from aggregator.storage.models import Article, Source
from bench.harness import Workload

START = datetime(2026, 1, 1, tzinfo=UTC)
PARAGRAPH = (
    "Mutual aid is the practice of people meeting each other's needs directly, without waiting "
    "for charity or the state, and it has a long history in unions, cooperatives and neighbours. "
)


@dataclass
class Inputs:
    folder: Path
    template: Path
    rows: list[dict[str, Any]]
    copies: int = 0


@dataclass(frozen=True)
class Target:
    path: Path
    rows: list[dict[str, Any]]


def prepare(size: int) -> Inputs:
    folder = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    template = folder / "template.db"
    database = open_database(f"sqlite:///{template}")
    with database.session() as session:
        session.execute(
            insert(Source),
            [{"id": 1, "name": "bench", "homepage": "https://example.org/", "created_at": START}],
        )
    database.close()
    return Inputs(folder, template, [_row(number) for number in range(size)])


def _row(number: int) -> dict[str, Any]:
    text = f"{PARAGRAPH * 20}{number}"
    moment = START + timedelta(minutes=number)
    return {
        "canonical_url": f"https://example.org/{number:06d}/essay/",
        "guid": f"https://example.org/?p={number}",
        "primary_source_id": 1,
        "title": f"Essay {number}",
        "author": "A. Writer",
        "published_at": moment,
        "updated_at": None,
        "date_estimated": False,
        "first_seen_at": moment,
        "last_changed_at": moment,
        "text": text,
        "html": f"<p>{text}</p>",
        "language": "en",
        "tags": ["mutual aid", "cooperatives"],
        "word_count": len(text.split()),
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "simhash": number * 7919 - 2**62,
        "relevance": 0.8,
        "matched_terms": {"mutual aid": 1},
    }


def fresh_copy(inputs: Inputs) -> Target:
    inputs.copies += 1
    path = inputs.folder / f"copy-{inputs.copies}.db"
    shutil.copyfile(inputs.template, path)
    return Target(path, inputs.rows)


def insert_with_storage(target: Target) -> None:
    database = open_database(f"sqlite:///{target.path}")
    with database.session() as session:
        session.execute(insert(Article), target.rows)
    database.close()


def insert_with_sqlite3(target: Target) -> None:
    connection = sqlite3.connect(target.path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    columns = list(target.rows[0])
    placeholders = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO articles ({', '.join(columns)}) VALUES ({placeholders})"
    connection.execute("BEGIN")
    connection.executemany(statement, (_plain(row) for row in target.rows))
    connection.execute("COMMIT")
    connection.close()


def _plain(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a hand-written sqlite3 writer would pass: ISO text for times, JSON for lists."""
    values: list[Any] = []
    for value in row.values():
        if isinstance(value, datetime):
            values.append(value.replace(tzinfo=None).isoformat(sep=" "))
        elif isinstance(value, list | dict):
            values.append(json.dumps(value))
        else:
            values.append(value)
    return tuple(values)


BATCH_INSERT = Workload(
    name="storage-batch-insert",
    description="insert N articles in one transaction through aggregator.storage",
    floor_name="raw sqlite3 executemany, same journal mode",
    prepare=prepare,
    before_each=fresh_copy,
    floor=insert_with_sqlite3,
    subject=insert_with_storage,
    size=5000,
    quick_size=200,
    target=1.5,
    teardown=lambda inputs: shutil.rmtree(inputs.folder, ignore_errors=True),
)
