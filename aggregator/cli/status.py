"""``mutualaid status``: per-source health."""

from __future__ import annotations

import click
from rich.table import Table

from aggregator.cli.context import AppContext, ago, json_option, pass_app, print_json, stdout
from aggregator.storage.health import SourceHealth, source_health


@click.command("status")
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show each source's last success, last error, failures, next check and article counts."""
    database = app.open_database()
    try:
        with database.session() as session:
            report = source_health(session, app.config.sources)
    finally:
        database.close()
    if as_json:
        print_json({"database": database.url, "sources": report})
        return
    stdout.print(_table(report, database.url))


def _table(report: list[SourceHealth], database_url: str) -> Table:
    table = Table(title=f"Status of {database_url}")
    for column in ("source", "last success", "last error", "failures", "next check", "articles"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "source"))
    for health in report:
        error = "-"
        if health.last_error:
            error = f"{health.last_error} ({ago(health.last_error_at)})"
        table.add_row(
            health.name,
            ago(health.last_success_at),
            error,
            str(health.consecutive_failures),
            ago(health.next_check_at) if health.next_check_at else "due",
            f"{health.articles} ({health.sightings} seen)",
        )
    return table
