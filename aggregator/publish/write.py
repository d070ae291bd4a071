"""Writing the output folder: each file atomically, stale per-source and per-tag feeds removed.

A file is written to a temporary file in its own folder, flushed to disk, then renamed over
the old one: a reader sees the old file or the new one, never part of either. A file whose
bytes did not change is left alone, so its modification time (and a static server's
Last-Modified) still says when it last changed. A temporary file names the process writing it;
one left by a process that died (kill -9 mid-write) is removed by the next build.

A build renders only the files whose content may have changed: ``MANIFEST`` (in the output
folder) keeps each file's signature and size from the last build, and a file whose signature
and size are unchanged is neither rendered nor written. A signature covers the file's articles
and their change times, the settings and sources that shape it, and the code version
(``publish.build``), so a new article rewrites the combined feeds, the page and its source's and
tags' feeds, and a config change rewrites what it touches. Deleting the manifest makes the next
build render everything again (and still write only the files whose bytes differ).

The archive's pages are many, so their signatures go into a manifest of their own with what
the archive held, and the small one keeps the highest ``article_changes.seq`` seen
(``manifest``, ``archive_state``): the next build plans only the pages of what changed since
(``archive_delta``), and every other archive page stays as the manifest lists it, neither
signed nor checked on disk.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aggregator.config import Config
from aggregator.errors import MutualAidError
from aggregator.publish.archive_state import is_archive_page
from aggregator.publish.build import Output, Site, plan_outputs
from aggregator.publish.manifest import (
    MANIFEST,
    MANIFEST_FORMAT,
    MANIFESTS,
    ArchiveRecord,
    Built,
    files_of,
    read_json,
    read_manifest,
    remove_archive_manifest,
    small_manifest,
    write_archive_manifest,
    write_small_manifest,
)
from aggregator.storage import Database
from aggregator.storage.changes import settled_mark

if TYPE_CHECKING:
    from aggregator.publish.archive import ArchivePlan

# What the tests and callers read from here (``manifest`` holds them).
__all__ = [
    "MANIFEST",
    "MANIFESTS",
    "BuildReport",
    "Built",
    "PublishError",
    "Written",
    "read_manifest",
    "write_site",
]

log = logging.getLogger(__name__)

# Folders whose files a build owns: a feed there that the build no longer makes is removed.
MANAGED = ("feeds/source", "feeds/tag")
FILE_MODE = 0o644
WRITING = ".mutualaid-writing"
# The temporary files and writing marks this process holds now. A file named with this
# process's id that is not among them was left by an earlier process given the same id (a
# restarted daemon in a container is often process 1): an orphan, though its id is running.
_HELD: set[Path] = set()  # absolute paths
_HELD_LOCK = threading.Lock()


class PublishError(MutualAidError):
    """The output folder cannot be written."""


@dataclass(frozen=True)
class Written:
    path: str
    size: int
    changed: bool


@dataclass
class BuildReport:
    folder: Path
    written: list[Written] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "dir": str(self.folder),
            "files": [vars(written) for written in self.written],
            "changed": sum(written.changed for written in self.written),
            "removed": self.removed,
        }


def write_site(
    database: Database,
    config: Config,
    on_plan: Callable[[int], None] | None = None,
    on_file: Callable[[Written], None] | None = None,
) -> BuildReport:
    """Build every output from the database and write it into ``output.dir``."""
    folder = config.output.dir
    report = BuildReport(folder)
    small = read_json(folder / MANIFEST, MANIFEST_FORMAT)
    writing = Writing(folder)
    try:
        writing.sweep(everywhere=not small)
        before = files_of(small)
        site = Site.from_config(config)
        record = ArchiveRecord(folder, small.get("archive"))
        mark = settled_mark(database) if site.archive else None
        with database.session() as session, _settled_heap():
            plan = plan_outputs(session, site, record if site.archive else None, mark)
            archive = plan.archive
            # Every page the last build wrote, read only when the whole archive was planned
            # (or is off): its pages no longer planned must go. A plan of changes reads the
            # shards of the pages it planned, and names the pages that go (``dropped``).
            whole = archive is None or (archive.state is not None and archive.dropped is None)
            pages = record.files() if whole else {}
            gc.freeze()  # what the manifests held lives as long as the build: out of collections
            if on_plan:
                on_plan(len(plan.outputs))
            after: dict[str, Built] = {}

            def last_built(path: str) -> Built | None:
                # With no small manifest (deleted: render everything once more), none is known.
                if record.head is None or not is_archive_page(path):
                    return before.get(path)
                return pages.get(path) if whole else record.built(path)

            for output in plan.outputs:
                written = _unchanged(folder, output, last_built(output.path))
                if written is None:
                    writing.begin()
                    written = write_file(folder, output.path, output.render(), durable=False)
                after[output.path] = Built(output.signature, written.size)
                report.written.append(written)
                if on_file:
                    on_file(written)
        if archive is not None and archive.dropped is not None:
            # A plan of changes: the archive's other pages stay as the last build wrote them.
            pages = dict.fromkeys(archive.dropped, Built("", 0))
        changed = any(written.changed for written in report.written)
        if changed and hasattr(os, "sync"):
            os.sync()  # what was written reaches the disk before the manifest that names it (Unix)
        report.removed = prune_stale(folder, set(after))
        gone = set(before) | set(pages)
        report.removed += prune_unplanned(folder, gone - set(after) - set(report.removed))
        _record(folder, record, small, after, archive, writing)
        return report
    finally:  # a write that failed removed its own temporary file: only a kill leaves some
        writing.end()


@contextmanager
def _settled_heap() -> Iterator[None]:
    """Undo ``gc.freeze`` at the end: the build's rendering makes many short-lived objects,
    and each cyclic collection would otherwise walk every entry of the manifests again."""
    try:
        yield
    finally:
        gc.unfreeze()


class Writing:
    """A build's mark while it writes (``.mutualaid-writing.PID`` in the output folder), so
    that the next build looks for the temporary files of a build killed mid-write only when
    one was: a build with nothing to write then reads no folder but the output's own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mark = folder / f"{WRITING}.{os.getpid()}"
        self.begun = False

    def sweep(self, everywhere: bool = False) -> list[str]:
        """Remove what writers that died left; ``everywhere``: look even without their mark
        (no manifest: a first build, or one after an upgrade)."""
        if not self.folder.is_dir():
            return []
        dead = [
            path
            for path in self.folder.glob(f"{WRITING}.*")
            if not path.suffix[1:].isdigit() or _orphaned(path, int(path.suffix[1:]))
        ]
        removed = remove_orphans(self.folder) if dead or everywhere else []
        for path in dead:
            path.unlink(missing_ok=True)
        return removed

    def begin(self) -> None:
        if not self.begun:
            self.begun = True
            _hold(self.mark)
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.mark.touch()
            except OSError:  # writing the files will say why, in one line
                pass

    def end(self) -> None:
        if self.begun:
            # Never made in an unwritable folder: the build's own error says why.
            with contextlib.suppress(OSError):
                self.mark.unlink(missing_ok=True)
            _release(self.mark)


