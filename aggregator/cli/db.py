"""``mutualaid db``: the database schema, and purging what retention no longer keeps."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stdout
from aggregator.storage import migrate, open_database
from aggregator.storage.retention import PurgePreview, preview_purge, purge_before
from aggregator.storage.sources import sync_sources

if TYPE_CHECKING:
    from aggregator.storage import Database
    from aggregator.storage.runs import RunsPreview


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
@click.option(
    "--runs-days",
    type=click.IntRange(min=1),
    help="Fold runs older than this many days into per-source totals (default: "
    "retention.runs_days).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be purged; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation on a terminal.")
@json_option
@pass_app
def purge(
    app: AppContext,
    days: int | None,
    runs_days: int | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Delete old articles for good, leaving tombstones so they are never stored again, and
    fold old runs into per-source totals (what status reads of them is kept).

    On a terminal it says what would go and asks first (--yes does not ask); --dry-run only says.
    """
    plan = _Plan(days or app.config.retention.days, runs_days or app.config.retention.runs_days)
    if plan.days is None and plan.runs_days is None:
        raise click.UsageError(
            "give --days N, or set retention.days (or retention.runs_days) in the configuration"
        )
    now = datetime.now(UTC)
    database = app.open_database()
    try:
        preview = plan.preview(database, now)
        if dry_run:
            _report_preview(plan, preview, as_json)
            return
        if preview.anything and not yes and _on_terminal():
            _report_preview(plan, preview, as_json=False)
            click.confirm(f"Purge {preview.what()} for good?", abort=True)
        counts = plan.apply(database, now, preview, app.config.output.dir)
    finally:
        database.close()
    _report_purged(plan, counts, database.url, as_json)


@dataclass(frozen=True)
class _Preview:
    articles: PurgePreview | None  # None: articles are kept (no retention.days)
    runs: RunsPreview | None  # None: runs are kept (no retention.runs_days)

    @property
    def anything(self) -> bool:
        return bool((self.articles and self.articles.count) or (self.runs and self.runs.count))

    def what(self) -> str:
        parts = [f"{self.articles.count} article(s)"] if self.articles else []
        parts += [f"{self.runs.count} run(s) (folded into totals)"] if self.runs else []
        return " and ".join(parts)


@dataclass(frozen=True)
class _Plan:
    days: int | None  # articles
    runs_days: int | None

    def preview(self, database: Database, now: datetime) -> _Preview:
        from aggregator.storage.runs import preview_runs_purge

        articles = runs = None
        if self.days is not None:
            articles = preview_purge(database, now - timedelta(days=self.days))
        if self.runs_days is not None:
            runs = preview_runs_purge(database, now - timedelta(days=self.runs_days))
        return _Preview(articles, runs)

    def apply(
        self, database: Database, now: datetime, preview: _Preview, output: Path
    ) -> dict[str, int]:
        from aggregator.publish.manifest import prune_seen_changes
        from aggregator.storage.runs import purge_runs_before

        counts = {}
        if self.days is not None and preview.articles and preview.articles.count:
            counts["purged"] = purge_before(database, now - timedelta(days=self.days), now)
        if self.days is not None:  # what earlier purges left, once a build has seen it
            counts["changes_pruned"] = prune_seen_changes(database, output)
        if self.runs_days is not None and preview.runs and preview.runs.count:
            counts["runs_purged"] = purge_runs_before(
                database, now - timedelta(days=self.runs_days)
            )
        return counts


def _report_preview(plan: _Plan, preview: _Preview, as_json: bool) -> None:
    articles, runs = preview.articles, preview.runs
    if as_json:
        print_json(
            {"days": plan.days, "dry_run": True,
             "would_purge": articles.count if articles else 0,
             "oldest": articles.oldest if articles else None,
             "newest": articles.newest if articles else None,
             "runs_days": plan.runs_days, "would_purge_runs": runs.count if runs else 0,
             "runs_oldest": runs.oldest if runs else None,
             "runs_newest": runs.newest if runs else None}
        )  # fmt: skip
        return
    if plan.days is None:
        stdout.print("articles: kept (retention.days is not set; --days N purges them)")
    elif articles and articles.count:
        stdout.print(
            f"would purge {articles.count} article(s) older than {plan.days} day(s), "
            f"dated {_span(articles.oldest, articles.newest)}"
        )
    else:
        stdout.print(f"no article is older than {plan.days} day(s): nothing to purge")
    if runs and runs.count:
        stdout.print(
            f"would fold {runs.count} run(s) older than {plan.runs_days} day(s) into "
            f"per-source totals, started {_span(runs.oldest, runs.newest)}"
        )
    elif plan.runs_days is not None:
        stdout.print(f"no run to fold: none older than {plan.runs_days} day(s) but those kept")


def _span(oldest: datetime | None, newest: datetime | None) -> str:
    first = f"{oldest:%Y-%m-%d}" if oldest else "?"
    last = f"{newest:%Y-%m-%d}" if newest else "?"
    return f"{first} to {last}"


def _report_purged(plan: _Plan, counts: dict[str, int], url: str, as_json: bool) -> None:
    purged, runs = counts.get("purged", 0), counts.get("runs_purged", 0)
    if as_json:
        print_json(
            {"database": url, "days": plan.days, "purged": purged,
             "changes_pruned": counts.get("changes_pruned", 0),
             "runs_days": plan.runs_days, "runs_purged": runs}
        )  # fmt: skip
        return
    if plan.days is not None:
        stdout.print(f"purged {purged} article(s) older than {plan.days} day(s)")
    if plan.runs_days is not None:
        stdout.print(
            f"folded {runs} run(s) older than {plan.runs_days} day(s) into per-source totals"
        )


def _on_terminal() -> bool:
    return sys.stdin.isatty()
