"""``mutualaid review``: the articles nearest the topic filter's threshold, on both sides."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stdout
from aggregator.publish.review import Review, ReviewLine, ReviewQuery, review
from aggregator.publish.select import PublishPolicy


@click.command("review")
@click.option("--source", help="Only articles seen at this source.")
@click.option(
    "--limit", type=click.IntRange(min=1), help="Articles in each list (default: review.limit)."
)
@click.option(
    "--margin",
    type=click.FloatRange(min=0, min_open=True),
    help="How far below the threshold to look (default: review.margin).",
)
@json_option
@pass_app
def review_command(
    app: AppContext, source: str | None, limit: int | None, margin: float | None, as_json: bool
) -> None:
    """List what the topic filter held back near the threshold and what it published with the
    lowest scores, with any curator's decision.

    Decide with 'articles publish|hold|pin ID'; 'articles show ID' explains one.
    """
    if source is not None:
        app.source(source)
    settings = app.config.review
    query = ReviewQuery(margin or settings.margin, limit or settings.limit, source)
    profile = app.config.topic.profile()
    database = app.open_database()
    try:
        with database.session() as session:
            found = review(session, profile, PublishPolicy.from_config(app.config), query)
    finally:
        database.close()
    if as_json:
        print_json(found)
        return
    stdout.print(_table(found, "held back near the threshold", found.held_back))
    stdout.print()
    stdout.print(_table(found, "published with the lowest scores", found.lowest_published))


def _table(found: Review, heading: str, lines: list[ReviewLine]) -> Table | Text:
    low = found.threshold - found.margin
    span = f"{low:g} to {found.threshold:g}" if "held" in heading else f"{found.threshold:g}+"
    title = f"{heading} (score {span})"
    if not lines:
        return Text(f"{title}: none", style="dim")
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    source_width = min(max(6, *(len(line.source) for line in lines)), 16)
    table.add_column("id", justify="right", no_wrap=True, min_width=max(2, len(str(lines[-1].id))))
    table.add_column("score", justify="right", no_wrap=True, min_width=5)
    table.add_column("date", no_wrap=True, min_width=10)
    table.add_column("source", no_wrap=True, min_width=source_width, max_width=16)
    table.add_column("decided", no_wrap=True, min_width=7)
    table.add_column("title", ratio=3, overflow="ellipsis")
    table.add_column("terms", ratio=2, overflow="ellipsis")
    for line in lines:
        table.add_row(
            str(line.id),
            f"{line.score:.1f}",
            line.published_at.strftime("%Y-%m-%d") if line.published_at else "-",
            Text(line.source),
            Text(line.decision or "-", style="bold" if line.decision else "dim"),
            Text(line.title, no_wrap=True, overflow="ellipsis"),
            Text(", ".join(line.terms) or "-", no_wrap=True, overflow="ellipsis"),
        )
    return table
