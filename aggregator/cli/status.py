"""``mutualaid status``: per-source health."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import AppContext, ago, json_option, pass_app, print_json, stdout
from aggregator.storage.health import DaemonHealth, SourceHealth, daemon_health, source_health


@click.command("status")
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show each source's last success, last error, failures, next check and article counts,
    and a line for the daemon's feed rebuild or purge if its last run failed."""
    database = app.open_database()
    try:
        with database.session() as session:
            report = source_health(session, app.config.sources)
            daemon = daemon_health(session)
    finally:
        database.close()
    if as_json:
        print_json({"database": database.url, "sources": report, "daemon": daemon})
        return
    stdout.print(_table(report, database.url))
    for line in _daemon_lines(daemon):
        stdout.print(line, highlight=False, markup=False, soft_wrap=True)
    for line in _flag_lines(report):
        stdout.print(line, highlight=False, markup=False, soft_wrap=True)


def _table(report: list[SourceHealth], database_url: str) -> Table:
    table = Table(title=f"Status of {database_url}")
    for column in ("source", "last success", "last error", "failures", "next check", "articles"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "source"))
    for health in report:
        table.add_row(
            health.name,
            ago(health.last_success_at),
            Text(_last_error(health)),
            _failures(health),
            ago(health.next_check_at) if health.next_check_at else "due",
            f"{health.articles} ({health.sightings} seen)",
        )
    return table


def _last_error(health: SourceHealth) -> str:
    """The newest of the feed's last error and the last failed run (a crawl, a dead database)."""
    shown, at = health.last_error, health.last_error_at
    failure = health.last_failure
    if failure and failure.error and (at is None or failure.started_at > at):
        shown, at = f"{failure.kind}: {failure.error}", failure.started_at
    return f"{shown} ({ago(at)})" if shown else "-"


def _failures(health: SourceHealth) -> str:
    count = str(health.consecutive_failures)
    return f"{count} since {ago(health.failing_since)}" if health.failing_since else count


def _daemon_lines(daemon: DaemonHealth) -> list[str]:
    """One line per piece of the daemon's own work whose last run failed."""
    what = {"rebuild": "feed rebuild", "purge": "purge of old articles"}
    return [
        f"last {what.get(run.kind, run.kind)} failed {ago(run.started_at)}: {run.error}"
        for run in daemon.failed
    ]


def _flag_lines(report: list[SourceHealth]) -> list[str]:
    """One line per warning about a feed that still works (an item cap, bad dates, GUIDs ...)."""
    return [f"warning: {health.name}: {flag}" for health in report for flag in health.flags]
