"""``mutualaid serve`` facing idle, slow and bursty clients, and how it stops: real sockets on
127.0.0.1, the real command in a child process where signals and exit codes matter."""

from __future__ import annotations

import http.client
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import load_config
from aggregator.publish.server import PublishApp, make_app_server
from aggregator.storage import open_database
from tests.publish_data import Row, Served, add_sources, insert_rows, publish_config, serving
from tests.test_daemon import wait_for

# The command line as the console script runs it, with one test-only route: /slow says (by
# touching $SLOW_STARTED) that it has begun, takes $SLOW_SECONDS, then answers as /healthz.
SERVE_WITH_A_SLOW_ROUTE = """
import os, sys, time
from pathlib import Path
from aggregator.cli import main
from aggregator.publish.server import PublishApp

answer = PublishApp.respond

def respond(self, method, path, environ):
    if path == "/slow":
        Path(os.environ["SLOW_STARTED"]).touch()
        time.sleep(float(os.environ["SLOW_SECONDS"]))
        path = "/healthz"
    return answer(self, method, path, environ)

PublishApp.respond = respond
sys.exit(main())
"""
LISTENING = re.compile(r"on http://127\.0\.0\.1:(\d+)/")


class Child:
    """A ``mutualaid`` process, its stderr in a file, and the port it said it listens on."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log
        self.port = 0

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until_listening(self) -> int:
        def listening() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}: {self.output()}")
            found = LISTENING.search(self.output())
            self.port = int(found[1]) if found else 0
            return bool(found)

        wait_for(listening, 60, "the server to listen")
        return self.port

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``signum`` and wait for the exit code."""
        self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """Start ``mutualaid ARGS`` (with the slow route); every child is killed at teardown."""
    children: list[Child] = []

    def run(*args: str, env: dict[str, str] | None = None, files: int | None = None) -> Child:
        log = tmp_path / f"child-{len(children)}.log"
        command = [sys.executable, "-c", SERVE_WITH_A_SLOW_ROUTE, *args]
        if files:  # the shell lowers the open-file limit (preexec_fn is unsafe beside threads)
            command = ["sh", "-c", f'ulimit -n {files} && exec "$@"', "sh", *command]
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, **(env or {})},
            )
        children.append(Child(process, log))
        return children[-1]

    yield run
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait(timeout=30)


def healthz(port: int, timeout: float = 10, host: str = "127.0.0.1") -> int | None:
    """The status of GET /healthz, or None when the server did not answer."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (EOF or reset); never blocks."""
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def open_sockets(port: int, count: int, into: list[socket.socket]) -> None:
    """Connect ``count`` sockets, each kept in ``into`` at once (so a finally can close it)."""
    for _ in range(count):
        into.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        into[-1].setblocking(False)


