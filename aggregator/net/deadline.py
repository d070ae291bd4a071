"""A deadline for one whole fetch, carried in a context variable down to every socket call.

httpx's timeouts bound each read on its own, so a server sending one byte a second never trips
them. ``fetch_deadline`` sets when the current fetch (all its redirect hops and its body) must
be over; the guarded streams (``aggregator.net.transport``) shorten each connect, read and
write to the time left, and fail once none is left. Threads each see their own deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)


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
