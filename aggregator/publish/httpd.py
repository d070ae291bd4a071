"""The HTTP server under ``mutualaid serve`` and ``run --serve``: waitress, with bounds.

waitress reads and writes every socket in one loop and runs the application on a fixed pool of
threads, so an idle or slow client costs a socket, never a thread. ``serve:`` in the config sets
the pool (``threads``), the open connections (``connection_limit``; more wait in a listen
``backlog``), and ``channel_timeout``: waitress closes a connection idle that long, and
``DeadlineChannel`` closes one whose request is still arriving after that long (waitress's own
timeout counts inactivity, which a client sending a byte every few seconds never reaches).

``AppServer.stop()`` may be called from any thread or a signal handler; ``run()`` then closes the
listening sockets at once, lets requests in flight finish for up to ``shutdown_timeout``, closes
every connection and returns.
"""

from __future__ import annotations

import logging
import math
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from aggregator.config import ServeConfig
from aggregator.errors import MutualAidError

log = logging.getLogger(__name__)

# Request line and headers together; past this waitress answers 431.
MAX_HEADER_BYTES = 64 * 1024
# Only GET and HEAD are served, so a body is never read: a small cap, answered with 413.
MAX_BODY_BYTES = 64 * 1024
# Descriptors kept free of connections: listening sockets, the wake-up pipe, the database
# (with SQLite's journal files), log files, standard streams.
RESERVED_DESCRIPTORS = 64
# Seconds one turn of the loop may wait for a socket; also how soon ``stop`` is noticed when
# the wake-up pipe cannot be used.
LOOP_TIMEOUT = 1.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


class ServeError(MutualAidError):
    """The server cannot start (the address is taken, say)."""


class DeadlineChannel(HTTPChannel):
    """A connection that must deliver each request within ``channel_timeout`` of its first byte."""

    _arriving: object = None  # the parser of the request being received, if any
    _arriving_since = 0.0

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        if self.request is not self._arriving:
            self._arriving = self.request
            self._arriving_since = time.monotonic()
        return result

    def readable(self) -> bool:
        if self.requests:  # the server is busy with an earlier request: the client is not late
            self._arriving_since = time.monotonic()
        elif (
            self._arriving is not None
            and self._arriving is self.request
            and not self.will_close
            and time.monotonic() - self._arriving_since > self.adj.channel_timeout
        ):
            log.info("closing a connection from %s: its request is too slow", self.addr[0])
            self.will_close = True  # writable() now says so and the loop closes the socket
        return bool(super().readable())


class AppServer:
    """A WSGI application on ``host:port`` (port 0: any free port), bounded by ``settings``."""

    def __init__(self, app: WsgiApp, host: str, port: int, settings: ServeConfig) -> None:
        timeout = max(1, math.ceil(settings.channel_timeout.total_seconds()))
        self.shutdown_timeout = settings.shutdown_timeout.total_seconds()
        self._map: dict[int, Any] = {}
        try:
            self._server = create_server(
                app,
                map=self._map,
                host=host,
                port=port,
                threads=settings.threads,
                connection_limit=fit_connection_limit(settings.connection_limit),
                backlog=settings.backlog,
                channel_timeout=timeout,
                cleanup_interval=max(1, timeout // 3),  # idle ones go within 4/3 of the timeout
                max_request_header_size=MAX_HEADER_BYTES,
                max_request_body_size=MAX_BODY_BYTES,
                asyncore_use_poll=True,  # select() stops at descriptor 1024
                log_socket_errors=False,  # a client that resets is not our error
                ident="mutualaid",
            )
        except (OSError, ValueError) as exc:
            wasyncore.close_all(self._map)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
        self._listeners = [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]
        for listener in self._listeners:
            listener.channel_class = DeadlineChannel
        # Where the server listens: one (host, port) per socket, port 0 resolved.
        self.addresses = [(h, int(p)) for h, p in (s.getsockname() for s in self._listeners)]
        self._stopping = threading.Event()
        self._closing = threading.Lock()
        self._closed = False

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    def urls(self) -> list[str]:
        return [
            f"http://{f'[{host}]' if ':' in host else host}:{port}/"
            for host, port in self.addresses
        ]

    def run(self) -> None:
        """Serve until ``stop()``, then finish requests in flight and close. Call it once."""
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=LOOP_TIMEOUT, map=self._map, use_poll=True, count=1)
            self._drain(time.monotonic() + self.shutdown_timeout)
        finally:
            self.close()

    def stop(self) -> None:
        """Ask ``run()`` to finish; safe from another thread and from a signal handler."""
        self._stopping.set()
        # Non-blocking: a signal handler may interrupt this very thread inside close().
        if self._closing.acquire(blocking=False):
            try:
                if not self._closed:
                    self._listeners[0].pull_trigger()  # wake the loop from its poll()
            except OSError:
                pass  # the loop still notices within LOOP_TIMEOUT
            finally:
                self._closing.release()

    def close(self, grace: int = 1) -> None:
        """Stop the threads (giving a running request ``grace`` seconds) and close every socket."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
        self._stopping.set()
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=grace)
        wasyncore.close_all(self._map)

    def _drain(self, deadline: float) -> None:
        for listener in self._listeners:
            wasyncore.dispatcher.close(listener)  # new connections are refused from now on
        while True:
            busy = 0
            for channel in list(self._map.values()):
                if not isinstance(channel, HTTPChannel):
                    continue
                if channel.requests or channel.total_outbufs_len or channel.close_when_flushed:
                    busy += 1
                else:
                    channel.will_close = True  # idle, or a request not yet whole: close it
            remaining = deadline - time.monotonic()
            if not busy:
                return
            if remaining <= 0:
                log.warning("stopping with %d request(s) unfinished", busy)
                return
            wasyncore.loop(timeout=min(0.1, remaining), map=self._map, use_poll=True, count=1)


def fit_connection_limit(wanted: int) -> int:
    """``wanted``, if the open-file limit allows it (raising the soft limit if need be).

    Accepting past the limit fails, and the server would spin on a listening socket it cannot
    empty; fewer connections that all work are better.
    """
    needed = wanted + RESERVED_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (OSError, ValueError):
        pass
    if soft >= needed:
        return wanted
    fitted = max(1, soft - RESERVED_DESCRIPTORS)
    log.warning(
        "the open-file limit (%d) leaves room for %d connections; serve.connection_limit is %d",
        soft,
        fitted,
        wanted,
    )
    return fitted


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGTERM and SIGINT while the block runs (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
