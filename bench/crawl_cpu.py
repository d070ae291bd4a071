"""``python -m bench.crawl_cpu``: where a crawl's CPU goes, process by process.

Crawls the local news site (as the ``crawl-workers`` workload does) with one and with two
extraction processes, and samples /proc while it runs: the CPU seconds of this process (which
serves the site), of the crawl process and of each extraction worker. The speedup from a second
worker is bounded by these shares: on two cores, two workers cannot finish faster than all the
CPU together divided by two.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.daemon import cpu_seconds
from bench.workloads import crawl


@dataclass
class Sample:
    """The last CPU reading of each process of the crawl, by pid."""

    parent: int
    cpu: dict[int, float] = field(default_factory=dict)
    parents: dict[int, int] = field(default_factory=dict)

    def take(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if pid == self.parent or self._descends(ppid):
                    self.parents[pid] = ppid
                    self.cpu[pid] = cpu_seconds(pid)
            except (OSError, ValueError, IndexError):
                continue  # the process ended between listing and reading

    def _descends(self, ppid: int) -> bool:
        return ppid == self.parent or ppid in self.parents

    def shares(self) -> dict[str, float]:
        """CPU seconds of the server (this process), the crawl process and the workers."""
        crawlers = [pid for pid, ppid in self.parents.items() if ppid == self.parent]
        crawler = max(crawlers, key=lambda pid: self.cpu[pid], default=None)
        workers = [self.cpu[p] for p, ppid in self.parents.items() if ppid == crawler]
        return {
            "server and parent": self.cpu.get(self.parent, 0.0),
            "crawl process": self.cpu.get(crawler, 0.0) if crawler else 0.0,
            "extraction workers": sum(workers),
        }


def measure(inputs: crawl.Inputs, workers: int) -> tuple[float, dict[str, float]]:
    """Wall seconds of one crawl with ``workers`` extraction processes, and its CPU shares."""
    round_ = crawl.fresh_round(inputs)
    sample = Sample(os.getpid())
    before = cpu_seconds(os.getpid())
    done = threading.Event()

    def keep_sampling() -> None:
        while not done.is_set():
            sample.take()
            time.sleep(0.2)

    sampler = threading.Thread(target=keep_sampling, daemon=True)
    sampler.start()
    started = time.perf_counter()
    crawl.crawl_and_ingest(round_, workers)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    shares = sample.shares()
    shares["server and parent"] -= before
    return wall, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    inputs = crawl.prepare(args.articles)
    try:
        for workers in (1, 2):
            wall, shares = measure(inputs, workers)
            total = sum(shares.values())
            parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in shares.items())
            print(f"{workers} worker(s): {wall:.1f} s wall; CPU s: {parts}; total {total:.1f}")
    finally:
        crawl.teardown(inputs)


if __name__ == "__main__":
    main()
