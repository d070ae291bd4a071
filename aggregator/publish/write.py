"""Writing the output folder: each file atomically, stale per-source and per-tag feeds removed.

A file is written to a temporary file in its own folder, flushed to disk, then renamed over
the old one: a reader sees the old file or the new one, never part of either. A file whose
bytes did not change is left alone, so its modification time (and a static server's
Last-Modified) still says when it last changed. A temporary file names the process writing it;
one left by a process that died (kill -9 mid-write) is removed by the next build.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.config import Config
from aggregator.errors import MutualAidError
from aggregator.publish.build import Site, plan_outputs
from aggregator.storage import Database

log = logging.getLogger(__name__)

# Folders whose files a build owns: a feed there that the build no longer makes is removed.
MANAGED = ("feeds/source", "feeds/tag")
FILE_MODE = 0o644


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
    remove_orphans(folder)
    with database.session() as session:
        outputs = plan_outputs(session, Site.from_config(config))
        if on_plan:
            on_plan(len(outputs))
        for output in outputs:
            written = write_file(folder, output.path, output.render())
            report.written.append(written)
            if on_file:
                on_file(written)
    report.removed = prune_stale(folder, {written.path for written in report.written})
    return report


def write_file(folder: Path, relative: str, data: bytes) -> Written:
    """Write ``data`` to ``folder/relative`` atomically, unless it already holds exactly that."""
    path = resolve_inside(folder, relative)
    try:
        if _holds(path, data):
            return Written(relative, len(data), changed=False)
        write_atomic(path, data)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Written(relative, len(data), changed=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary file in the same folder, fsync, rename; the folder is fsynced after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{os.getpid()}."
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            os.fchmod(file.fileno(), FILE_MODE)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def resolve_inside(folder: Path, relative: str) -> Path:
    """``folder/relative``, refusing any path that could leave ``folder`` or is not plain."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
        raise PublishError(f"refusing to write outside the output folder: {relative!r}")
    return folder.joinpath(*parts)


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


def remove_orphans(folder: Path) -> list[str]:
    """Remove temporary files whose writer is gone (killed mid-write); return their names."""
    removed = []
    for path in folder.rglob(".*.tmp") if folder.is_dir() else ():
        writer = _writer_of(path.name)
        if writer is not None and not _running(writer):
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(folder)))
    return removed


def _writer_of(temporary: str) -> int | None:
    """The pid in ``.NAME.PID.RANDOM.tmp``; None for any other name."""
    parts = temporary.removesuffix(".tmp").rsplit(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


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
