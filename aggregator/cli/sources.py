"""``mutualaid sources``: the configured sources."""

from __future__ import annotations

import click
from rich.table import Table

from aggregator.cli.context import (
    AppContext,
    human_duration,
    json_option,
    pass_app,
    print_json,
    stdout,
)
from aggregator.cli.lazy import LazyGroup, lazy_commands

# The editing commands import the fetchers and the OPML code; ``sources list`` needs neither.
EDITING = lazy_commands(
    [
        (
            "add",
            "aggregator.cli.sources_edit:add_source",
            "Find the feed of the site at URL and add the site to the config file as a source.",
        ),
        (
            "import",
            "aggregator.cli.sources_edit:import_sources",
            "Add every feed of an OPML file to the config file (feeds already configured are "
            "skipped).",
        ),
        (
            "export",
            "aggregator.cli.sources_edit:export_sources",
            "Write the configured sources that have a feed as an OPML subscription list.",
        ),
    ]
)


@click.group("sources", cls=LazyGroup, lazy=EDITING)
def sources() -> None:
    """List and inspect the configured sources."""


@sources.command("list")
@json_option
@pass_app
def list_sources(app: AppContext, as_json: bool) -> None:
    """List the sources in the configuration (validating it on the way)."""
    config = app.config
    if as_json:
        print_json(
            [
                {
                    "name": name,
                    **source.model_dump(),
                    "poll_interval": config.poll_interval(name),
                    "republish": config.republish(name),
                }
                for name, source in config.sources.items()
            ]
        )
        return
    table = Table(title=f"Sources ({config.origin})")
    for column in ("name", "feed", "listings", "relevance", "every", "enabled"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "source"))
    for name, source in config.sources.items():
        table.add_row(
            name,
            source.feed or "-",
            "\n".join(source.listings) or "-",
            source.relevance,
            human_duration(config.poll_interval(name)),
            "yes" if source.enabled else "no",
        )
    stdout.print(table)
