"""``mutualaid poll``: poll the configured feeds now and show what each one gave."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from aggregator.cli import context  # its consoles when used: --json prints without rich
from aggregator.cli.context import AppContext, ago, json_option, pass_app, print_json
from aggregator.poll import Poller, SourceResult
from aggregator.runs import RunKind
from aggregator.storage.locks import hold_available

if TYPE_CHECKING:
    from rich.table import Table

MAX_PROBLEMS_SHOWN = 5


@click.command("poll")
@click.argument("names", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--backfill",
    type=click.IntRange(min=1),
    metavar="N",
    help="Also fetch up to N older posts of each named source (WordPress API, else the feed's "
    "older pages).",
)
@click.option("--force", is_flag=True, help="Poll sources that are backing off after failures.")
@json_option
@pass_app
def poll(
    app: AppContext, names: tuple[str, ...], backfill: int | None, force: bool, as_json: bool
) -> None:
    """Poll the feeds of the named sources (default: every enabled source).

    Unchanged feeds cost one conditional request, plus the pages of entries left for later
    that are due; entries that carry only a summary get their page fetched and extracted.
    Exits 1 when any source failed.
    """
    if backfill and not names:
        raise click.UsageError("--backfill needs the sources to backfill named")
    config = app.config
    for name in names:
        app.source(name)  # unknown names fail before anything is fetched
    database = app.open_database()
    chosen = list(names) or [n for n, s in config.sources.items() if s.enabled]
    try:
        # A source another process (the daemon) is polling right now is skipped, not fetched twice.
        with hold_available(database, [f"source:{n}" for n in chosen]) as (held, busy):
            with Poller(database, config) as poller:
                wanted = [lock.removeprefix("source:") for lock in held]
                results = (
                    _poll_with_progress(poller, wanted, backfill or 0, force, quiet=as_json)
                    if wanted
                    else []
                )
            results += [
                SourceResult(lock.removeprefix("source:"), RunKind.POLL, "skipped",
                             error="being polled by another process right now")
                for lock in busy
            ]  # fmt: skip
    finally:
        database.close()
    if as_json:
        print_json({"database": database.url, "sources": [r.as_dict() for r in results]})
    else:
        context.stdout.print(_table(results))
        _print_notes(results)
    if any(result.status == "failed" for result in results):
        raise click.exceptions.Exit(1)


def _poll_with_progress(
    poller: Poller, names: Sequence[str], backfill: int, force: bool, quiet: bool
) -> list[SourceResult]:
    if quiet:  # no bar to draw, so no rich.progress to import
        return poller.poll(names, force=force, backfill_count=backfill)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=context.stderr, transient=True) as progress:
        task = progress.add_task("polling", total=None)

        def planned(total: int) -> None:
            progress.update(task, total=total)

        def done(result: SourceResult) -> None:
            progress.update(task, advance=1, description=f"polled {result.source}")

        return poller.poll(
            names, force=force, backfill_count=backfill, on_plan=planned, on_result=done
        )


def _table(results: list[SourceResult]) -> Table:
    from rich.table import Table  # not for --json

    table = Table(title="Poll")
    backfilled = any(result.kind == RunKind.BACKFILL for result in results)
    headings = ["source", *(["kind"] if backfilled else []), "status", "new", "updated"]
    headings += ["unchanged", "failed", "requests", "next poll"]
    for heading in headings:
        numeric = heading in ("new", "updated", "unchanged", "failed", "requests")
        table.add_column(heading, justify="right" if numeric else "left", overflow="fold")
    for result in results:
        row = [result.source, *([result.kind] if backfilled else []), _status(result)]
        row += [str(result.new), str(result.updated), str(result.unchanged + result.duplicate)]
        row += [str(result.failed), str(result.requests), _next(result)]
        table.add_row(*row)
    return table


def _status(result: SourceResult) -> str:
    colours = {"ok": "green", "not_modified": "dim", "failed": "bold red", "skipped": "yellow"}
    label = "not modified" if result.status == "not_modified" else result.status
    return f"[{colours.get(result.status, 'white')}]{label}[/]"


def _next(result: SourceResult) -> str:
    return ago(result.next_check_at) if result.next_check_at else "-"


def _print_notes(results: list[SourceResult]) -> None:
    """Below the table: why sources failed or were skipped, moved feeds, failed entries."""
    for result in results:
        label = result.source if result.kind == RunKind.POLL else f"{result.source} ({result.kind})"
        if result.error:
            context.stdout.print(f"{label}: {result.error}", markup=False, highlight=False)
        if result.moved_to:
            context.stdout.print(
                f"{label}: the feed moved permanently to {result.moved_to}; "
                "consider updating the config",
                markup=False,
                highlight=False,
            )
        for url, reason in result.failures[:MAX_PROBLEMS_SHOWN]:
            context.stderr.print(f"{label}: {url}: {reason}", markup=False, highlight=False)
        if len(result.failures) > MAX_PROBLEMS_SHOWN:
            more = len(result.failures) - MAX_PROBLEMS_SHOWN
            context.stderr.print(f"{label}: … and {more} more failed entries")
