"""A burst of requests: N of them from 50 clients at once, each on a new connection.

Subject: the server under ``mutualaid serve`` (waitress with the packaged ``serve:`` settings: 8
threads, 200 connections, a backlog of 1,024) running ``PublishApp`` on 127.0.0.1, asked by 50
client threads with ``http.client`` for ``/feed.atom?limit=20`` and ``/healthz`` in turn. Every
answer must be a whole 200: an empty reply or a reset fails the run, so the ratio is only ever
reported for a burst that was served in full. Floor: the same N requests made of the same
application by 50 threads calling it as WSGI, with no socket at all. The ratio is the price of
HTTP on loopback (the clients' side included: they share the process and its GIL) and of the
server's queueing. The database is the publish workload's (100 articles per item).
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults

import yaml

from aggregator.config import load_config
from aggregator.logs import QUIET_LIBRARIES
from aggregator.publish.httpd import AppServer
from aggregator.publish.server import PublishApp, make_app_server
from bench.harness import Workload
from bench.workloads import publish

CLIENTS = 50
ITEMS = 20  # articles in the database: ITEMS * 100
PATHS = ("/feed.atom?limit=20", "/healthz")


@dataclass
class Inputs:
    stored: publish.Inputs
    app: PublishApp
    server: AppServer
    thread: threading.Thread
    requests: int


def prepare(requests: int) -> Inputs:
    for name in QUIET_LIBRARIES:  # as the command line has it: no line per queued request
        logging.getLogger(name).setLevel(logging.ERROR)
    stored = publish.prepare(ITEMS)
    path = stored.folder / "config.yaml"
    settings = {"database": {"url": stored.database.url}, "output": {"dir": str(stored.folder)}}
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    config = load_config(path, environ={})
    app = PublishApp(stored.database, config)
    server = make_app_server(app, "127.0.0.1", 0, config.serve)
    thread = threading.Thread(target=server.run, name="bench-serve", daemon=True)
    thread.start()
    return Inputs(stored, app, server, thread, requests)


def burst_over_http(inputs: Inputs) -> None:
    def ask(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", inputs.server.port, timeout=60)
        try:
            connection.request("GET", PATHS[number % len(PATHS)])
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200 or not body:
            raise RuntimeError(f"request {number}: {response.status}, {len(body)} bytes")

    _in_parallel(ask, inputs.requests)


def burst_in_process(inputs: Inputs) -> None:
    def ask(number: int) -> None:
        path, _, query = PATHS[number % len(PATHS)].partition("?")
        environ: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": query}
        setup_testing_defaults(environ)
        statuses: list[str] = []
        body = b"".join(_call(inputs.app, environ, statuses))
        if not statuses[0].startswith("200") or not body:
            raise RuntimeError(f"request {number}: {statuses[0]}, {len(body)} bytes")

    _in_parallel(ask, inputs.requests)


def _call(app: PublishApp, environ: dict[str, Any], statuses: list[str]) -> Iterable[bytes]:
    return app(environ, lambda status, _headers: statuses.append(status))


def _in_parallel(ask: Callable[[int], None], count: int) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for _ in pool.map(ask, range(count)):  # re-raises the first failure
            pass


def teardown(inputs: Inputs) -> None:
    inputs.server.stop()
    inputs.thread.join(timeout=30)
    inputs.server.close()
    publish.teardown(inputs.stored)


SERVE_BURST = Workload(
    name="serve-burst",
    description="requests from 50 clients at once, each on a new connection, all answered 200",
    floor_name="the same requests as direct WSGI calls from 50 threads",
    prepare=prepare,
    floor=burst_in_process,
    subject=burst_over_http,
    size=2000,
    quick_size=100,
    teardown=teardown,
)
