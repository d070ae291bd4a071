"""A deadline for one whole fetch, and a stop signal, carried in context variables down to
every socket call.

httpx's timeouts bound each read on its own, so a server sending one byte a second never trips
them. ``fetch_deadline`` sets when the current fetch (all its redirect hops and its body) must
be over; the guarded streams (``aggregator.net.backend``) shorten each connect, read and
write to the time left, and fail once none is left. ``stopping_on`` names an event (the
daemon's SIGTERM) that ends a fetch sooner: the streams wait in short steps and look at it
between them, since closing a socket from another thread does not wake a blocked read. Threads
each see their own deadline and event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)
_stop: ContextVar[threading.Event | None] = ContextVar("fetch_stop", default=None)


@contextmanager
def fetch_deadline(seconds: float) -> Iterator[None]:
    """Everything inside must finish within ``seconds`` (an outer, earlier deadline stays)."""
    ends = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(ends, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the current deadline; ``None`` means no limit.

    Returns 0 or less once the deadline has passed: the caller raises its own timeout error.
    """
    ends = _deadline.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    return left if timeout is None else min(timeout, left)


@contextmanager
def stopping_on(event: threading.Event | None) -> Iterator[None]:
    """Inside, fetches end (``FetchStoppedError``) soon after ``event`` is set; None: never."""
    token = _stop.set(event)
    try:
        yield
    finally:
        _stop.reset(token)


def stop_event() -> threading.Event | None:
    """The event that stops the current fetch, if any."""
    return _stop.get()
