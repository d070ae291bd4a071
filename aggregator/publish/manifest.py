"""What the last build left: its manifests in the output folder.

``MANIFEST`` is small and read by every build: the signature and size of each feed, the page,
the stylesheet and the archive's four lists, and the archive's head (``archive_state``: the
highest ``article_changes.seq`` seen, the shared signature, each listing's heading and size, and
a token). The rest of the archive is kept in shards (``SHARDS``, a folder beside it): one per
listing (its ids, its pages' signatures and sizes) and one per ``ARTICLES_PER_SHARD`` article
ids (per article what the archive shows of it, its page's signature and size).
``ARCHIVE_MANIFEST`` is their index: each shard's key and the token of the build that wrote it.
A build with nothing new reads none of them; a build of changes reads the shards of what it
plans (its articles', its listings', and those of the articles its listing pages show) and
rewrites those that changed, so what it reads and writes follows the change, not the archive.

A build writes its shards, then the index, then the small manifest, each naming the token it
goes with. A build that stopped before the small manifest leaves an index whose token is not
the head's; one that stopped among its shards leaves shards whose token is not the index's.
Either way the next build plans the whole archive rather than trust them.
"""

from __future__ import annotations

import gc
import json
import logging
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.publish.archive_state import (
    ArchiveHead,
    ArchiveState,
    Articles,
    Listings,
    StaleShardError,
    is_archive_page,
    shard_of,
)
from aggregator.storage.changes import prune_gone
from aggregator.storage.database import Database

log = logging.getLogger(__name__)

MANIFEST = ".mutualaid-build.json"
ARCHIVE_MANIFEST = ".mutualaid-archive.json"
SHARDS = ".mutualaid-archive"  # the folder of the archive manifest's shards
MANIFESTS = (MANIFEST, ARCHIVE_MANIFEST)
MANIFEST_FORMAT = 2
_ARCHIVE_FORMAT = 2


@dataclass(frozen=True)
class Built:
    """What the manifest remembers of a file: the signature it was rendered for, its size."""

    signature: str
    size: int


def read_manifest(folder: Path) -> dict[str, Built]:
    """The last build's files named by the small manifest; empty when there is none or it
    cannot be read (then every file is rendered, and written where its bytes differ)."""
    return files_of(read_json(folder / MANIFEST, MANIFEST_FORMAT))


