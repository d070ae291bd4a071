"""What the last build left: its two manifests in the output folder.

``MANIFEST`` is small and read by every build: the signature and size of each feed, the page,
the stylesheet and the archive's four lists, and the archive's head (``archive_state``: the
highest ``article_changes.seq`` seen, the shared signature, each listing's heading and size, and
a token). ``ARCHIVE_MANIFEST`` holds the rest of the archive, a line's worth per page: each
article and listing page's signature and size, and per article and listing what the archive
held. A build reads it only when something changed (``archive_delta``), so a build with nothing
new reads a file whose size follows the listings, not the articles.

A build writes the archive's manifest first and the small one after, naming the token of the
archive manifest it goes with; a build that stopped between the two leaves tokens that differ,
and the next build then plans the whole archive.
"""

from __future__ import annotations

import gc
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.publish.archive_state import ArchiveHead, ArchiveState
from aggregator.storage.changes import prune_gone
from aggregator.storage.database import Database

log = logging.getLogger(__name__)

MANIFEST = ".mutualaid-build.json"
ARCHIVE_MANIFEST = ".mutualaid-archive.json"
MANIFESTS = (MANIFEST, ARCHIVE_MANIFEST)
MANIFEST_FORMAT = 2
_ARCHIVE_FORMAT = 1


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
    """The last build's archive: its head from the small manifest, the rest read on demand."""

    def __init__(self, folder: Path, head: Any) -> None:
        self.folder = folder
        self.head = ArchiveHead.from_json(head)
        self._data: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._data is None:
            self._data = read_json(self.folder / ARCHIVE_MANIFEST, _ARCHIVE_FORMAT)
        return self._data

    def files(self) -> dict[str, Built]:
        """The archive's pages the last build wrote (whatever build wrote the manifest)."""
        return files_of(self._read())

    def state(self) -> ArchiveState | None:
        """What the archive held, when the archive manifest is the head's."""
        data = self._read()
        head = self.head
        if head is None or not data or data.get("token") != head.token:
            return None
        with _no_collection():
            return ArchiveState.from_json(data.get("state"), head)

    @property
    def read(self) -> bool:
        return self._data is not None


def write_archive_manifest(
    folder: Path, head: ArchiveHead, pages: dict[str, Built], state: ArchiveState
) -> ArchiveHead:
    """The archive's manifest, under a new token: the head to write in the small one."""
    # Here, not at the top: write.py imports this module.
    from aggregator.publish.write import write_file

    head = head.with_token(secrets.token_hex(8))
    data = {
        "format": _ARCHIVE_FORMAT,
        "token": head.token,
        "files": _files_json(pages),
        "state": state.as_json(),
    }
    write_file(folder, ARCHIVE_MANIFEST, _dumps(data))
    return head


def write_small_manifest(folder: Path, small: dict[str, Any]) -> None:
    from aggregator.publish.write import write_file

    write_file(folder, MANIFEST, _dumps(small))


def remove_archive_manifest(folder: Path) -> None:
    (folder / ARCHIVE_MANIFEST).unlink(missing_ok=True)


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
