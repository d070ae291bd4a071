"""``python -m bench.daemon``: the daemon's idle CPU and its memory over many polls.

Idle CPU: the real daemon (``mutualaid run``) with nothing due for an hour, against a bare Python
process that imports the same package and sleeps, both measured over the same window from
/proc. Memory: one process polls a local feed that answers 304, and its resident memory after
1,000 polls is compared with after 10 (aim: flat, a ratio near 1).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
IDLE_SLEEPER = "import aggregator.daemon, time; time.sleep(3600)"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


def idle_cpu(window: float, config: Path) -> tuple[float, float]:
    """CPU seconds used during ``window`` by an idle daemon and by a sleeping interpreter."""
    mutualaid = str(Path(sys.executable).parent / "mutualaid")
    daemon = subprocess.Popen([mutualaid, "-c", str(config), "run"], stderr=subprocess.DEVNULL)
    sleeper = subprocess.Popen([sys.executable, "-c", IDLE_SLEEPER])
    try:
        time.sleep(8)  # both past start-up: imports, migrations, the first (empty) schedule
        before = cpu_seconds(daemon.pid), cpu_seconds(sleeper.pid)
        time.sleep(window)
        after = cpu_seconds(daemon.pid), cpu_seconds(sleeper.pid)
    finally:
        for process in (daemon, sleeper):
            process.terminate()
            process.wait(timeout=60)
    return after[0] - before[0], after[1] - before[1]


def memory_over_polls(polls: int, folder: Path) -> tuple[int, int]:
    """Resident memory after 10 polls and after ``polls`` polls of a feed answering 304."""
    from aggregator.config import load_config
    from aggregator.daemon.work import poll_source
    from aggregator.storage import open_database
    from tests.sites.blog_site import build_blog_site

    with build_blog_site() as site:
        path = folder / "memory.yaml"
        path.write_text(yaml.safe_dump({
            "database": {"url": f"sqlite:///{folder / 'memory.db'}"},
            "network": {"allow_private": True},  # the blog is on loopback
            "sources": {"blog": {"homepage": f"{site.base_url}/", "feed": site.feed_url}},
        }))  # fmt: skip
        config = load_config(path, environ={})
        database = open_database(config.database.url)
        readings = {}
        for number in range(1, polls + 1):
            poll_source(database, config, "blog", due_only=False)
            if number in (10, polls):
                gc.collect()
                readings[number] = resident_bytes()
        database.close()
    return readings[10], readings[polls]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon", description=__doc__)
    parser.add_argument("--window", type=float, default=20.0, help="idle window, seconds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--polls", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as name:
        folder = Path(name)
        config = folder / "idle.yaml"
        config.write_text(yaml.safe_dump({
            "database": {"url": f"sqlite:///{folder / 'idle.db'}"},
            "output": {"dir": str(folder / "public")},
            "schedule": {"poll_interval": "1h"},
            "sources": {"far": {"homepage": "http://127.0.0.1:9/", "feed": "http://127.0.0.1:9/f"}},
        }))  # fmt: skip
        _prime(config)
        samples = [idle_cpu(args.window, config) for _ in range(args.rounds)]
        daemon_cpu = statistics.median(sample[0] for sample in samples)
        sleeper_cpu = statistics.median(sample[1] for sample in samples)
        print(
            f"idle CPU over {args.window:.0f}s (median of {args.rounds}): daemon "
            f"{daemon_cpu * 1000:.0f} ms ({daemon_cpu / args.window:.2%} of a core), sleeping "
            f"interpreter {sleeper_cpu * 1000:.0f} ms; difference "
            f"{(daemon_cpu - sleeper_cpu) / args.window:.2%} of a core"
        )
        early, late = memory_over_polls(args.polls, folder)
        print(
            f"memory: {late / early:.3f}x after {args.polls} polls vs after 10 "
            f"({early / 2**20:.1f} MiB -> {late / 2**20:.1f} MiB)"
        )
    return 0


def _prime(config: Path) -> None:
    """Mark the one source as checked just now, so the idle daemon has nothing due."""
    from sqlalchemy import update

    from aggregator.config import load_config
    from aggregator.ingest import Ingestor
    from aggregator.storage import open_database
    from aggregator.storage.models import FetchState

    loaded = load_config(config, environ={})
    database = open_database(loaded.database.url)
    ingestor = Ingestor(database, loaded)
    now = datetime.now(UTC)
    with database.session() as session:
        session.add(FetchState(source_id=ingestor.source_ids["far"], url="http://127.0.0.1:9/f",
                               next_check_at=now.replace(year=now.year + 1)))  # fmt: skip
        session.execute(update(FetchState).values(consecutive_failures=0))
    database.close()


if __name__ == "__main__":
    sys.exit(main())