def _record(
    folder: Path,
    record: ArchiveRecord,
    small: dict[str, Any],
    after: dict[str, Built],
    archive: ArchivePlan | None,
    writing: Writing,
) -> None:
    """Write the manifests the next build reads: the archive's when its state changed (first),
    the small one when it differs from the last."""
    head = None
    if archive is not None:
        head = archive.head
        if archive.state is not None and archive.touched:
            writing.begin()
            head = write_archive_manifest(
                folder, record, head, after, archive.state, archive.dropped
            )
    else:
        remove_archive_manifest(folder)
    files = {path: built for path, built in after.items() if not is_archive_page(path)}
    fresh = small_manifest(files, head)
    if fresh != small:
        writing.begin()
        write_small_manifest(folder, fresh)


def _unchanged(folder: Path, output: Output, last: Built | None) -> Written | None:
    """``output`` as it stands when its file is still what the last build wrote for the same
    signature (judged by the manifest and the file's size); None when it must be rendered."""
    if last is None or not output.signature or last.signature != output.signature:
        return None
    _check_plain(output.path)  # refuses a path that could leave the folder
    try:
        # os.path, not pathlib: a build with the archive asks this of every page it has
        size = os.stat(os.path.join(folder, output.path)).st_size  # noqa: PTH116, PTH118
    except OSError:
        return None
    return Written(output.path, size, changed=False) if size == last.size else None


