"""Publishing: the combined feed (Atom, RSS, JSON Feed), per-source and per-tag feeds, and a page
for people, written as files or served over HTTP. Reads the database only.

``write_site(database, config)`` builds and writes everything into ``output.dir``;
``serve(database, config, host, port)`` serves the same over HTTP. The names below are loaded
when first used, so a module that needs only ``publish.names`` (storage, filing an article's tag
slugs) does not load the server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aggregator.publish.build import Site, plan_outputs
    from aggregator.publish.entries import Entry
    from aggregator.publish.select import PublishPolicy, select_entries
    from aggregator.publish.server import PublishApp, serve
    from aggregator.publish.write import BuildReport, PublishError, write_site

_WHERE = {
    "BuildReport": "write",
    "Entry": "entries",
    "PublishApp": "server",
    "PublishError": "write",
    "PublishPolicy": "select",
    "Site": "build",
    "plan_outputs": "build",
    "select_entries": "select",
    "serve": "server",
    "write_site": "write",
}
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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"aggregator.publish.{_WHERE[name]}"), name)
