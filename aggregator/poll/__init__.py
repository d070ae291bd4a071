"""Feed pollers: polite, incremental, robust polling of RSS, Atom and JSON feeds.

``Poller(database, config).poll(names)`` polls sources and returns one ``SourceResult`` each.
Modules, one job each: ``http`` (conditional fetching, and the HTTP decisions as pure
functions), ``limiter`` (per-host politeness), ``feeds``/``jsonfeed`` (bytes to ``ParsedFeed``),
``entries`` (entries to ``FetchedItem``), ``pages`` (article pages of summary-only entries),
``wordpress`` (the REST API), ``state`` (fetch state transitions), ``collect`` and ``backfill``
(one source's I/O), ``poller`` (threads, ingest, records), ``discover``, ``opml`` and
``configfile`` (adding sources).
"""

from aggregator.poll.poller import Poller, PollSettings, SourceResult

__all__ = ["PollSettings", "Poller", "SourceResult"]
