"""The ``mutualaid`` command line.

Commands are imported lazily (``aggregator.cli.lazy``): ``COMMANDS`` names each command's module
and its one-line help, so ``--version`` and ``--help`` import none of them and a command imports
only what it uses. To add a command, add a row here (and to ``SOURCES`` in ``sources.py`` for a
``sources`` subcommand); ``tests/test_startup.py`` checks that the row's help is the command's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from aggregator.cli.lazy import LazyGroup, lazy_commands
from aggregator.errors import MutualAidError
from aggregator.logs import configure_logging

# ``import httpx`` also imports httpx's own command-line tool, and with it rich.progress,
# rich.syntax and pygments (a tenth of the imports of a poll of unchanged feeds). A ``None`` entry
# makes that one import fail, which httpx expects (rich is optional) and answers with a stub
# ``httpx.main``; nothing here runs httpx's command line.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
# pydantic looks for plugins in every installed package's entry points when it builds its first
# model (the config's); the tool uses none. Setting PYDANTIC_DISABLE_PLUGINS yourself wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# name, "module:attribute", the first line of the command's docstring
COMMANDS = lazy_commands(
    [
        ("db", "aggregator.cli.db:db", "Manage the database schema."),
        (
            "init",
            "aggregator.cli.init:init",
            "Write a commented starter config.yaml into FOLDER (default: here) and check it.",
        ),
        ("sources", "aggregator.cli.sources:sources", "List and inspect the configured sources."),
        (
            "status",
            "aggregator.cli.status:status",
            "Show each source's last success, last error, failures, next check and articles "
            "(published of stored), and a line for the daemon's rebuild or purge if its last run "
            "failed.",
        ),
        (
            "articles",
            "aggregator.cli.articles:articles",
            "List stored articles, newest first: date, source, score, and published or why not.",
        ),
        (
            "extract",
            "aggregator.cli.extract:extract",
            "Print the article extracted from each INPUT: an HTML file, an http(s) URL, or - for "
            "standard input (the default).",
        ),
        (
            "review",
            "aggregator.cli.review:review_command",
            "List what the topic filter held back near the threshold and what it published with "
            "the lowest scores, with any curator's decision.",
        ),
        (
            "search",
            "aggregator.cli.search:search",
            "Search the published articles (--all: every stored one), best matches first.",
        ),
        ("rules", "aggregator.cli.rules:rules", "Per-site extraction rules."),
        ("feed", "aggregator.cli.feed:feed", "Build the published feeds and page."),
        (
            "serve",
            "aggregator.cli.serve:serve",
            "Serve the feeds, the page and /healthz from the database until SIGTERM or Ctrl-C, "
            "which let requests in flight finish (serve.shutdown_timeout) and exit 0.",
        ),
        (
            "crawl",
            "aggregator.cli.crawl:crawl",
            "Crawl SOURCE's listings and sitemaps (its crawl: block) and store the articles found.",
        ),
        (
            "worker",
            "aggregator.cli.crawl:worker",
            "Work on shared crawls (crawl.backend: redis) of SOURCES (default: every such source).",
        ),
        (
            "poll",
            "aggregator.cli.poll:poll",
            "Poll the feeds of the named sources (default: every enabled source).",
        ),
        (
            "run",
            "aggregator.cli.run:run",
            "Poll each source on its interval, crawl on the slower crawl schedule, and rebuild the "
            "feeds after every run that stored something, until SIGTERM or Ctrl-C.",
        ),
    ]
)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: $MUTUALAID_CONFIG, else ./config.yaml).",
)
@click.option("--verbose", "-v", count=True, help="More log output (-vv for debug).")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line (for collectors).")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, wanted: _print_version(ctx, wanted),
    help="Show the version and exit.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, log_json: bool) -> None:
    """Collect writing on mutual aid, keep only the article, republish one clean feed."""
    from aggregator.cli.context import AppContext

    ctx.obj = AppContext(config_path=config_path)
    configure_logging(verbose, as_json=log_json)


def _print_version(ctx: click.Context, wanted: bool) -> None:
    if not wanted or ctx.resilient_parsing:
        return
    import aggregator

    click.echo(f"mutualaid {aggregator.__version__}")
    ctx.exit()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected failures become one line on stderr and a non-zero exit code."""
    try:
        result: Any = cli.main(args=argv, prog_name="mutualaid", standalone_mode=False)
    except MutualAidError as exc:
        from rich.markup import escape

        from aggregator.cli.context import stderr

        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        from aggregator.cli.context import stderr

        stderr.print("aborted")
        return 130
    return result if isinstance(result, int) else 0
