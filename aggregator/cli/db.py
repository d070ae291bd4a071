"""``mutualaid db``: the database schema."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import click

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stdout
from aggregator.storage import migrate, open_database
from aggregator.storage.retention import PurgePreview, preview_purge, purge_before
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
    database = open_database(app.database_url(), upgrade=False)
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
    database = open_database(app.database_url(), upgrade=False)
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
@click.option("--dry-run", is_flag=True, help="Say what would be purged; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation on a terminal.")
@json_option
@pass_app
def purge(app: AppContext, days: int | None, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete old articles for good, leaving tombstones so they are never stored again.

    On a terminal it says what would go and asks first (--yes does not ask); --dry-run only says.
    """
    keep = days or app.config.retention.days
    if keep is None:
        raise click.UsageError("give --days N, or set retention.days in the configuration")
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=keep)
    database = app.open_database()
    try:
        preview = preview_purge(database, cutoff)
        if dry_run:
            _report_preview(preview, keep, as_json)
            return
        if preview.count and not yes and _on_terminal():
            _report_preview(preview, keep, as_json=False)
            click.confirm(f"Purge these {preview.count} article(s) for good?", abort=True)
        count = purge_before(database, cutoff, now) if preview.count else 0
    finally:
        database.close()
    if as_json:
        print_json({"database": database.url, "days": keep, "purged": count})
    else:
        stdout.print(f"purged {count} article(s) older than {keep} day(s)")


def _report_preview(preview: PurgePreview, keep: int, as_json: bool) -> None:
    if as_json:
        print_json(
            {"days": keep, "dry_run": True, "would_purge": preview.count,
             "oldest": preview.oldest, "newest": preview.newest}
        )  # fmt: skip
        return
    if not preview.count:
        stdout.print(f"no article is older than {keep} day(s): nothing to purge")
        return
    oldest = f"{preview.oldest:%Y-%m-%d}" if preview.oldest else "?"
    newest = f"{preview.newest:%Y-%m-%d}" if preview.newest else "?"
    stdout.print(
        f"would purge {preview.count} article(s) older than {keep} day(s), "
        f"dated {oldest} to {newest}"
    )


def _on_terminal() -> bool:
    return sys.stdin.isatty()
