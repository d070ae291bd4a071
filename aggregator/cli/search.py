"""``mutualaid search``: full-text search over the stored articles, best matches first."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import (
    AppContext,
    json_option,
    parse_since,
    pass_app,
    print_json,
    stdout,
)
from aggregator.publish.select import PublishPolicy
from aggregator.search.marks import marked_parts, unmarked
from aggregator.search.query import parse_query
from aggregator.search.results import Result, SearchScope, find

MAX_LIMIT = 500


@click.command("search")
@click.argument("words", nargs=-1, required=True, metavar="QUERY...")
@click.option("--source", help="Only articles seen at this source.")
@click.option("--since", help="Published on or after DATE (2024-05-01), or within 30d.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True)
@click.option(
    "--all", "every", is_flag=True, help="Search every stored article, not only published ones."
)
@json_option
@pass_app
def search(
    app: AppContext,
    words: tuple[str, ...],
    source: str | None,
    since: str | None,
    limit: int,
    every: bool,
    as_json: bool,
) -> None:
    """Search the published articles (--all: every stored one), best matches first.

    QUERY: words (all must occur), "quoted phrases", -word or -"phrase" to exclude,
    source:NAME and tag:TAG. Put -- before a query that starts with -:
    mutualaid search -- -police "tenant union".
    """
    query = parse_query(" ".join(words))
    for name in (source, query.source):
        if name is not None:
            app.source(name)
    scope = SearchScope(source, parse_since(since), published_only=not every)
    policy = PublishPolicy.from_config(app.config)
    database = app.open_database()
    try:
        with database.session() as session:
            results = find(session, policy, query, limit, 0, scope)
    finally:
        database.close()
    if as_json:
        print_json([_json(result) for result in results])
        return
    if not results:
        stdout.print("no article matches", highlight=False)
        return
    stdout.print(_table(results))


def _json(result: Result) -> dict[str, Any]:
    entry = result.entry
    return {
        "id": entry.article_id,
        "title": entry.title,
        "url": entry.url,
        "source": entry.original.source.name,
        "published": entry.published,
        "rank": result.rank,
        "snippet": unmarked(result.snippet),
    }


def _table(results: list[Result]) -> Table:
    table = Table(show_edge=False, pad_edge=False, show_lines=True)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("source", no_wrap=True, max_width=16, overflow="ellipsis")
    table.add_column("title and snippet", ratio=1)
    for result in results:
        entry = result.entry
        cell = Text(entry.title, style="bold")
        if result.snippet:
            cell.append("\n")
            cell.append_text(_highlighted(result.snippet))
        table.add_row(
            str(entry.article_id),
            entry.published.strftime("%Y-%m-%d"),
            entry.original.source.name,
            cell,
        )
    return table


def _highlighted(snippet: str) -> Text:
    text = Text()
    for part, match in marked_parts(snippet):
        text.append(part, style="bold yellow" if match else None)
    return text