class Dripper(threading.Thread):
    """Sends one byte of a never-ending request line to each socket every half second."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__(daemon=True)
        self.sockets = sockets
        self.closed: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        stream = b"GET /" + b"a" * 60_000
        for position in range(len(stream)):
            if self.done.wait(0.5) or len(self.closed) == len(self.sockets):
                return
            for number, sock in enumerate(self.sockets):
                if number in self.closed:
                    continue
                try:
                    sock.send(stream[position : position + 1])
                except OSError:
                    self.closed.add(number)
                    continue
                if closed_by_peer(sock):
                    self.closed.add(number)


@pytest.mark.slow
def test_idle_and_slow_clients_past_the_limits_leave_healthz_answering(start, write_config) -> None:
    """256 descriptors (as measured before waitress), 1,000 connections asked for: the server
    takes what fits, and 200 idle plus 60 dripping sockets do not keep /healthz from answering."""
    config = write_config(
        {"serve": {"connection_limit": 1000, "channel_timeout": "2s", "threads": 4}}
    )
    child = start("-c", str(config), "serve", "--host", "127.0.0.1", "--port", "0", files=256)
    port = child.wait_until_listening()
    assert "room for 192 connections" in child.output()
    idle: list[socket.socket] = []
    dripping: list[socket.socket] = []
    dripper = Dripper(dripping)
    try:
        open_sockets(port, 200, idle)
        open_sockets(port, 60, dripping)
        dripper.start()
        wait_for(lambda: healthz(port) == 200, 90, "/healthz past 260 idle and slow sockets")
        wait_for(
            lambda: all(closed_by_peer(sock) for sock in idle), 90, "the idle sockets to close"
        )
        wait_for(lambda: len(dripper.closed) == len(dripping), 90, "the slow sockets to close")
        assert healthz(port) == 200
    finally:
        dripper.done.set()
        for sock in idle + dripping:
            sock.close()
        if dripper.is_alive():
            dripper.join(timeout=30)
    assert child.stop() == 0, child.output()


@pytest.fixture
def published(tmp_path: Path) -> Iterator[Served]:
    """A served database with a few articles from two sources, on packaged settings."""
    config = publish_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        {
            "blog": {"homepage": "https://blog.example/", "relevance": "keep_all"},
            "news": {"homepage": "https://news.example/", "relevance": "keep_all"},
        },
    )
    database = open_database(config.database.url)
    try:
        add_sources(database, "blog", "news")
        insert_rows(database, [Row(id=n, source_id=1 + n % 2) for n in range(1, 21)])
        with serving(PublishApp(database, config)) as site:
            yield site
    finally:
        database.close()


def test_a_burst_of_concurrent_requests_is_answered_in_full(published: Served) -> None:
    """400 requests from 40 clients at once, each on a new connection: all 200, no reset."""
    paths = ("/feed.atom", "/healthz", "/feed.json", "/", "/feeds/source/news.rss")

    def fetch(number: int) -> tuple[int, int]:
        connection = http.client.HTTPConnection(published.host, published.port, timeout=60)
        try:
            connection.request("GET", paths[number % len(paths)])
            response = connection.getresponse()
            return response.status, len(response.read())
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(fetch, range(400), timeout=240))
    assert [status for status, _ in results] == [200] * 400
    assert all(size > 0 for _, size in results)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_with_0_after_the_request_in_flight(
    start, write_config, tmp_path, sqlite_url, signum
) -> None:
    config = write_config({"serve": {"shutdown_timeout": "20s"}})
    with _slow_request_in_flight(start, config, tmp_path, seconds=1.5) as (child, port, answers):
        assert child.stop(signum) == 0, child.output()
    assert answers == [(200, b'{"status": "ok", "database": "ok"}')]
    assert "Traceback" not in child.output()
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    assert database.exists()
    # SQLite removes the write-ahead log when the last connection closes: the database was closed.
    assert not database.with_name(database.name + "-wal").exists()
    assert healthz(port, timeout=2) is None  # nothing listens there any more


@contextmanager
def _slow_request_in_flight(
    start: Callable[..., Child], config: Path, folder: Path, seconds: float
) -> Iterator[tuple[Child, int, list[tuple[int, bytes]]]]:
    """``serve`` with a request to /slow (``seconds`` long) begun; its answer lands in the list."""
    began = folder / "slow-began"
    env = {"SLOW_STARTED": str(began), "SLOW_SECONDS": str(seconds)}
    child = start("-c", str(config), "serve", "--host", "127.0.0.1", "--port", "0", env=env)
    port = child.wait_until_listening()
    answers: list[tuple[int, bytes]] = []
    client = threading.Thread(target=_get, args=(port, "/slow", answers), daemon=True)
    client.start()
    try:
        wait_for(began.exists, 30, "the slow request to start")
        yield child, port, answers
    finally:
        client.join(timeout=30)


def _get(port: int, path: str, answers: list[tuple[int, bytes]]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        answers.append((response.status, response.read()))
    except (OSError, http.client.HTTPException) as exc:
        answers.append((0, repr(exc).encode()))
    finally:
        connection.close()


@pytest.mark.slow
def test_a_request_longer_than_shutdown_timeout_does_not_hold_the_stop(
    start, write_config, tmp_path
) -> None:
    config = write_config({"serve": {"shutdown_timeout": "1s"}})
    with _slow_request_in_flight(start, config, tmp_path, seconds=120) as (child, _, answers):
        stopped_at = time.monotonic()
        assert child.stop(timeout=60) == 0, child.output()
        # one second for the request, one for the threads, and room for a busy machine
        assert time.monotonic() - stopped_at < 20
    assert answers and answers[0][0] == 0  # the client saw the connection close, no answer
    assert "1 request(s) unfinished" in child.output()


@pytest.mark.slow
def test_run_serve_serves_feeds_and_metrics_and_stops_with_0_on_sigterm(
    start, write_config
) -> None:
    config = write_config({"serve": {"shutdown_timeout": "2s"}})
    child = start("-c", str(config), "run", "--serve", "--host", "127.0.0.1", "--port", "0")
    port = child.wait_until_listening()
    wait_for(lambda: healthz(port) == 200, 60, "/healthz beside the daemon")
    answers: list[tuple[int, bytes]] = []
    _get(port, "/metrics", answers)
    assert answers[0][0] == 200 and b"mutualaid" in answers[0][1]
    assert child.stop() == 0, child.output()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("threads", 0),
        ("connection_limit", 0),
        ("backlog", -1),
        ("channel_timeout", "soon"),
        ("shutdown_timeout", 0),
    ],
)
def test_a_bad_serve_setting_is_a_one_line_config_error(
    write_config, run_cli, setting: str, value: Any
) -> None:
    path = write_config({"serve": {setting: value}})
    result = run_cli("-c", str(path), "serve", "--port", "0")
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"error: {path}: serve.{setting}: ")


def test_the_packaged_serve_settings(tmp_path: Path) -> None:
    settings = load_config(environ={}).serve
    assert (settings.threads, settings.connection_limit, settings.backlog) == (8, 200, 1024)
    assert settings.channel_timeout.total_seconds() == 30
    assert settings.shutdown_timeout.total_seconds() == 5


def test_ipv6_loopback_is_served(tmp_path: Path) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    config = publish_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", {})
    database = open_database(config.database.url)
    server = make_app_server(PublishApp(database, config), "::1", 0, config.serve)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert server.urls() == [f"http://[::1]:{server.port}/"]
        assert healthz(server.port, host="::1") == 200
    finally:
        server.stop()
        thread.join(timeout=30)
        server.close()
        database.close()


def test_each_request_is_one_log_line(published: Served, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="aggregator.publish.server"):
        assert published.get("/feed.atom?tag=a%0aFAKE").status == 200
        assert published.get("/nope").status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "aggregator.publish.server"]
    assert lines == [
        '127.0.0.1 "GET /feed.atom?tag=a%0aFAKE" 200',
        '127.0.0.1 "GET /nope" 404',
    ]


def test_a_slow_answer_does_not_count_against_the_clients_next_request() -> None:
    """The request clock runs only while the server waits for the client: a pipelined, partial
    second request behind a slow first one does not get the connection closed mid-answer."""

    def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        time.sleep(3)  # three times channel_timeout
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    settings = load_config(environ={}).serve.model_copy(
        update={"channel_timeout": timedelta(seconds=1)}
    )
    server = make_app_server(slow_app, "127.0.0.1", 0, settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n")
            received = b""
            while not received.endswith(b"done"):
                chunk = sock.recv(4096)
                assert chunk, f"closed after {received!r}"
                received += chunk
            assert received.startswith(b"HTTP/1.1 200 OK")
            assert sock.recv(4096) == b""  # then the unfinished second request times out
    finally:
        server.stop()
        thread.join(timeout=30)
        server.close()
