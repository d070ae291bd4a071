"""A build plans the archive from what changed since the last one (``publish/archive_delta.py``).

Each step changes the database the way some writer does (ingest, a curator, a purge, a hand
edit), builds into the same folder, and compares the folder with a build from nothing into
another: the same files with the same bytes. The build of changes must also have planned only
part of the archive. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from aggregator.config import Config
from aggregator.publish import archive_state, write
from aggregator.publish.manifest import (
    ARCHIVE_MANIFEST,
    SHARDS,
    ArchiveRecord,
    prune_seen_changes,
)
from aggregator.publish.write import MANIFEST, WRITING, PublishError, Written, write_site
from aggregator.storage import Database, article_feeds, changes, decisions, open_database
from aggregator.storage.models import Article, ArticleChange, Sighting
from tests.publish_data import NOW, Row, add_sources, insert_rows
from tests.test_publish_archive import built_files, configured, dangling_links, site

__all__ = ["site"]  # the fixture, used by name

Change = Callable[[Database], None]
DAY = timedelta(days=1)


def _refile(database: Database, ids: list[int], *statements: object) -> None:
    with database.write_session() as session:
        for statement in statements:
            session.execute(statement)  # type: ignore[call-overload]
        article_feeds.refresh(session, ids)


def newest(database: Database) -> None:
    insert_rows(database, [Row(id=9, source_id=2, tags=("Housing",), published_at=NOW)])


def found_late(database: Database) -> None:
    """Older than every other: the pages after its place shift."""
    insert_rows(database, [Row(id=10, source_id=1, published_at=NOW - 90 * DAY)])


def retitled_and_retagged(database: Database) -> None:
    values = {
        "title": "Essay 3, revised",
        "tags": ["MUTUAL AID", "Co-ops"],
        "last_changed_at": NOW + DAY,  # as ingest records a change of text or title
    }
    _refile(database, [3], update(Article).where(Article.id == 3).values(**values))


def redated(database: Database) -> None:
    """Into another month, and to the front of its listings."""
    moved = update(Article).where(Article.id == 6).values(published_at=NOW + DAY)
    _refile(database, [6], moved)


def held(database: Database) -> None:
    with database.write_session() as session:
        decisions.decide(session, 2, "hold", NOW, None)


def first_of_its_source(database: Database) -> None:
    """Quiet's listing went with essay 2 (held); article 7 (quiet's own) brings it back."""
    edit = update(Article).where(Article.id == 7).values(relevance=9.0, last_changed_at=NOW)
    _refile(database, [7], edit)


def released(database: Database) -> None:
    with database.write_session() as session:
        decisions.clear(session, 2)


def seen_elsewhere(database: Database) -> None:
    sighting = {
        "article_id": 4,
        "source_id": 3,
        "url": "https://quiet.example/4",
        "guid": None,
        "first_seen_at": NOW,
        "last_seen_at": NOW,
    }
    _refile(database, [4], insert(Sighting).values(sighting))


def purged(database: Database) -> None:
    with database.write_session() as session:
        session.execute(delete(Article).where(Article.id == 5))


def unpublished_edit(database: Database) -> None:
    """An article below the threshold, stored then edited: it shows nowhere."""
    insert_rows(database, [Row(id=11, source_id=3, relevance=0.0)])
    edit = update(Article).where(Article.id == 11).values(title="Still not", last_changed_at=NOW)
    _refile(database, [11], edit)


def every_article_gone(database: Database) -> None:
    with database.write_session() as session:
        session.execute(delete(Article))


STEPS = [
    newest,
    found_late,
    retitled_and_retagged,
    redated,
    held,
    first_of_its_source,
    released,
    seen_elsewhere,
    purged,
    unpublished_edit,
    every_article_gone,
]


def _bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in built_files(folder)}


def test_each_change_leaves_what_a_whole_build_writes(
    site: tuple[Database, Config], tmp_path: Path
) -> None:
    database, config = site
    folder = config.output.dir
    whole = write_site(database, config)
    for number, step in enumerate(STEPS):
        step(database)
        report = write_site(database, config)
        (tmp_path / f"fresh-{number}").mkdir()
        fresh = configured(tmp_path / f"fresh-{number}", database.url)
        write_site(database, fresh)
        assert _bytes(folder) == _bytes(fresh.output.dir), step.__name__
        assert dangling_links(folder) == [], step.__name__
        assert len(report.written) < len(whole.written), step.__name__


def test_nothing_new_plans_only_the_lists(site: tuple[Database, Config]) -> None:
    database, config = site
    first = write_site(database, config)
    archive = [w.path for w in first.written if w.path.startswith(("articles/", "archive/"))]
    assert len(archive) > 8
    again = write_site(database, config)
    planned = {w.path for w in again.written}
    assert not any(path.startswith(("articles/", "archive/2")) for path in planned)
    assert {"sources/index.html", "tags/index.html", "archive/index.html"} <= planned
    assert not any(w.changed for w in again.written) and again.removed == []


def test_a_new_article_plans_its_own_pages_only(site: tuple[Database, Config]) -> None:
    database, config = site
    write_site(database, config)
    newest(database)
    report = write_site(database, config)
    articles = {w.path for w in report.written if w.path.startswith("articles/")}
    assert articles == {"articles/9.html"}


def test_a_changed_setting_plans_the_whole_archive(site: tuple[Database, Config]) -> None:
    database, config = site
    first = write_site(database, config)
    bigger = configured(config.output.dir.parent, database.url, page_size=5)
    report = write_site(database, bigger)
    pages = {w.path for w in first.written if w.path.startswith("articles/")}
    assert pages <= {w.path for w in report.written}


def test_changes_are_marked_by_triggers_for_every_writer(database: Database) -> None:
    """Whatever writes (these statements, not the publishing code), the article's mark rises."""
    add_sources(database, "blog")
    insert_rows(database, [Row(id=1), Row(id=2)])
    mark = changes.settled_mark(database)
    assert mark is not None
    with database.session() as session:
        assert changes.changed_since(session, mark) == []
        assert changes.changed_since(session, 0) == [1, 2]
    with database.write_session() as session:
        session.execute(update(Article).where(Article.id == 2).values(title="New title"))
    with database.session() as session:
        assert changes.changed_since(session, mark) == [2]
    later = changes.settled_mark(database)
    assert later is not None and later > mark
    seen_again = update(Sighting).where(Sighting.article_id == 1)
    with database.write_session() as session:  # as ingest does: article_id set, to the same
        session.execute(seen_again.values(last_seen_at=NOW, article_id=1))
    with database.session() as session:
        assert changes.changed_since(session, later) == []  # nothing to show
    with database.write_session() as session:  # the sighting moves to article 2
        session.execute(seen_again.values(article_id=2))
    with database.session() as session:
        assert changes.changed_since(session, later) == [1, 2]
    later = changes.settled_mark(database)
    assert later is not None
    with database.write_session() as session:
        session.execute(delete(Article).where(Article.id == 1))
    with database.session() as session:
        assert changes.changed_since(session, later) == [1]


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    opened = open_database(database_url)
    yield opened
    opened.close()


