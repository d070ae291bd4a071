"""``mutualaid rules``: extraction rules, and what the tool has learned on its own."""

from __future__ import annotations

import click
import yaml
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stdout
from aggregator.storage.boilerplate import suggest_rules
from aggregator.storage.sources import source_ids


@click.group("rules")
def rules() -> None:
    """Per-site extraction rules."""


@rules.command("suggest")
@click.argument("source")
@click.option(
    "--min-articles", default=2, show_default=True, help="Show blocks seen in this many articles."
)
@json_option
@pass_app
def suggest(app: AppContext, source: str, min_articles: int, as_json: bool) -> None:
    """Print blocks of text that recur across SOURCE's articles, as candidate rules.

    Learned blocks are already dropped; copying them into config.yaml as drop_phrases makes the
    rule explicit and reviewable.
    """
    app.source(source)
    database = app.open_database()
    try:
        with database.session() as session:
            source_id = source_ids(session).get(source)
            found = suggest_rules(session, source_id, min_articles) if source_id else []
    finally:
        database.close()
    if as_json:
        print_json([{**vars(item), "has_text": item.has_text} for item in found])
        return
    if not found:
        stdout.print(f"no recurring blocks found for {source} yet")
        return
    table = Table(title=f"Recurring blocks in {source}")
    for column in ("articles", "authors", "learned", "text"):
        table.add_column(column, overflow="fold")
    for item in found:
        table.add_row(
            str(item.articles), str(item.authors), "yes" if item.learned else "no", Text(item.text)
        )
    stdout.print(table)
    phrases = [item.text for item in found if item.has_text]
    if phrases:
        snippet = {"sources": {source: {"rules": {"drop_phrases": phrases}}}}
        stdout.print("\nAs rules for config.yaml:\n", markup=False)
        stdout.print(
            yaml.safe_dump(snippet, allow_unicode=True, sort_keys=False),
            markup=False,
            highlight=False,
        )
    if len(phrases) < len(found):
        stdout.print(
            "Blocks without text (icons, links) are dropped once learned; a CSS rule under "
            "'drop' makes that explicit.",
            markup=False,
            highlight=False,
        )
