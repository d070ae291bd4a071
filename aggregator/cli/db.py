"""``mutualaid db``: the database schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stdout
from aggregator.storage import migrate, open_database
from aggregator.storage.retention import purge_before
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
        with database.write_session() as session:
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


@db.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Purge articles older than this many days (default: retention.days).",
)
@json_option
@pass_app
def purge(app: AppContext, days: int | None, as_json: bool) -> None:
    """Delete old articles, leaving tombstones so they are never stored again."""
    keep = days or app.config.retention.days
    if keep is None:
        raise click.UsageError("give --days N, or set retention.days in the configuration")
    now = datetime.now(UTC)
    database = app.open_database()
    try:
        count = purge_before(database, now - timedelta(days=keep), now)
    finally:
        database.close()
    if as_json:
        print_json({"database": database.url, "days": keep, "purged": count})
    else:
        stdout.print(f"purged {count} article(s) older than {keep} day(s)")
