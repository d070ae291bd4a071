"""Helpers for the fault tests: a lock held by another connection (against writers, or everyone),
a process to kill at a chosen moment, a process with a small file-size limit, and a daemon whose
log goes to a file."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import event

from aggregator.storage import Database
from tests.test_daemon import MUTUALAID, wait_for

# Run inside a child: print "step N" after every SQL statement and every fsync (and pause a
# moment), so the parent can kill the child at a chosen step. Then run the mutualaid CLI.
TRACED_CLI = textwrap.dedent(
    """
    import os, sys, time
    from sqlalchemy import Engine, event

    steps = 0

    def step():
        global steps
        steps += 1
        print(f"step {steps}", flush=True)
        time.sleep(0.005)

    @event.listens_for(Engine, "after_cursor_execute")
    def _after_statement(*_args):
        step()

    real_fsync = os.fsync

    def traced_fsync(fd):
        real_fsync(fd)
        step()

    os.fsync = traced_fsync

    from aggregator.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the SQLite write lock from another connection (as a long writer elsewhere would)."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@contextmanager
def sqlite_exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Lock the SQLite file against every other connection, readers too: exclusive locking
    mode keeps the lock until the connection closes (WAL readers need no lock otherwise)."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        yield connection
    finally:
        connection.close()


@contextmanager
def database_full(database: Database) -> Iterator[None]:
    """Inside, the SQLite file cannot grow by one page: writes that need room fail SQLITE_FULL
    ("database or disk is full"), as on a full disk. Room returns on exit."""
    with database.engine.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar() or 0)

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    event.listen(database.engine, "connect", cap)
    database.engine.dispose()  # pooled connections reconnect, capped
    try:
        yield
    finally:
        event.remove(database.engine, "connect", cap)
        database.engine.dispose()


def kill_at_step(args: list[str], step: int, timeout: float = 120) -> bool:
    """Run ``mutualaid ARGS`` traced; SIGKILL it once it has taken ``step`` steps (SQL
    statements and fsyncs). True if it was killed, False if it finished first (successfully)."""
    child = subprocess.Popen(
        [sys.executable, "-c", TRACED_CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    deadline = time.monotonic() + timeout
    try:
        for line in child.stdout:
            if line.startswith("step ") and int(line.split()[1]) >= step:
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=30)
                return True
            assert time.monotonic() < deadline, "the traced command hung"
        code = child.wait(timeout=30)
        assert code == 0, child.stderr.read() if child.stderr else ""
        return False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)


def count_steps(args: list[str], timeout: float = 120) -> int:
    """How many steps ``mutualaid ARGS`` takes when left alone (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", TRACED_CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return sum(line.startswith("step ") for line in done.stdout.splitlines())


def run_with_file_limit(
    command: list[str], limit: int, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` unable to write any file past ``limit`` bytes (a full disk).

    SIGXFSZ is ignored, so a write past the limit fails with EFBIG instead of killing it.
    """

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=limit_files,
    )


# The daemon's feed rebuild, on its own: logs to stderr, prints the result's status and error.
DAEMON_REBUILD = textwrap.dedent(
    """
    import logging, sys
    from aggregator.config import load_config
    from aggregator.daemon import Daemon
    from aggregator.storage import open_database
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    from pathlib import Path
    config = load_config(Path(sys.argv[1]))
    database = open_database(config.database.url)
    result = Daemon(database, config).rebuild()
    database.close()
    print(result.status, result.error or "")
    """
)


class LoggedDaemon:
    """``mutualaid -v run`` (or another command) as a subprocess, its log in a file the test
    reads as it goes. Children it was seen with are killed with it, even once orphaned."""

    def __init__(
        self,
        config: Path,
        log: Path,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("run",),
    ) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [MUTUALAID, "-c", str(config), "-v", *command],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._children: set[tuple[int, str]] = set()  # (pid, start time): pids get reused

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_log(self, text: str, timeout: float = 60) -> None:
        wait_for(lambda: text in self.log, timeout, f"{text!r} in the daemon's log")

    def children(self) -> list[int]:
        """Its child processes now (a crawl's), remembered for ``kill``."""
        found = {(pid, started) for pid, parent, started in _processes() if parent == self.pid}
        self._children |= found
        return sorted(pid for pid, _ in found)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._log.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log.close()
        running = {(pid, started) for pid, _parent, started in _processes()}
        for pid, _started in self._children & running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, start time) of every process, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found.append((int(stat.parent.name), int(fields[1]), fields[19]))
    return found


def integrity(path: Path) -> str:
    with sqlite3.connect(path, timeout=30) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def query(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path, timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def posts(prefix: str, count: int) -> list[tuple[str, str]]:
    """Feed items; the number in each title keeps near-duplicate detection from joining them."""
    return [(f"{prefix}{n}", f"{prefix.title()} post number {sum(map(ord, prefix))}{n}")
            for n in range(count)]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def built_then_retitled(
    write_config, tmp_path, blog_site, run_cli
) -> tuple[Path, Path, dict[str, bytes]]:
    """The blog polled and its feeds built under "Old title", then the config retitled.

    Returns the output folder, the config file and a snapshot of the files as built, so the
    next build has something new to write.
    """
    public = tmp_path / "public"
    settings = {
        "output": {"dir": str(public), "title": "Old title", "id_domain": "example.org",
                   "base_url": "https://feeds.example.org/"},  # set: no warnings about them
        "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
                             "relevance": "keep_all"}},
    }  # fmt: skip
    config = write_config(settings)
    assert run_cli("-c", str(config), "poll").code == 0
    assert run_cli("-c", str(config), "feed", "build").code == 0
    built = snapshot(public)
    settings["output"]["title"] = "New title"  # type: ignore[index]
    write_config(settings)
    return public, config, built


def assert_well_formed(name: str, data: bytes) -> None:
    """Parse a written file strictly: XML feeds with lxml (no recovery), JSON Feed with json."""
    if name.endswith((".atom", ".rss")):
        etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    elif name.endswith(".json"):
        json.loads(data)
    elif name.endswith(".html"):
        assert data.rstrip().endswith(b"</html>"), name
