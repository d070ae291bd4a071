"""``mutualaid status``: per-source health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import AppContext, ago, json_option, pass_app, print_json, stdout
from aggregator.publish.select import PublishPolicy, published_filter
from aggregator.runs import RunKind
from aggregator.storage.health import DaemonHealth, SourceHealth, daemon_health, source_health
from aggregator.storage.pending import PendingSummary, summaries
from aggregator.storage.runs import run_totals_by_name

if TYPE_CHECKING:
    from aggregator.storage.runs import RunTotals


@click.command("status")
@click.option(
    "--totals",
    is_flag=True,
    help="Also add up every run recorded per source (reads all the runs retention keeps).",
)
@json_option
@pass_app
def status(app: AppContext, totals: bool, as_json: bool) -> None:
    """Show each source's last success, last error, failures, next check and articles
    (published of stored), and a line for the daemon's rebuild or purge if its last run failed.

    Feed entries whose page is still to be fetched are counted per source, and those given up
    are listed with why (``pending`` in --json)."""
    database = app.open_database()
    try:
        with database.session() as session:
            published = published_filter(PublishPolicy.from_config(app.config))
            report = source_health(session, app.config.sources, published)
            daemon = daemon_health(session)
            pending = summaries(session, app.config.sources)
            added = run_totals_by_name(session, app.config.sources) if totals else None
    finally:
        database.close()
    if as_json:
        shown = {"database": database.url, "sources": report, "daemon": daemon, "pending": pending}
        print_json(shown if added is None else {**shown, "totals": added})
        return
    stdout.print(_table(report, database.url))
    for line in _error_lines(report):  # one line each, cut to the terminal (--json has all)
        stdout.print(_fit(line, stdout.width), highlight=False, markup=False, soft_wrap=True)
    for line in _daemon_lines(daemon) + _flag_lines(report) + _pending_lines(pending):
        stdout.print(line, highlight=False, markup=False, soft_wrap=True)
    if added is not None:
        stdout.print(_totals_table(added))


def _totals_table(added: dict[str, dict[str, RunTotals]]) -> Table:
    """Every run recorded, all kinds together, and since when."""
    from aggregator.storage.runs import RunTotals

    table = Table(title="Runs recorded", title_justify="left")
    longest = max((len(name) for name in added), default=6)
    table.add_column("source", no_wrap=True, min_width=max(longest, 6))
    for column in ("runs", "failed", "new", "updated", "since"):
        table.add_column(column, no_wrap=True, justify="right")
    for name, per_kind in added.items():
        total = sum(per_kind.values(), RunTotals())
        table.add_row(
            Text(name),
            str(total.runs),
            str(total.failed_runs),
            str(total.new),
            str(total.updated),
            f"{total.first_started_at:%Y-%m-%d}" if total.first_started_at else "-",
        )
    return table


def _table(report: list[SourceHealth], database_url: str) -> Table:
    """Short columns that read at 80 characters; names are never split or cut."""
    table = Table(title=f"Status of {database_url}", title_justify="left")
    longest = max((len(health.name) for health in report), default=6)
    table.add_column("source", no_wrap=True, min_width=max(longest, 6))
    for column in ("last ok", "failing", "next", "published"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for health in report:
        table.add_row(
            Text(health.name),
            ago(health.last_success_at),
            _failures(health),
            ago(health.next_check_at) if health.next_check_at else "due",
            f"{health.published or 0} of {health.articles}",
        )
    return table


def _error_lines(report: list[SourceHealth]) -> list[str]:
    return [
        f"error: {health.name}: {error}"
        for health in report
        if (error := _last_error(health)) != "-"
    ]


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 1, 1)] + "…"


def _last_error(health: SourceHealth) -> str:
    """The newest of the feed's last error and the last failed run (a crawl, a dead database)."""
    shown, at = health.last_error, health.last_error_at
    failure = health.last_failure
    if failure and failure.error and (at is None or failure.started_at > at):
        shown, at = f"{failure.kind}: {failure.error}", failure.started_at
    return f"{shown} ({ago(at)})" if shown else "-"


def _failures(health: SourceHealth) -> str:
    """How many polls failed in a row, and since when: ``2 since 3h ago``."""
    count = str(health.consecutive_failures)
    return f"{count} since {ago(health.failing_since)}" if health.failing_since else count


def _daemon_lines(daemon: DaemonHealth) -> list[str]:
    """One line per piece of the daemon's own work whose last run failed."""
    what: dict[str, str] = {RunKind.REBUILD: "feed rebuild", RunKind.PURGE: "purge of old articles"}
    return [
        f"last {what.get(run.kind, run.kind)} failed {ago(run.started_at)}: {run.error}"
        for run in daemon.failed
    ]


def _flag_lines(report: list[SourceHealth]) -> list[str]:
    """One line per warning about a feed that still works (an item cap, bad dates, GUIDs ...)."""
    return [f"warning: {health.name}: {flag}" for health in report for flag in health.flags]


def _pending_lines(pending: dict[str, PendingSummary]) -> list[str]:
    """Per source: entries still waiting for their page, and the newest ones given up."""
    lines = []
    for name, summary in pending.items():
        if summary.waiting:
            due = ago(summary.next_try_at) if summary.next_try_at else "-"
            lines.append(f"pending: {name}: {summary.waiting} entries to fetch (next try {due})")
        lines += [
            f"given up: {name}: {gone.link}: {gone.error} ({ago(gone.at)})"
            for gone in summary.given_up
        ]
    return lines
