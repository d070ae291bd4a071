"""Where the archive benchmark keeps its databases, and how it copies, measures and drops them.

SQLite: files in a temporary folder; a round's copy is a file copy. PostgreSQL: databases of
their own on the server named by a URL (``bench_archive_<run>_...``), a round's copy made with
``CREATE DATABASE ... TEMPLATE``; every database the run made is dropped at the end, and no
other is touched. Sizes: SQLite's pages in use (and ``dbstat`` per table and index), PostgreSQL's
``pg_total_relation_size`` (and ``pg_relation_size`` per table, TOAST and index).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, insert, make_url, text

from aggregator.storage import Database
from aggregator.storage.engine import normalise_url
from aggregator.storage.types import decompress_text


@dataclass(frozen=True)
class Part:
    """One table or index and the bytes it holds."""

    name: str
    table: str
    kind: str  # table, toast or index
    size: int


class Store:
    """Databases of one run on one kind of database."""

    kind: str

    def load(self, database: Database, rows: Sequence[tuple[Table, list[dict[str, Any]]]]) -> None:
        """Insert ``rows`` (per table, in order) in one transaction: an ``executemany``."""
        with database.session() as session:
            for table, values in rows:
                if values:
                    session.execute(insert(table), values)

    def new_url(self, name: str) -> str:
        raise NotImplementedError

    def reclaim(self, database: Database, table: Table) -> None:
        """Make the room of deleted rows reusable (SQLite reuses free pages by itself)."""

    def copy(self, url: str, name: str) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        raise NotImplementedError

    def size(self, url: str) -> int:
        """Bytes the database's tables and indexes take."""
        raise NotImplementedError

    def parts(self, url: str) -> list[Part]:
        raise NotImplementedError

    def column_bytes(self, url: str, column: str, stored: bool = False) -> int:
        """Bytes ``articles.<column>`` holds over all rows; ``stored``: as stored (PostgreSQL
        compresses long values), else as text."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


@dataclass
class SqliteStore(Store):
    kind = "sqlite"
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-archive-")))

    def new_url(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.db"

    def copy(self, url: str, name: str) -> str:
        self._checkpoint(url)
        target = self.new_url(name)
        shutil.copyfile(_path(url), _path(target))
        return target

    def drop(self, url: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_path(url)}{suffix}").unlink(missing_ok=True)

    def size(self, url: str) -> int:
        with self._connect(url) as connection:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            free = connection.execute("PRAGMA freelist_count").fetchone()[0]
            page = connection.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * page)

    def parts(self, url: str) -> list[Part]:
        query = (
            "SELECT d.name, m.tbl_name, m.type, sum(d.pgsize) FROM dbstat d "
            "JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name ORDER BY 4 DESC"
        )
        with self._connect(url) as connection:
            rows = connection.execute(query).fetchall()
        return [Part(name, table, kind, int(size)) for name, table, kind, size in rows]

    def column_bytes(self, url: str, column: str, stored: bool = False) -> int:
        value = column if stored else f"as_text({column})"  # compressed HTML as its text's
        query = f"SELECT coalesce(sum(length(CAST({value} AS BLOB))), 0) FROM articles"
        with self._connect(url) as connection:
            connection.create_function("as_text", 1, _as_text, deterministic=True)
            return int(connection.execute(query).fetchone()[0])

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _checkpoint(self, url: str) -> None:
        with self._connect(url) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _connect(self, url: str) -> sqlite3.Connection:
        return sqlite3.connect(_path(url))


def _as_text(value: object) -> object:
    """A value as the model reads it: compressed text decompressed (``CompressedText``)."""
    return decompress_text(value) if isinstance(value, str | bytes) else value


def _copyable(value: object) -> object:
    from psycopg.types.json import Json  # only with PostgreSQL, whose driver is an extra

    return Json(value) if isinstance(value, dict | list) else value


def _path(url: str) -> str:
    return str(make_url(url).database)


class PostgresStore(Store):
    """Databases of this run only, on the server of ``server_url``."""

    kind = "postgresql"

    def __init__(self, server_url: str) -> None:
        self.server_url = normalise_url(server_url)
        self.prefix = f"bench_archive_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def new_url(self, name: str) -> str:
        return self._create(name, "")

    def copy(self, url: str, name: str) -> str:
        return self._create(name, f' TEMPLATE "{make_url(url).database}"')

    def drop(self, url: str) -> None:
        database = make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if database in self.made:
            self.made.remove(database)

    def size(self, url: str) -> int:
        query = (
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        return int(self._scalar(url, query))

    def parts(self, url: str) -> list[Part]:
        query = """
            SELECT c.relname, c.relname, 'table', pg_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
            UNION ALL
            SELECT c.relname || ' (TOAST)', c.relname, 'toast',
                   pg_table_size(c.oid) - pg_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
            UNION ALL
            SELECT i.indexname, i.tablename, 'index',
                   pg_relation_size(format('%I.%I', i.schemaname, i.indexname)::regclass)
            FROM pg_indexes i WHERE i.schemaname = 'public'
            ORDER BY 4 DESC
        """
        engine = create_engine(normalise_url(url))
        try:
            with engine.connect() as connection:
                rows = connection.execute(text(query)).all()
        finally:
            engine.dispose()
        return [Part(name, table, kind, int(size)) for name, table, kind, size in rows]

    def column_bytes(self, url: str, column: str, stored: bool = False) -> int:
        size = f"pg_column_size({column})" if stored else f"octet_length({column}::text)"
        return int(self._scalar(url, f"SELECT coalesce(sum({size}), 0) FROM articles"))

    def load(self, database: Database, rows: Sequence[tuple[Table, list[dict[str, Any]]]]) -> None:
        """``COPY``, some ten times faster than inserts for a bulk load."""
        connection = database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for table, values in rows:
                if not values:
                    continue
                names = list(values[0])
                with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row([_copyable(row[name]) for name in names])
            connection.commit()
        finally:
            connection.close()

    def reclaim(self, database: Database, table: Table) -> None:
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f"VACUUM {table.name}")
            )

    def settle(self, url: str) -> None:
        """After a bulk load with explicit article ids: the id sequence moved past them, and
        the statistics gathered (what autovacuum would have done long since)."""
        engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
        sequence = (
            "SELECT setval(pg_get_serial_sequence('articles', 'id'), "
            "coalesce(max(id), 0) + 1, false) FROM articles"
        )
        try:
            with engine.connect() as connection:
                connection.execute(text(sequence))
                connection.execute(text("VACUUM ANALYZE"))
        finally:
            engine.dispose()

    def close(self) -> None:
        for database in list(self.made):
            self.drop(self._url(database))
        self.admin.dispose()

    def _create(self, name: str, template: str) -> str:
        database = f"{self.prefix}_{name}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"{template}'))
        self.made.append(database)
        return self._url(database)

    def _url(self, database: str) -> str:
        return self.server_url.set(database=database).render_as_string(hide_password=False)

    def _scalar(self, url: str, query: str) -> object:
        engine = create_engine(normalise_url(url))
        try:
            with engine.connect() as connection:
                return connection.execute(text(query)).scalar_one()
        finally:
            engine.dispose()
