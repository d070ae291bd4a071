"""``python -m bench.bounds``: the work a poll does on what it read, against a bare parse of it.

Two hostile feeds, each measured in fresh child processes, so that one case's memory never
counts in another's:

- ``feed-100k-items``: an RSS feed of 100,000 title-and-link items (7.5 MB) polled by the
  source's kind with the default cap of 500 entries. The fetch is stubbed (the body is
  handed over as if fetched), so what is timed is the parse, the cap, the flags and the plan.
- ``entry-100k-attributes``: a feed of three full-content entries whose middle one has a ``<p>``
  with 100,000 attributes (1.3 MB), parsed and every entry prepared for storage
  (``prepare_item``: extraction, sanitising), as a poll does before storing.

The floor of both is a bare lxml parse of the same feed bytes (no entities, no huge trees). Each
round runs the floor and the subject in a child process of its own and reads there the wall
time, the CPU time and the peak resident memory above the resident size just before the call
(the kernel's high-water mark, reset through ``/proc/self/clear_refs``); the figures are medians
over the rounds and ratios against the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FEED_URL = "https://bench.example/feed/"
HEADERS = {"content-type": "application/rss+xml; charset=UTF-8"}
RSS_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Bench</title>'
    "<link>https://bench.example/</link>"
)
RSS_CLOSE = "</channel></rss>"
ARTICLE = (
    "Mutual aid is the voluntary reciprocal exchange of resources and services for mutual "
    "benefit, organised by neighbours rather than by charities or the state. "
)


def many_items(count: int) -> bytes:
    """``count`` title-and-link items, as a feed that never trims its archive lists them."""
    items = "".join(
        f"<item><title>Post {n}</title><link>https://bench.example/p/{n}/</link></item>"
        for n in range(count)
    )
    return (RSS_OPEN + items + RSS_CLOSE).encode()


def many_attributes(count: int) -> bytes:
    """Three full-content entries; the middle one's paragraph carries ``count`` attributes."""
    body = "".join(f"<p>{n}. {ARTICLE * 4}</p>" for n in range(4))
    attributes = " ".join(f'data-a{n}="{n}"' for n in range(count))
    hostile = f"<p {attributes}>{ARTICLE * 4}</p>{body}"
    entries = [body, hostile, body]
    items = "".join(
        f"<item><title>Entry {n}</title><link>https://bench.example/e/{n}/</link>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded></item>"
        for n, content in enumerate(entries)
    )
    return (RSS_OPEN + items + RSS_CLOSE).encode()


CASES: dict[str, Callable[[int], bytes]] = {
    "feed-100k-items": many_items,
    "entry-100k-attributes": many_attributes,
}


# --- in the child ----------------------------------------------------------------------------


def lxml_floor(body: bytes, folder: Path) -> Callable[[], object]:
    from aggregator.xmlsafe import parse_xml

    return lambda: parse_xml(body)


def poll_subject(body: bytes, folder: Path) -> Callable[[], object]:
    """A poll by the source's kind on ``body`` as if fetched, with the default entry cap."""
    from datetime import UTC, datetime, timedelta

    import httpx

    from aggregator.config import SourceConfig
    from aggregator.errors import FetchError
    from aggregator.fetch import Fetched
    from aggregator.kinds import kind_of
    from aggregator.poll.collect import Collector, SourceJob
    from aggregator.poll.state import FeedState
    from aggregator.storage import open_database

    fetched = Fetched(FEED_URL, 200, httpx.Headers(HEADERS), body)

    class Handed:
        """Hands over the feed; every other request fails (no page is fetched)."""

        requests = 0
        stopped = False  # never asked to stop, as the poller's HTTP client can be

        def counting(self) -> Handed:
            return self

        def get_feed(self, url: str, validators: object) -> Fetched:
            return fetched

        def get(self, url: str, headers: object = None) -> Fetched:
            raise FetchError(url, "not fetched in the benchmark")

    database = open_database(f"sqlite:///{folder / 'bench.db'}")
    now = datetime(2026, 11, 30, tzinfo=UTC)
    collector = Collector(database, Handed(), lambda: now)  # type: ignore[arg-type]
    source = SourceConfig(homepage="https://bench.example/", feed=FEED_URL)  # type: ignore[arg-type]
    job = SourceJob("bench", 1, source, FeedState(FEED_URL), timedelta(hours=1))

    def run() -> object:
        out = kind_of(source).collect(collector, job)
        if out.error:
            raise RuntimeError(out.error)
        return len(out.feed.entries) if out.feed else 0

    return run


