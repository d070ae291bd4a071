"""``mutualaid db``: the database schema."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stdout
from aggregator.storage import migrate, open_database
from aggregator.storage.sources import sync_sources


@click.group("db")
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@json_option
@pass_app
def upgrade(app: AppContext, as_json: bool) -> None:
    """Create the schema or bring it up to date, and register the configured sources.

    Safe to run again: an up-to-date database is left as it is.
    """
    database = open_database(app.config.database.url, upgrade=False)
    try:
        result = database.upgrade()
        with database.session() as session:
            sync_sources(session, app.config.sources, datetime.now(UTC))
    finally:
        database.close()
    if as_json:
        print_json({"database": database.url, "before": result.before, "after": result.after})
    elif result.changed:
        before = result.before or "empty"
        stdout.print(f"{database.url}: upgraded from {before} to {result.after}")
    else:
        stdout.print(f"{database.url}: already at {result.after}, nothing to do")


@db.command("current")
@json_option
@pass_app
def current(app: AppContext, as_json: bool) -> None:
    """Show the database's schema revision and the newest one this version knows."""
    database = open_database(app.config.database.url, upgrade=False)
    try:
        revision = migrate.current_revision(database.engine)
    finally:
        database.close()
    head = migrate.head_revision()
    if as_json:
        print_json({"database": database.url, "current": revision, "head": head})
        return
    state = "up to date" if revision == head else f"behind (newest is {head})"
    stdout.print(f"{database.url}: at {revision or 'no schema yet'}, {state}")
