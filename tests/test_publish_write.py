"""Writing the output folder: atomic files, safe names, stale feeds removed, the CLI."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from aggregator.publish.names import is_slug, slugify_tag
from aggregator.publish.write import PublishError, prune_stale, resolve_inside, write_file
from aggregator.storage import open_database
from tests.publish_data import Row, add_sources, insert_rows, publish_config


def leftovers(folder: Path) -> list[str]:
    return [path.name for path in folder.rglob("*") if path.name.endswith(".tmp")]


def test_write_file_replaces_whole_files_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    written = write_file(tmp_path, "feeds/tag/coops.atom", b"one")
    assert written.changed and written.size == 3
    assert (tmp_path / "feeds/tag/coops.atom").read_bytes() == b"one"
    assert write_file(tmp_path, "feeds/tag/coops.atom", b"two").changed
    assert (tmp_path / "feeds/tag/coops.atom").read_bytes() == b"two"
    assert oct((tmp_path / "feeds/tag/coops.atom").stat().st_mode & 0o777) == oct(0o644)
    assert leftovers(tmp_path) == []


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    write_file(tmp_path, "feed.atom", b"same")
    path = tmp_path / "feed.atom"
    os.utime(path, (1_000_000, 1_000_000))
    assert not write_file(tmp_path, "feed.atom", b"same").changed
    assert path.stat().st_mtime == 1_000_000


def test_a_failed_write_keeps_the_old_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_file(tmp_path, "feed.atom", b"old")

    def broken_fsync(_handle: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(PublishError, match="No space left on device"):
        write_file(tmp_path, "feed.atom", b"new and longer")
    assert (tmp_path / "feed.atom").read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    """One thread rewrites a large file over and over; another keeps reading it."""
    versions = [bytes([65 + n]) * 3_000_000 for n in range(3)]
    write_file(tmp_path, "feed.atom", versions[0])
    done = threading.Event()
    seen: list[bytes] = []

    def read() -> None:
        while not done.is_set():
            seen.append((tmp_path / "feed.atom").read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_number in range(12):
            write_file(tmp_path, "feed.atom", versions[round_number % 3])
    finally:
        done.set()
        reader.join()
    assert seen
    assert all(data in versions for data in seen)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "relative", ["../escape.atom", "/etc/passwd", "feeds/../../x", "feeds/./x", "", "a\\..\\b"]
)
def test_paths_that_leave_the_folder_are_refused(tmp_path: Path, relative: str) -> None:
    with pytest.raises(PublishError):
        resolve_inside(tmp_path, relative)


@pytest.mark.parametrize(
    ("tag", "slug"),
    [
        ("Mutual aid", "mutual-aid"),
        ("mutual-aid", "mutual-aid"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", ""),
        ("/", ""),
        ("Coopératives d'habitants", "coopératives-d-habitants"),
        ("взаимопомощь", "взаимопомощь"),
        ("<b>Co-ops</b>", "co-ops"),
        ("a" * 200, "a" * 80),
        ("under_score", "under-score"),
    ],
)
def test_tag_slugs_are_safe_file_names(tag: str, slug: str) -> None:
    assert slugify_tag(tag) == slug
    assert "/" not in slug and "." not in slug and "\\" not in slug
    assert is_slug(slug) or slug == ""


def test_prune_removes_only_stale_feeds_in_the_managed_folders(tmp_path: Path) -> None:
    for name in (
        "feeds/tag/kept.atom",
        "feeds/tag/gone.atom",
        "feeds/source/gone.atom",
        "feeds/tag/notes.txt",
        "feed.atom",
        "extra.atom",
    ):
        write_file(tmp_path, name, b"x")
    removed = prune_stale(tmp_path, {"feeds/tag/kept.atom", "feed.atom"})
    assert removed == ["feeds/source/gone.atom", "feeds/tag/gone.atom"]
    remaining = sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    )
    assert remaining == ["extra.atom", "feed.atom", "feeds/tag/kept.atom", "feeds/tag/notes.txt"]


def test_feed_build_writes_the_files_and_says_so(tmp_path: Path, run_cli) -> None:
    config = publish_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        {"blog": {"homepage": "https://blog.example/", "relevance": "keep_all"}},
        archive={"enabled": False},  # the archive's files: tests/test_publish_archive.py
    )
    database = open_database(config.database.url)
    add_sources(database, "blog")
    insert_rows(database, [Row(id=1, relevance=0.0, tags=("Mutual aid", "Co-ops")), Row(id=2)])
    database.close()
    path = str(tmp_path / "publish-config.yaml")

    first = run_cli("-c", path, "feed", "build", "--json")
    assert first.code == 0, first.err
    report = json.loads(first.out)
    written = {entry["path"] for entry in report["files"]}
    assert written == {
        "feed.atom",
        "feed.rss",
        "feed.json",
        "index.html",
        "style.css",
        "feeds/source/blog.atom",
        "feeds/tag/mutual-aid.atom",
        "feeds/tag/co-ops.atom",
    }
    assert report["changed"] == len(written)
    assert all((config.output.dir / name).is_file() for name in written)
    assert leftovers(config.output.dir) == []

    again = run_cli("-c", path, "feed", "build", "--json")
    assert json.loads(again.out)["changed"] == 0

    human = run_cli("-c", path, "feed", "build")
    assert human.code == 0
    assert f"{config.output.dir}: 8 files, 0 changed, 0 removed" in human.out


def test_feed_build_reports_an_unwritable_folder_in_one_line(tmp_path: Path, run_cli) -> None:
    (tmp_path / "public").write_text("a file where the folder should be")
    publish_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", {})
    result = run_cli("-c", str(tmp_path / "publish-config.yaml"), "feed", "build")
    assert result.code == 1
    assert result.err.startswith("error: cannot write")
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
