"""``mutualaid init``: write a commented starter configuration and check it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from aggregator.cli.context import json_option, print_json, stdout
from aggregator.config import DEFAULT_FILE, load_config
from aggregator.errors import MutualAidError


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Replace a config.yaml that is already there.")
@json_option
def init(folder: Path, force: bool, as_json: bool) -> None:
    """Write a commented starter config.yaml into FOLDER (default: here) and check it.

    Fill in output.base_url and output.id_domain before publishing; then run
    'mutualaid run --once' in that folder.
    """
    path = folder / DEFAULT_FILE
    if path.exists() and not force:
        raise MutualAidError(f"{path} exists already (--force replaces it)")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_text(), encoding="utf-8")
    config = load_config(path, environ={})
    if as_json:
        print_json({"config": str(path), "sources": sorted(config.sources)})
        return
    stdout.print(f"wrote {path} ({len(config.sources)} source(s)); it checks out.", highlight=False)
    where = "here" if folder.resolve() == Path.cwd() else f"in {folder}"
    stdout.print(
        "Next: fill in output.base_url and output.id_domain, add your sources, then run "
        f"'mutualaid run --once' {where}.",
        highlight=False,
    )


def starter_text() -> str:
    return resources.files("aggregator").joinpath("starter.yaml").read_text(encoding="utf-8")
