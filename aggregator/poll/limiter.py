"""Per-host politeness: one request at a time to a host, with a pause between them.

Every fetch of a poll run (feeds, article pages, API calls) takes its turn here, so several
sources on one site, or one feed's many article pages, never hit it in parallel or in a burst.
A host is the URL's host and port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc or parts.path).lower().rpartition("@")[2]


def wait_needed(last_done: float | None, now: float, delay: float) -> float:
    """Seconds to wait before the next request when the previous one ended at ``last_done``."""
    if last_done is None:
        return 0.0
    return max(0.0, last_done + delay - now)


class HostLimiter:
    """Hands out turns per host: ``with limiter.turn(url): fetch(url)``.

    ``delay`` is the pause, in seconds, between the end of one request to a host and the start
    of the next. ``clock`` and ``sleep`` are injectable so tests need no real waiting.
    """

    def __init__(
        self,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delay = delay
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last_done: dict[str, float] = {}

    @contextmanager
    def turn(self, url: str) -> Iterator[None]:
        key = host_key(url)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            wait = wait_needed(self._last_done.get(key), self._clock(), self.delay)
            if wait > 0:
                self._sleep(wait)
            try:
                yield
            finally:
                self._last_done[key] = self._clock()