def read_json(path: Path, version: int) -> dict[str, Any]:
    """A manifest as read; empty when there is none, it cannot be read or is of another
    format."""
    try:
        with _no_collection():  # a large manifest is many small lists, none of them cyclic
            data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:  # none yet, or the folder is not one (writing will say so)
        return {}
    except ValueError as exc:
        log.warning("ignoring unreadable build manifest %s: %s", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != version:
        return {}
    return data


def built_mark(folder: Path) -> int | None:
    """The highest ``article_changes.seq`` the last finished build into ``folder`` had seen;
    None when it left no archive (or no manifest)."""
    head = ArchiveHead.from_json(read_json(folder / MANIFEST, MANIFEST_FORMAT).get("archive"))
    return None if head is None else head.mark


def prune_seen_changes(database: Database, folder: Path) -> int:
    """Retention's part for the archive: drop the change rows of purged articles that the last
    build into ``folder`` has seen (``storage.changes.prune_gone``). With no archive there,
    none: another folder built from the same database may not have seen them."""
    mark = built_mark(folder)
    return 0 if mark is None else prune_gone(database, mark)


def files_of(data: dict[str, Any]) -> dict[str, Built]:
    try:
        with _no_collection():
            return {
                str(path): Built(str(entry[0]), int(entry[1]))
                for path, entry in data.get("files", {}).items()
            }
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        log.warning("ignoring an unreadable build manifest: %s", exc)
        return {}


class ArchiveRecord:
    """The last build's archive: its head from the small manifest, the rest read on demand,
    a shard at a time."""

    def __init__(self, folder: Path, head: Any) -> None:
        self.folder = folder
        self.head = ArchiveHead.from_json(head)
        self._index: dict[str, Any] | None = None
        self._shards: dict[str, dict[str, Any]] = {}

    def index(self) -> dict[str, str]:
        """Each shard's key and the token of the build that wrote it; empty when the index
        is not the head's (a build stopped between the two) or cannot be read."""
        if self._index is None:
            self._index = read_json(self.folder / ARCHIVE_MANIFEST, _ARCHIVE_FORMAT)
        data, head = self._index, self.head
        shards = data.get("shards")
        if head is None or data.get("token") != head.token or not isinstance(shards, dict):
            return {}
        return shards

    def shard(self, key: str) -> dict[str, Any]:
        """Shard ``key`` as the index names it; empty when the index names none. Raises
        ``StaleShardError`` when it is not the one the index names."""
        if key not in self._shards:
            token = self.index().get(key)
            if token is None:
                return {}
            with _no_collection():
                data = read_json(_shard_path(self.folder, key), _ARCHIVE_FORMAT)
            if data.get("token") != token:
                raise StaleShardError(f"{key} is not the build's of {token}")
            self._shards[key] = data
        return self._shards[key]

    def built(self, path: str) -> Built | None:
        """What the last build wrote at ``path`` (an archive page), as its shard says."""
        try:
            entry = self.shard(shard_of(path)).get("files", {}).get(path)
            return None if entry is None else Built(str(entry[0]), int(entry[1]))
        except (StaleShardError, TypeError, ValueError, IndexError, AttributeError):
            return None

    def shard_files(self, key: str) -> dict[str, Built]:
        try:
            return files_of(self.shard(key))
        except StaleShardError:
            return {}

    def files(self) -> dict[str, Built]:
        """Every archive page the shards there name, whatever build wrote them (every shard
        read): what a whole plan removes when it no longer has them."""
        files: dict[str, Built] = {}
        for key in shard_keys(self.folder):
            with _no_collection():
                files.update(files_of(read_json(_shard_path(self.folder, key), _ARCHIVE_FORMAT)))
        return files

    def state(self) -> ArchiveState | None:
        """What the archive held, read a shard at a time as the plan asks (a shard that is
        not the index's raises ``StaleShardError`` then); None when the index is not the head's."""
        head = self.head
        if head is None or not self.index():
            return None
        articles = Articles(read=self.shard)
        listings = Listings(head.listings, read=self.shard)
        return ArchiveState(head.mark, head.shared, articles, listings)


def write_archive_manifest(
    folder: Path,
    record: ArchiveRecord,
    head: ArchiveHead,
    after: dict[str, Built],
    state: ArchiveState,
    dropped: set[str] | None,
) -> ArchiveHead:
    """The shards that changed and the index naming them all, under a new token: the head to
    write in the small one. ``dropped`` None: a whole plan, every shard written anew (and
    ``after`` holds every archive page).

    Shards are written without an fsync: a crash may leave one of them old, half-written or
    new under an index that names another token, and the next build, finding a shard that
    is not the index's, plans the whole archive (``StaleShardError``)."""
    # Here, not at the top: write.py imports this module.
    from aggregator.publish.write import write_file

    head = head.with_token(secrets.token_hex(8))
    pages: dict[str, dict[str, Built]] = {}
    for path, built in after.items():
        if is_archive_page(path):
            pages.setdefault(shard_of(path), {})[path] = built
    old = record.index()
    articles = state.articles.by_shard()
    if dropped is None:
        keys = {*pages, *state.listings, *articles}
        index: dict[str, str] = {}
    else:
        keys = state.dirty() | set(pages) | {shard_of(path) for path in dropped}
        index = dict(old)
    gone: list[str] = []
    for key in sorted(keys):
        kept = state.shard_json(key, articles)
        files = {} if dropped is None else record.shard_files(key)
        files = {path: built for path, built in files.items() if path not in (dropped or ())}
        files.update(pages.get(key, {}))
        if kept is None or (key.startswith("articles/") and not kept["articles"] and not files):
            index.pop(key, None)
            gone.append(key)
            continue
        data = {"format": _ARCHIVE_FORMAT, "token": head.token, "files": _files_json(files), **kept}
        write_file(folder, _shard_relative(key), _dumps(data), durable=False)
        index[key] = head.token
    if dropped is None:  # any shard there that this build did not write
        gone += [key for key in shard_keys(folder) if key not in index]
    data = {"format": _ARCHIVE_FORMAT, "token": head.token, "shards": dict(sorted(index.items()))}
    write_file(folder, ARCHIVE_MANIFEST, _dumps(data))
    for key in gone:  # no index names them now
        _shard_path(folder, key).unlink(missing_ok=True)
    return head


def write_small_manifest(folder: Path, small: dict[str, Any]) -> None:
    from aggregator.publish.write import write_file

    write_file(folder, MANIFEST, _dumps(small))


def remove_archive_manifest(folder: Path) -> None:
    (folder / ARCHIVE_MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(folder / SHARDS, ignore_errors=True)


def shard_keys(folder: Path) -> list[str]:
    """The keys of the shards in ``folder`` (whatever build wrote them)."""
    root = folder / SHARDS
    if not root.is_dir():
        return []
    return sorted(
        path.relative_to(root).as_posix()[: -len(".json")] for path in root.rglob("*.json")
    )


def _shard_relative(key: str) -> str:
    return f"{SHARDS}/{key}.json"


def _shard_path(folder: Path, key: str) -> Path:
    return folder.joinpath(SHARDS, *f"{key}.json".split("/"))


def small_manifest(files: dict[str, Built], head: ArchiveHead | None) -> dict[str, Any]:
    """The small manifest as it would be written (to tell whether it changed)."""
    small: dict[str, Any] = {"format": MANIFEST_FORMAT, "files": _files_json(files)}
    if head is not None:
        small["archive"] = head.as_json()
    return small


def _files_json(files: dict[str, Built]) -> dict[str, list[object]]:
    return {path: [built.signature, built.size] for path, built in files.items()}


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: reading a manifest of many small containers
    would otherwise set off collections that walk every object the process holds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
