"""SIGTERM under load: the daemon stops within its bound with polls and a crawl in flight; a
fetch in flight ends at its next read once the stop is asked for."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.daemon.service import STOP_BOUND
from aggregator.errors import FetchStoppedError
from aggregator.fetch import FetchLimits, make_client
from aggregator.net.policy import NetworkPolicy
from aggregator.poll.http import Fetcher
from aggregator.poll.limiter import HostLimiter
from tests.badserver import BadServer, Connection, drip, hang, respond, slow_body
from tests.faultkit import process_alive, query, sqlite_write_lock
from tests.test_crawl import FAST
from tests.test_daemon import holds_daemon_lock, wait_for

pytestmark = pytest.mark.slow
SOURCES = 48
LOCAL = NetworkPolicy(allow_private=True)
SLACK = 15.0  # seconds on top of the stated bound: a busy machine, an interpreter exiting
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n"
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>slow</title></channel></rss>"
RSS = HEAD + FEED.replace(b"<title>", b" " * 4096 + b"<title>")  # a minute at 0.5 s a byte


@pytest.fixture
def hosts(bad_server) -> Iterator[list[BadServer]]:
    """Four servers, so four hosts to the poller (a host and its port): the daemon's one poller
    sends one request at a time to a host, and four polls are to be in flight at once."""
    with BadServer() as second, BadServer() as third, BadServer() as fourth:
        yield [bad_server, second, third, fourth]


def _load(write_config, tmp_path: Path, hosts: list[BadServer], feed, crawl: bool) -> Path:
    """Many sources whose feeds never finish (a fetch may take ten minutes), polled every 20 s,
    spread over ``hosts``; with ``crawl``, one more source whose crawl hangs the same way."""
    sources: dict[str, dict[str, object]] = {}
    bad_server = hosts[0]
    for number in range(SOURCES):
        server = hosts[number % len(hosts)]
        server.route(f"/feed/{number}", feed)
        sources[f"s{number:02}"] = {"homepage": server.url("/"),
                                    "feed": server.url(f"/feed/{number}")}  # fmt: skip
    if crawl:
        bad_server.route("/essays/", hang())
        sources["crawled"] = {
            "homepage": bad_server.url("/"),
            "crawl": {"start_urls": [bad_server.url("/essays/")], "article_urls": ["/essays/"]},
        }
    return write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'state' / 'load.db'}"},
            "output": {"dir": str(tmp_path / "public")},
            "network": {"allow_private": True, "total_timeout": "10m"},
            "crawling": FAST,
            "schedule": {
                "tick": "1s",
                "poll_interval": "20s",
                "crawl_interval": "1h",
                "jitter": "1s",
            },
            "sources": sources,
        }
    )


# Trickled out in about two seconds: polls keep ending, so the crawl gets its turn.
QUICK_DRIP = drip(HEAD + FEED, interval=0.01)


@pytest.mark.parametrize(
    ("feed", "crawl"),
    [(hang(), False), (drip(RSS, interval=0.5), False), (QUICK_DRIP, True)],
    ids=["held", "trickled", "trickled-with-a-crawl-held"],
)
def test_sigterm_stops_the_daemon_within_its_bound_with_polls_in_flight(
    write_config, tmp_path, bad_server, hosts, daemons, feed, crawl
) -> None:
    daemon = daemons(_load(write_config, tmp_path, hosts, feed, crawl))
    database = tmp_path / "state" / "load.db"
    wait_for(lambda: holds_daemon_lock(database, daemon.process), 90, "the daemon to start")
    feeds = lambda: [hit for host in hosts for hit in host.hits  # noqa: E731
                     if hit.path.startswith("/feed/")]  # fmt: skip
    wait_for(lambda: len(feeds()) >= 4, 90, "four polls in flight")
    if crawl:
        wait_for(lambda: bool(bad_server.hits_to("/essays/")), 90, "the crawl in flight")
    children = daemon.children()
    stopped_at = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    code = daemon.process.wait(timeout=STOP_BOUND + SLACK)  # raises if the bound is missed
    took = time.monotonic() - stopped_at
    log = daemon.log
    assert code == 0, log[-3000:]
    assert "did not finish in time" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert took < STOP_BOUND / 2, f"stopped in {took:.1f}s"  # designed for much less
    if not crawl:  # four polls were waiting on their servers: each ended, and said so
        assert log.count("stopped: the process is shutting down") >= 4, log[-3000:]
    wait_for(lambda: not any(map(process_alive, children)), 30, "the crawl process to end")
    runs = query(database, "SELECT kind, status, error FROM runs WHERE kind != 'rebuild'")
    assert [run for run in runs if run[0] == "crawl"] == ([("crawl", "failed", "interrupted")]
                                                          if crawl else [])  # fmt: skip
    # A poll cut short is no failure of its source: no backoff, due again at the next start.
    assert not [run for run in runs if run[0] == "poll" and run[1] != "ok"], runs


@pytest.mark.parametrize(
    "behaviour", [hang(), slow_body(b"x" * 1000, interval=0.2)], ids=["no-headers", "slow-body"]
)
def test_a_fetch_in_flight_ends_soon_after_the_stop_and_later_ones_at_once(
    bad_server, behaviour
) -> None:
    url = bad_server.route("/feed", behaviour)
    stop = threading.Event()
    limits = FetchLimits(total_timeout=600)
    with make_client(limits, LOCAL) as client:
        fetcher = Fetcher(client, limits, HostLimiter(0), stop).counting()
        outcome: list[BaseException] = []

        def fetch() -> None:
            try:
                fetcher.get(url)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=fetch)
        thread.start()
        try:
            wait_for(lambda: bool(bad_server.hits_to("/feed")), 30, "the request")
            stop.set()
            stopped_at = time.monotonic()
            thread.join(30)
            assert not thread.is_alive()
            assert time.monotonic() - stopped_at < 5  # a read waits a quarter second at most
        finally:
            stop.set()
            thread.join(30)
        (error,) = outcome
        assert isinstance(error, FetchStoppedError) and error.url == url
        assert fetcher.stopped
        with pytest.raises(FetchStoppedError):
            fetcher.get(url)  # no new request once stopped
    assert len(bad_server.hits_to("/feed")) == 1


def test_a_job_stuck_past_the_bound_does_not_keep_the_daemon_alive(
    write_config, tmp_path, bad_server, daemons
) -> None:
    """A poll waiting for a database lock longer than the bound: the process ends at the bound
    anyway (the poll's transaction rolls back with it)."""
    database = tmp_path / "state" / "stuck.db"
    locked, answered = threading.Event(), threading.Event()
    feed = respond(200, FEED, {"Content-Type": "application/rss+xml"})

    def answer_once_locked(conn: Connection) -> None:
        locked.wait(60)
        feed(conn)
        answered.set()

    bad_server.route("/feed", answer_once_locked)
    config = write_config(
        {
            "database": {"url": f"sqlite:///{database}?timeout=120"},  # waits past the bound
            "output": {"dir": str(tmp_path / "public")},
            "schedule": {
                "tick": "1s",
                "poll_interval": "1h",
                "crawl_interval": "1d",
                "jitter": "1s",
            },
            "sources": {"site": {"homepage": bad_server.url("/"), "feed": bad_server.url("/feed")}},
        }
    )
    daemon = daemons(config)
    try:
        wait_for(lambda: bool(bad_server.hits_to("/feed")), 60, "the poll's request")
        with sqlite_write_lock(database):
            locked.set()
            assert answered.wait(60)  # the poll has its feed, and now waits for the lock
            stopped_at = time.monotonic()
            daemon.process.send_signal(signal.SIGTERM)
            code = daemon.process.wait(timeout=STOP_BOUND + SLACK)
            took = time.monotonic() - stopped_at
    finally:
        locked.set()
    assert code == 0
    assert took > STOP_BOUND - 1, f"stopped in {took:.1f}s"  # it did give the job its bound
    assert "a job did not finish in time" in daemon.log
