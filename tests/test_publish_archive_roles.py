"""``feed build`` by a PostgreSQL role that may read the tables but not lock ``article_changes``.

The role is made here and dropped after. Its builds must write what a build from nothing
writes, say in one warning line that the mark was read without the lock, and never take a
mark past a change that another transaction has not committed yet.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text, update

from aggregator.config import Config
from aggregator.publish.write import write_site
from aggregator.storage import Database, changes, open_database
from aggregator.storage.database import make_engine
from aggregator.storage.models import Article
from tests.publish_data import Row, add_sources, insert_rows
from tests.test_publish_archive import SOURCES, _rows, configured
from tests.test_publish_archive_changes import _bytes, newest

pytestmark = pytest.mark.postgres


@pytest.fixture
def reader(postgres_url: str) -> Iterator[tuple[Database, Database]]:
    """The writer's database (the owner) and the same schema opened as a role that may only
    ``SELECT`` (so not ``LOCK ... IN SHARE MODE``)."""
    owner = open_database(postgres_url)
    role = f"mutualaid_reader_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_url)
    schema = url.query["options"].removeprefix("-csearch_path=")
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
    read_only = open_database(url.set(username=role).render_as_string(hide_password=False))
    try:
        yield owner, read_only
    finally:
        read_only.close()
        owner.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.fixture
def site(reader: tuple[Database, Database], tmp_path: Path) -> tuple[Database, Database, Config]:
    owner, read_only = reader
    add_sources(owner, *SOURCES)
    insert_rows(owner, _rows())
    (tmp_path / "site").mkdir()
    return owner, read_only, configured(tmp_path / "site", read_only.url)


def _settled(database: Database) -> int:
    """The mark, once the cluster's other transactions let it settle (other tests share it)."""
    deadline = time.monotonic() + 60
    while True:
        mark = changes.settled_mark(database)
        if mark is not None or time.monotonic() > deadline:
            assert mark is not None
            return mark


def test_a_role_that_cannot_lock_still_builds_what_a_whole_build_writes(
    site: tuple[Database, Database, Config], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    owner, read_only, config = site
    with caplog.at_level(logging.WARNING, logger="aggregator.storage.changes"):
        first = write_site(read_only, config)
    warnings = [record for record in caplog.records if "may not lock" in record.getMessage()]
    assert warnings and all(record.exc_info is None for record in warnings)
    assert "\n" not in warnings[0].getMessage()
    newest(owner)
    report = write_site(read_only, config)
    (tmp_path / "fresh").mkdir()
    fresh = configured(tmp_path / "fresh", owner.url)
    write_site(owner, fresh)
    assert _bytes(config.output.dir) == _bytes(fresh.output.dir)
    assert len(report.written) < len(first.written)
    assert _settled(read_only) == changes.settled_mark(owner)


def test_without_the_lock_the_mark_never_passes_an_uncommitted_change(
    site: tuple[Database, Database, Config],
) -> None:
    owner, read_only, _ = site
    with owner.engine.connect() as busy:
        busy.execute(update(Article).where(Article.id == 1).values(title="Not yet committed"))
        (pending,) = busy.execute(
            text("SELECT seq FROM article_changes WHERE article_id = 1")
        ).one()
        insert_rows(owner, [Row(id=20, source_id=2)])  # committed, numbered above it
        mark = changes.settled_mark(read_only)
        assert mark is None or mark < pending
        busy.commit()
    assert _settled(read_only) >= pending