def test_a_build_killed_mid_write_is_cleaned_up_after(site: tuple[Database, Config]) -> None:
    """Its mark says it was writing; the next build removes its temporary files and mark."""
    database, config = site
    folder = config.output.dir
    write_site(database, config)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id no process has now
    left = folder / "articles" / f".1.html.{dead.pid}.x1y2.tmp"
    left.write_bytes(b"half a page")
    (folder / f"{WRITING}.{dead.pid}").touch()
    report = write_site(database, config)
    assert not left.exists()
    assert not list(folder.glob(f"{WRITING}.*"))
    assert not any(written.changed for written in report.written)


def test_deleting_the_manifest_checks_every_page_again(site: tuple[Database, Config]) -> None:
    database, config = site
    folder = config.output.dir
    first = write_site(database, config)
    (folder / "articles" / "1.html").unlink()
    write_site(database, config)  # a page deleted by hand is not looked for ...
    assert not (folder / "articles" / "1.html").exists()
    (folder / MANIFEST).unlink()
    again = write_site(database, config)  # ... until the manifest goes
    assert (folder / "articles" / "1.html").is_file()
    assert {w.path for w in again.written} == {w.path for w in first.written}
    assert {w.path for w in again.written if w.changed} == {"articles/1.html"}


def test_a_database_restored_from_before_the_last_build_is_planned_whole(
    site: tuple[Database, Config], tmp_path: Path
) -> None:
    """The restored database's marks are below the manifest's: its changes are not skipped."""
    database, config = site
    if database.engine.dialect.name != "sqlite":
        pytest.skip("restored here by SQLite's backup API")
    live = str(database.engine.url.database)
    write_site(database, config)
    backup = tmp_path / "backup.db"
    with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
        source.backup(target)
    newest(database)
    write_site(database, config)  # its mark passes every mark the backup holds
    database.engine.dispose()
    with sqlite3.connect(backup) as source, sqlite3.connect(live) as target:
        source.backup(target)
    retitled_and_retagged(database)
    write_site(database, config)
    (tmp_path / "fresh").mkdir()
    fresh = configured(tmp_path / "fresh", database.url)
    write_site(database, fresh)
    assert _bytes(config.output.dir) == _bytes(fresh.output.dir)


def test_what_an_earlier_process_with_this_id_left_is_cleaned_up(
    site: tuple[Database, Config],
) -> None:
    """A daemon restarted in a container is often process 1 again: a temporary file and a
    mark named with this very process's id, which it does not hold, are a killed build's."""
    database, config = site
    folder = config.output.dir
    write_site(database, config)
    left = folder / "articles" / f".1.html.{os.getpid()}.x1y2.tmp"
    left.write_bytes(b"half a page")
    (folder / f"{WRITING}.{os.getpid()}").touch()
    write_site(database, config)
    assert not left.exists()
    assert not list(folder.glob(f"{WRITING}.*"))


