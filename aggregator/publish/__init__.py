"""Publishing: the combined feed (Atom, RSS, JSON Feed), per-source and per-tag feeds, and a page
for people, written as files or served over HTTP. Reads the database only.

``write_site(database, config)`` builds and writes everything into ``output.dir``;
``serve(database, config, host, port)`` serves the same over HTTP.
"""

from aggregator.publish.build import Site, plan_outputs
from aggregator.publish.entries import Entry
from aggregator.publish.select import PublishPolicy, select_entries
from aggregator.publish.server import PublishApp, serve
from aggregator.publish.write import BuildReport, PublishError, write_site

__all__ = [
    "BuildReport",
    "Entry",
    "PublishApp",
    "PublishError",
    "PublishPolicy",
    "Site",
    "plan_outputs",
    "select_entries",
    "serve",
    "write_site",
]
