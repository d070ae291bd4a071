"""Kinds of source: how a source is read, what it remembers between polls, how it backfills.

A kind is a module with a ``KIND`` object following ``SourceKind``, registered below by name;
``sources.NAME.kind`` in the config picks one. The poller does the rest the same way for every
kind: it chooses the sources due, runs their kind in worker threads, ingests the items, moves
the schedule (``poll.state``) and writes the kind's new state into ``fetch_states.kind_state``
under the kind's name, so a new kind needs no migration. See README, "Adding a kind of source".

The registry names modules rather than importing them, so the config can check a name without
loading the pollers, and a kind is imported only when a source uses it.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aggregator.config import SourceConfig
    from aggregator.poll.collect import Collected, Collector, SourceJob


class SourceKind(Protocol):
    """What the poller asks of a kind. ``collect`` and ``backfill`` run in worker threads, may
    only read the database, and never raise: problems go into the returned ``Collected``."""

    name: str

    def state_url(self, source: SourceConfig) -> str | None:
        """The URL that keys the source's fetch state; None when polling does not serve it."""
        ...

    def unpolled_reason(self, source: SourceConfig) -> str:
        """Why polling skips a source whose ``state_url`` is None."""
        ...

    def collect(self, collector: Collector, job: SourceJob) -> Collected:
        """One poll: the items found, the schedule outcome (``Collected.status``, ``response``)
        and the kind's new state (``Collected.kind_state``; ``own_state(job)`` is the old)."""
        ...

    def backfill(self, collector: Collector, job: SourceJob, count: int) -> Collected:
        """Up to ``count`` of the source's older items; the schedule is left alone."""
        ...


@dataclass(frozen=True)
class Registered:
    module: str  # holds the kind as ``KIND``
    needs: tuple[str, ...] = ()  # source settings it cannot work without


REGISTRY: dict[str, Registered] = {
    "feed": Registered("aggregator.kinds.feed", needs=("feed",)),
    "wordpress": Registered("aggregator.kinds.wordpress"),
    "sitemap": Registered("aggregator.kinds.sitemap"),
    "crawl": Registered("aggregator.kinds.crawl", needs=("crawl",)),
}


def check_kind_name(name: str) -> str:
    """``name`` if a kind is registered under it; else ``ValueError`` with a suggestion."""
    if name in REGISTRY:
        return name
    close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"known kinds: {', '.join(REGISTRY)}"
    raise ValueError(f"unknown kind {name!r} ({hint})")


@cache
def kind_named(name: str) -> SourceKind:
    kind: SourceKind = importlib.import_module(REGISTRY[check_kind_name(name)].module).KIND
    return kind


def kind_of(source: SourceConfig) -> SourceKind:
    return kind_named(source.kind_name)


def polled(source: SourceConfig) -> bool:
    """Does a poll serve this source (enabled or not)? The daemon's poll jobs are these."""
    return kind_of(source).state_url(source) is not None


def own_state(job: SourceJob, kind: str) -> dict[str, Any]:
    """The part of the source's stored kind state that belongs to ``kind``."""
    value = job.state.kind_state.get(kind)
    return dict(value) if isinstance(value, dict) else {}
