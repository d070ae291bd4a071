"""``mutualaid feed build``: write the feeds and the page into the output folder."""

from __future__ import annotations

import click

from aggregator.cli.context import (
    AppContext,
    json_option,
    pass_app,
    print_json,
    stderr,
    stdout,
    warn_unset_publishing,
)
from aggregator.publish.write import BuildReport, Written, write_site


@click.group("feed")
def feed() -> None:
    """Build the published feeds and page."""


@feed.command("build")
@json_option
@pass_app
def build(app: AppContext, as_json: bool) -> None:
    """Write the feeds and the page into output.dir.

    The combined feed as feed.atom, feed.rss and feed.json; feeds/source/NAME.atom and
    feeds/tag/TAG.atom; index.html and style.css; with output.archive.enabled, the archive
    (articles/ID.html, sources/, tags/, archive/YYYY/MM/, sources.opml). Each file is written
    atomically; files whose content did not change are left untouched, and files the last
    build wrote that this one no longer makes are removed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    database = app.open_database()
    progress = Progress(
        TextColumn("building feeds"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=stderr,
        transient=True,
        disable=as_json or not stderr.is_terminal,
    )
    task = progress.add_task("", total=None)

    def planned(total: int) -> None:
        progress.update(task, total=total)

    def wrote(written: Written) -> None:
        progress.update(task, advance=1, description=written.path)

    try:
        with progress:
            report = write_site(database, app.config, on_plan=planned, on_file=wrote)
    finally:
        database.close()
    warn_unset_publishing(app.config)  # after the build: a failure's one line stays one line
    if as_json:
        print_json(report.as_dict())
        return
    _print_report(report)


def _print_report(report: BuildReport) -> None:
    for written in report.written:
        if written.changed:
            stdout.print(f"wrote {written.path} ({written.size:,} bytes)", highlight=False)
    for path in report.removed:
        stdout.print(f"removed {path}", highlight=False)
    changed = sum(written.changed for written in report.written)
    stdout.print(
        f"{report.folder}: {len(report.written)} files, {changed} changed, "
        f"{len(report.removed)} removed",
        highlight=False,
    )
