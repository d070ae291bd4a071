"""Publishing: the combined feed (Atom, RSS, JSON Feed), per-source and per-tag feeds, and a page
for people, written as files or served over HTTP. Reads the database only.

``write_site(database, config)`` builds and writes everything into ``output.dir``;
``serve(database, config, host, port)`` serves the same over HTTP.

The names below are imported on first use: ``status`` and ``articles`` need only ``select``,
storage only ``names`` (to file tag slugs), and importing this package must not bring in the
feed writers, lxml or waitress with them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aggregator.publish.build import Site, plan_outputs
    from aggregator.publish.entries import Entry
    from aggregator.publish.select import PublishPolicy, select_entries
    from aggregator.publish.server import PublishApp, serve
    from aggregator.publish.write import BuildReport, PublishError, write_site

_HOMES = {
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
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