def _change_rows(database: Database) -> dict[int, int]:
    with database.session() as session:
        rows = session.execute(select(ArticleChange.article_id, ArticleChange.seq))
        return {int(article_id): int(seq) for article_id, seq in rows}


def _purge(database: Database, *ids: int) -> None:
    with database.write_session() as session:
        session.execute(delete(Article).where(Article.id.in_(ids)))


def test_retention_prunes_the_change_rows_of_purged_articles_once_a_build_saw_them(
    site: tuple[Database, Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, config = site
    folder = config.output.dir
    monkeypatch.setattr(changes, "PRUNE_WINDOW", 2)  # several windows
    assert prune_seen_changes(database, folder) == 0  # no build yet: nothing known seen
    write_site(database, config)
    _purge(database, 1, 5)
    assert prune_seen_changes(database, folder) == 0  # no build has seen them yet
    write_site(database, config)
    _purge(database, 3)  # the newest change: seen by no build yet
    assert prune_seen_changes(database, folder) == 2
    assert set(_change_rows(database)) == {2, 3, 4, 6, 7, 8}
    write_site(database, config)
    assert prune_seen_changes(database, folder) == 0  # 3 holds the highest seq: it stays
    again = write_site(database, config)  # nothing new: not taken for a restored database
    assert not any(w.path.startswith("articles/") for w in again.written)
    newest(database)  # numbered above every mark, though rows below went
    assert _change_rows(database)[9] > max(
        seq for key, seq in _change_rows(database).items() if key != 9
    )
    write_site(database, config)
    (tmp_path / "fresh").mkdir()
    fresh = configured(tmp_path / "fresh", database.url)
    write_site(database, fresh)
    assert _bytes(folder) == _bytes(fresh.output.dir)


def _shards(folder: Path) -> dict[str, int]:
    """Each shard of the archive's manifest, by key, with its inode (a rewrite replaces it)."""
    root = folder / SHARDS
    return {
        path.relative_to(root).as_posix().removesuffix(".json"): path.stat().st_ino
        for path in root.rglob("*.json")
    }


def test_a_change_reads_and_rewrites_only_the_shards_it_touches(
    site: tuple[Database, Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, config = site
    folder = config.output.dir
    monkeypatch.setattr(archive_state, "ARTICLES_PER_SHARD", 2)
    write_site(database, config)
    before = _shards(folder)
    read: list[str] = []
    shard = ArchiveRecord.shard

    def counted(record: ArchiveRecord, key: str) -> dict[str, Any]:
        read.append(key)
        return shard(record, key)

    monkeypatch.setattr(ArchiveRecord, "shard", counted)
    newest(database)  # article 9: its shard, its source's, tag's and month's listings
    write_site(database, config)
    after = _shards(folder)
    rewritten = {key for key, inode in after.items() if before.get(key) != inode}
    kept = json.loads((folder / SHARDS / "articles" / "4.json").read_text(encoding="utf-8"))
    (row,) = [row for row in kept["articles"] if row[0] == 9]
    listings = {kept["folders"][place] for place in row[4]} | {archive_state.month_folder(row[3])}
    assert rewritten == {"articles/4"} | listings
    assert rewritten <= set(read) and len(set(read)) < len(before)


def test_a_build_stopped_among_its_shards_leaves_the_next_to_plan_whole(
    site: tuple[Database, Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard written (the new article's month: it lists the article), not the others (its
    article's) nor the index that names them: it is not the index's, and the next build plans
    the whole archive rather than trust it."""
    database, config = site
    write_site(database, config)
    newest(database)
    real = write.write_file

    def full_disk(folder: Path, relative: str, data: bytes, durable: bool = True) -> Written:
        if relative.startswith(f"{SHARDS}/articles/"):
            raise PublishError("disk full")
        return real(folder, relative, data, durable)

    monkeypatch.setattr(write, "write_file", full_disk)
    with pytest.raises(PublishError):
        write_site(database, config)
    monkeypatch.undo()
    retitled_and_retagged(database)
    write_site(database, config)
    (tmp_path / "fresh").mkdir()
    fresh = configured(tmp_path / "fresh", database.url)
    write_site(database, fresh)
    assert _bytes(config.output.dir) == _bytes(fresh.output.dir)


def test_a_whole_plan_after_a_stopped_build_removes_what_is_no_longer_built(
    site: tuple[Database, Config], tmp_path: Path
) -> None:
    """An index that is not the head's (a build stopped before the small manifest): the next
    build plans the whole archive, and still removes the pages it no longer has."""
    database, config = site
    folder = config.output.dir
    write_site(database, config)
    index = json.loads((folder / ARCHIVE_MANIFEST).read_text(encoding="utf-8"))
    (folder / ARCHIVE_MANIFEST).write_text(json.dumps({**index, "token": "0" * 16}), "utf-8")
    purged(database)
    write_site(database, config)
    assert not (folder / "articles" / "5.html").exists()
    (tmp_path / "fresh").mkdir()
    fresh = configured(tmp_path / "fresh", database.url)
    write_site(database, fresh)
    assert _bytes(folder) == _bytes(fresh.output.dir)
