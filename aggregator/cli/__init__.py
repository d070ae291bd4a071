"""The ``mutualaid`` command line."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from aggregator import __version__
from aggregator.cli.articles import articles
from aggregator.cli.context import AppContext, stderr
from aggregator.cli.crawl import crawl, worker
from aggregator.cli.db import db
from aggregator.cli.extract import extract
from aggregator.cli.feed import feed
from aggregator.cli.init import init
from aggregator.cli.poll import poll
from aggregator.cli.rules import rules
from aggregator.cli.run import run
from aggregator.cli.serve import serve
from aggregator.cli.sources import sources
from aggregator.cli.sources_edit import add_source, export_sources, import_sources
from aggregator.cli.status import status
from aggregator.errors import MutualAidError
from aggregator.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: $MUTUALAID_CONFIG, else ./config.yaml).",
)
@click.option("--verbose", "-v", count=True, help="More log output (-vv for debug).")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line (for collectors).")
@click.version_option(__version__, prog_name="mutualaid", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, log_json: bool) -> None:
    """Collect writing on mutual aid, keep only the article, republish one clean feed."""
    ctx.obj = AppContext(config_path=config_path)
    configure_logging(verbose, as_json=log_json)


cli.add_command(db)
cli.add_command(init)
cli.add_command(sources)
cli.add_command(status)
cli.add_command(articles)
cli.add_command(extract)
cli.add_command(rules)
cli.add_command(feed)
cli.add_command(serve)
cli.add_command(crawl)
cli.add_command(worker)
cli.add_command(poll)
cli.add_command(run)
sources.add_command(add_source)
sources.add_command(import_sources)
sources.add_command(export_sources)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected failures become one line on stderr and a non-zero exit code."""
    try:
        result = cli.main(args=argv, prog_name="mutualaid", standalone_mode=False)
    except MutualAidError as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        stderr.print("aborted")
        return 130
    return result if isinstance(result, int) else 0
