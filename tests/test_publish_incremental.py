"""``feed build`` renders and writes only the files whose content changed since the last build.

Files are compared by inode and modification time (a rewrite replaces the inode); rendering is
counted by wrapping the renderer the build calls. The articles table is filled directly, then
filed under its feeds as ingest files it (``publish_data.insert_rows``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import Config
from aggregator.publish import build
from aggregator.publish.write import MANIFESTS, write_site
from aggregator.storage import Database, open_database
from tests.publish_data import NOW, Row, add_sources, insert_rows, publish_config

SOURCES = {
    "news": {"homepage": "https://news.example/"},
    "blog": {"homepage": "https://blog.example/", "relevance": "keep_all"},
    "quiet": {"homepage": "https://quiet.example/"},
}
COMBINED = {"feed.atom", "feed.rss", "feed.json", "index.html"}


def _rows() -> list[Row]:
    hour = timedelta(hours=1)
    return [
        Row(id=1, source_id=1, tags=("Mutual aid",), published_at=NOW - 1 * hour),
        Row(id=2, source_id=2, relevance=0.0, tags=("Co-ops",), published_at=NOW - 2 * hour),
        Row(id=3, source_id=3, tags=("Housing",), published_at=NOW - 3 * hour),
        Row(id=4, source_id=1, tags=("Housing", "Mutual aid"), published_at=NOW - 4 * hour),
    ]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    database = open_database(url)
    add_sources(database, "news", "blog", "quiet")
    insert_rows(database, _rows())
    yield database, tmp_path
    database.close()


def configured(folder: Path, url: str, **output: Any) -> Config:
    """The feeds only: the archive's own rebuilds are tests/test_publish_archive.py's."""
    return publish_config(folder, url, SOURCES, **{"archive": {"enabled": False}, **output})


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Each published file's (inode, mtime in ns); the manifest left out."""
    return {
        path.relative_to(folder).as_posix(): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file() and path.name not in MANIFESTS
    }


def rewritten(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    return {path for path, stamp in after.items() if before.get(path) != stamp}


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the feeds the build renders, as it renders them."""
    rendered: list[str] = []
    real: Callable[..., bytes] = build.render_feed

    def counting(feed: Any, format_name: str) -> bytes:
        rendered.append(feed.path)
        return real(feed, format_name)

    monkeypatch.setattr(build, "render_feed", counting)
    return rendered


def test_a_second_build_with_nothing_new_renders_and_writes_nothing(
    site: tuple[Database, Path], renders: list[str]
) -> None:
    database, folder = site
    config = configured(folder, database.url)
    first = write_site(database, config)
    assert {w.path for w in first.written} == COMBINED | {
        "style.css",
        "feeds/source/news.atom",
        "feeds/source/blog.atom",
        "feeds/source/quiet.atom",
        "feeds/tag/mutual-aid.atom",
        "feeds/tag/co-ops.atom",
        "feeds/tag/housing.atom",
    }
    before = snapshot(config.output.dir)
    renders.clear()

    again = write_site(database, config)
    assert renders == []
    assert not any(w.changed for w in again.written)
    assert {w.path for w in again.written} == {w.path for w in first.written}
    assert snapshot(config.output.dir) == before


def test_one_new_article_rewrites_the_combined_feeds_its_source_and_its_tags(
    site: tuple[Database, Path], renders: list[str]
) -> None:
    database, folder = site
    config = configured(folder, database.url)
    write_site(database, config)
    before = snapshot(config.output.dir)
    renders.clear()

    insert_rows(database, [Row(id=5, source_id=1, tags=("Housing",), published_at=NOW)])
    report = write_site(database, config)

    changed = COMBINED | {"feeds/source/news.atom", "feeds/tag/housing.atom"}
    assert rewritten(before, snapshot(config.output.dir)) == changed
    assert {w.path for w in report.written if w.changed} == changed
    assert set(renders) == changed - {"index.html"}
    assert b"/5" in (config.output.dir / "feeds/tag/housing.atom").read_bytes()


def test_a_deleted_file_is_written_again(site: tuple[Database, Path]) -> None:
    database, folder = site
    config = configured(folder, database.url)
    write_site(database, config)
    (config.output.dir / "feeds/tag/co-ops.atom").unlink()
    report = write_site(database, config)
    assert {w.path for w in report.written if w.changed} == {"feeds/tag/co-ops.atom"}
    assert (config.output.dir / "feeds/tag/co-ops.atom").is_file()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("title", "Another reader"), ("items", 2), ("base_url", "https://reader.example/")],
)
def test_a_changed_output_setting_renders_every_feed_again(
    site: tuple[Database, Path], renders: list[str], setting: str, value: object
) -> None:
    """Rendered again, and written where the bytes differ (fewer items than the limit: same)."""
    database, folder = site
    first = write_site(database, configured(folder, database.url))
    renders.clear()
    write_site(database, configured(folder, database.url, **{setting: value}))
    feeds = {w.path for w in first.written} - {"index.html", "style.css"}
    assert sorted(renders) == sorted(feeds)


def test_changed_rendering_code_renders_every_feed_again(
    site: tuple[Database, Path], renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade that changes how entries render (same version number) reaches every file."""
    database, folder = site
    config = configured(folder, database.url)
    first = write_site(database, config)
    renders.clear()
    monkeypatch.setattr(build, "renderer_digest", lambda: "other code")
    write_site(database, config)
    feeds = {w.path for w in first.written} - {"index.html", "style.css"}
    assert sorted(renders) == sorted(feeds)


def test_the_renderer_digest_covers_the_code_that_renders(tmp_path: Path) -> None:
    names = {path.name for path in build.rendering_files()}
    assert {"build.py", "atom.py", "page.py", "style.css", "sanitize.py"} <= names
    assert all(path.is_file() for path in build.rendering_files())
    module = tmp_path / "entries.py"
    module.write_text("TITLE = 1\n")
    before = build.code_digest([module])
    module.write_text("TITLE = 2\n")
    assert build.code_digest([module]) != before


def test_a_changed_title_rewrites_every_file_that_shows_it(site: tuple[Database, Path]) -> None:
    database, folder = site
    write_site(database, configured(folder, database.url))
    config = configured(folder, database.url, title="Another reader")
    before = snapshot(config.output.dir)
    report = write_site(database, config)
    shown = {w.path for w in report.written} - {"style.css"}
    assert rewritten(before, snapshot(config.output.dir)) == shown


def test_a_changed_threshold_rebuilds_and_changes_what_is_published(
    site: tuple[Database, Path],
) -> None:
    database, folder = site
    config = configured(folder, database.url)
    write_site(database, config)
    assert b"/3/" in (config.output.dir / "feed.atom").read_bytes()
    strict = config.model_copy(
        update={"topic": config.topic.model_copy(update={"threshold": 50.0})}
    )
    report = write_site(database, strict)
    combined = (config.output.dir / "feed.atom").read_bytes()
    assert b"/3/" not in combined and b"/2/" in combined  # only the keep_all source's left
    assert "feeds/source/quiet.atom" in report.removed