def write_file(folder: Path, relative: str, data: bytes, durable: bool = True) -> Written:
    """Write ``data`` to ``folder/relative`` atomically, unless it already holds exactly that.

    Not ``durable``: neither the file nor its folder is synced here. A build of thousands of
    archive pages syncs once, at its end, before it writes the manifest that names them (an
    fsync per page was half of a first build's time). A crash before that leaves the old
    manifest, which does not vouch for the new files: the next build renders them again and
    rewrites any that differ.
    """
    path = resolve_inside(folder, relative)
    try:
        if _holds(path, data):
            return Written(relative, len(data), changed=False)
        write_atomic(path, data, durable)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Written(relative, len(data), changed=True)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Temporary file in the same folder, fsync, rename; the folder is fsynced after. Not
    ``durable``: no fsync, for a caller that syncs a whole batch of files once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{os.getpid()}."
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    _hold(temporary)
    try:
        with os.fdopen(handle, "wb") as file:
            os.fchmod(file.fileno(), FILE_MODE)
            file.write(data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        _release(temporary)
    if durable:
        _fsync_folder(path.parent)


def resolve_inside(folder: Path, relative: str) -> Path:
    """``folder/relative``, refusing any path that could leave ``folder`` or is not plain."""
    _check_plain(relative)
    return folder.joinpath(*relative.split("/"))


def _check_plain(relative: str) -> None:
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
        raise PublishError(f"refusing to write outside the output folder: {relative!r}")


def prune_stale(folder: Path, kept: set[str]) -> list[str]:
    """Remove feeds in the managed folders that this build did not write."""
    removed: list[str] = []
    for managed in MANAGED:
        for path in sorted(folder.joinpath(managed).glob("*.atom")):
            relative = f"{managed}/{path.name}"
            if relative not in kept and path.is_file():
                path.unlink()
                log.info("removed stale feed %s", relative)
                removed.append(relative)
    return removed


def prune_unplanned(folder: Path, paths: set[str]) -> list[str]:
    """Remove files the last build wrote (its manifest says so) that this one did not plan: an
    archive page of an article that was purged, held or opted out, a listing page that is no
    longer there, or the whole archive once it is turned off. Folders left empty go too."""
    removed: list[str] = []
    for relative in sorted(paths):
        try:
            path = resolve_inside(folder, relative)
        except PublishError:  # a damaged manifest: never leave the folder
            continue
        if path.is_file():
            path.unlink()
            removed.append(relative)
            _remove_empty_parents(folder, path.parent)
    if removed:
        log.info("removed %d files no longer built", len(removed))
    return removed


def _remove_empty_parents(folder: Path, start: Path) -> None:
    current = start
    while current != folder and folder in current.parents:
        try:
            current.rmdir()  # only when empty
        except OSError:
            return
        current = current.parent


def remove_orphans(folder: Path) -> list[str]:
    """Remove temporary files whose writer is gone (killed mid-write); return their names."""
    removed = []
    for path in folder.rglob(".*.tmp") if folder.is_dir() else ():
        writer = _writer_of(path.name)
        if writer is not None and _orphaned(path, writer):
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(folder)))
    return removed


def _writer_of(temporary: str) -> int | None:
    """The pid in ``.NAME.PID.RANDOM.tmp``; None for any other name."""
    parts = temporary.removesuffix(".tmp").rsplit(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _hold(path: Path) -> None:
    with _HELD_LOCK:
        _HELD.add(path.absolute())


def _release(path: Path) -> None:
    with _HELD_LOCK:
        _HELD.discard(path.absolute())


def _orphaned(path: Path, pid: int) -> bool:
    """Whether the process ``path`` names (``pid``) no longer writes it."""
    if pid == os.getpid():
        with _HELD_LOCK:
            return path.absolute() not in _HELD
    return not _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
