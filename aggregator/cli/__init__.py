"""The ``mutualaid`` command line."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from aggregator import __version__
from aggregator.cli.context import AppContext, stderr
from aggregator.cli.db import db
from aggregator.cli.extract import extract
from aggregator.cli.rules import rules
from aggregator.cli.sources import sources
from aggregator.cli.status import status
from aggregator.errors import MutualAidError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: $MUTUALAID_CONFIG, else ./config.yaml).",
)
@click.option("--verbose", "-v", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="mutualaid", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Collect writing on mutual aid, keep only the article, republish one clean feed."""
    ctx.obj = AppContext(config_path=config_path)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


cli.add_command(db)
cli.add_command(sources)
cli.add_command(status)
cli.add_command(extract)
cli.add_command(rules)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected failures become one line on stderr and a non-zero exit code."""
    try:
        result = cli.main(args=argv, prog_name="mutualaid", standalone_mode=False)
    except MutualAidError as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        stderr.print("aborted")
        return 130
    return result if isinstance(result, int) else 0
