"""Feed pollers: polite, incremental, robust polling of RSS, Atom and JSON feeds.

``Poller(database, config).poll(names)`` polls sources and returns one ``SourceResult`` each.
Modules, one job each: ``http`` (conditional fetching, and the HTTP decisions as pure
functions), ``limiter`` (per-host politeness), ``feeds``/``jsonfeed`` (bytes to ``ParsedFeed``),
``entries`` (entries to ``FetchedItem``), ``pages`` (article pages of summary-only entries),
``wordpress`` (the REST API), ``state`` (fetch state transitions), ``collect`` and ``backfill``
(the helpers a kind of source reads with: a feed and its pages, older feed pages), ``poller``
(threads, ingest, records; each source read by its kind, ``aggregator.kinds``), ``discover``,
``opml`` and ``configfile`` (adding sources).
"""

from aggregator.poll.poller import Poller, PollSettings, SourceResult

__all__ = ["PollSettings", "Poller", "SourceResult"]