def prepare_subject(body: bytes, folder: Path) -> Callable[[], object]:
    """Parse the feed and prepare every entry for storage, as a poll and its ingest do."""
    from datetime import UTC, datetime

    from aggregator.config import load_config
    from aggregator.errors import NotAnArticleError
    from aggregator.ingest import SourceContext, prepare_item
    from aggregator.poll.entries import plan_entries, to_item
    from aggregator.poll.feeds import parse_feed

    settings = folder / "bench.yaml"
    settings.write_text("{}\n", encoding="utf-8")  # the packaged defaults
    config = load_config(settings, environ={})
    context = SourceContext("bench", config.topic.profile(), options=config.extraction.options())
    now = datetime(2026, 11, 30, tzinfo=UTC)

    def run() -> list[str]:
        feed = parse_feed(body, HEADERS, FEED_URL)
        planned, _ = plan_entries(feed, config.extraction.min_words)
        outcomes = []
        for entry in planned:
            try:
                outcomes.append(f"stored {prepare_item(to_item(entry, 'bench', now), context).url}")
            except (NotAnArticleError, ValueError) as exc:
                outcomes.append(f"skipped: {exc}"[:200])
        return outcomes

    return run


SIDES: dict[str, dict[str, Callable[[bytes, Path], Callable[[], object]]]] = {
    "feed-100k-items": {"floor": lxml_floor, "subject": poll_subject},
    "entry-100k-attributes": {"floor": lxml_floor, "subject": prepare_subject},
}


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory figure, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def child(case: str, side: str, path: Path) -> dict[str, Any]:
    """Build the call (imports, database), then time it and take its peak memory."""
    body = path.read_bytes()
    call = SIDES[case][side](body, path.parent)
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from here
    before = _status("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "wall": wall,
        "cpu": cpu,
        "peak": _status("VmHWM") - before,
        "outcome": outcome if isinstance(outcome, int | list) else None,
    }


# --- in the parent ---------------------------------------------------------------------------


def run_side(case: str, side: str, path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bounds", "--child", case, side, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{case} {side} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def measure(case: str, size: int, rounds: int, folder: Path) -> dict[str, Any]:
    path = folder / f"{case}.xml"
    path.write_bytes(CASES[case](size))
    samples: dict[str, list[dict[str, Any]]] = {"floor": [], "subject": []}
    for number in range(rounds):
        order = ["floor", "subject"] if number % 2 == 0 else ["subject", "floor"]
        for side in order:
            samples[side].append(run_side(case, side, path))
    medians = {
        side: {key: statistics.median(s[key] for s in runs) for key in ("wall", "cpu", "peak")}
        for side, runs in samples.items()
    }
    floor, subject = medians["floor"], medians["subject"]
    return {
        "case": case,
        "size": size,
        "bytes": path.stat().st_size,
        "rounds": rounds,
        "floor": floor,
        "subject": subject,
        "outcome": samples["subject"][-1]["outcome"],
        "time_ratio": subject["wall"] / floor["wall"],
        "cpu_ratio": subject["cpu"] / floor["cpu"] if floor["cpu"] else float("inf"),
        "memory_ratio": subject["peak"] / floor["peak"] if floor["peak"] else float("inf"),
    }


def _line(result: dict[str, Any]) -> str:
    floor, subject = result["floor"], result["subject"]
    mib = 2**20
    return (
        f"{result['case']} (n={result['size']:,}, {result['bytes'] / mib:.1f} MiB, median of "
        f"{result['rounds']}): time {result['time_ratio']:.1f}x the floor "
        f"[{subject['wall']:.3f} s vs {floor['wall']:.3f} s wall; {subject['cpu']:.3f} s CPU], "
        f"peak memory {result['memory_ratio']:.1f}x "
        f"[{subject['peak'] / mib:.1f} MiB vs {floor['peak'] / mib:.1f} MiB]; "
        f"{_outcome(result['outcome'])}"
    )


def _outcome(outcome: object) -> str:
    if isinstance(outcome, int):
        return f"{outcome} entries read"
    if isinstance(outcome, list):
        return "; ".join(str(line)[:120] for line in outcome)
    return "no outcome"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bounds", description=__doc__)
    parser.add_argument("cases", nargs="*", help=f"which (default: all): {', '.join(CASES)}")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (median taken)")
    parser.add_argument("--size", type=int, default=100_000, help="items, or attributes")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument(
        "--child", nargs=3, metavar=("CASE", "SIDE", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        case, side, path = args.child
        print(json.dumps(child(case, side, Path(path))))
        return 0
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="bench-bounds-") as name:
        for case in args.cases or list(CASES):
            result = measure(case, args.size, max(1, args.rounds), Path(name))
            print(json.dumps(result) if args.json else _line(result))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
