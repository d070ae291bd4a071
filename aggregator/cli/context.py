"""What every command shares: the chosen config, the database, and how output is printed."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aggregator.config import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    DEFAULT_FILE,
    PACKAGED_DEFAULTS,
    Config,
    SourceConfig,
    load_config,
    parse_duration,
)
from aggregator.dates import parse_date
from aggregator.errors import ConfigError, UnknownSourceError

if TYPE_CHECKING:
    from rich.console import Console

    from aggregator.storage import Database

    # Made on first use (``__getattr__``): rich costs more to import than a command printing
    # JSON, or nothing, should pay. A module importing these names makes them at once.
    stdout: Console
    stderr: Console

_CONSOLE_OPTIONS: dict[str, dict[str, Any]] = {
    "stdout": {"soft_wrap": True},
    "stderr": {"stderr": True, "soft_wrap": True},
}


def __getattr__(name: str) -> Any:
    if name not in _CONSOLE_OPTIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    """``stdout`` or ``stderr``, made now if not yet (then a global like any other)."""
    if name not in globals():
        from rich.console import Console

        globals()[name] = Console(**_CONSOLE_OPTIONS[name])
    console: Console = globals()[name]
    return console


@dataclasses.dataclass
class AppContext:
    """Held in click's context object; loads the config and database only when a command asks."""

    config_path: Path | None = None
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def database_url(self) -> str:
        """The configured database's URL; without any configuration, an error saying how to
        start (a command must not leave a database and folders wherever it was run)."""
        config = self.config
        if config.origin == PACKAGED_DEFAULTS and not os.environ.get(DATABASE_URL_ENV):
            raise ConfigError(
                "no configuration",
                f"none found (./{DEFAULT_FILE}, --config, ${CONFIG_ENV}); run 'mutualaid init' "
                "to write a starter config.yaml",
            )
        return config.database.url

    def open_database(self) -> Database:
        from aggregator.storage import open_database

        return open_database(self.database_url())

    def source(self, name: str) -> SourceConfig:
        """The named source's settings; an unknown name is an error listing the known ones."""
        if name not in self.config.sources:
            raise UnknownSourceError(name, list(self.config.sources))
        return self.config.sources[name]


pass_app = click.make_pass_decorator(AppContext, ensure=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def print_json(value: Any, indent: int | None = 2) -> None:
    """Machine output: plain JSON on stdout, no colour, no wrapping."""
    text = json.dumps(value, default=_jsonable, indent=indent, ensure_ascii=False)
    sys.stdout.write(text + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """A short human form of a past or future moment: '5m ago', 'in 2h', 'never'."""
    if moment is None:
        return "never"
    delta = (now or datetime.now(UTC)) - moment
    seconds = delta.total_seconds()
    text = human_duration(timedelta(seconds=abs(seconds)))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def human_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def warn_unset_publishing(config: Config) -> None:
    """Say once, one line each, which publishing settings are still placeholders."""
    from aggregator.publish.build import unset_publishing_settings

    for problem in unset_publishing_settings(config):
        _console("stderr").print(f"warning: {problem}", markup=False, highlight=False)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``--since``: a date (``2024-05-01``), a time with zone, or a duration back (``30d``)."""
    if not text:
        return None
    if (moment := parse_date(text)) is not None:
        return moment
    try:
        return (now or datetime.now(UTC)) - parse_duration(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a date (2024-05-01) nor a duration (30d)", param_hint="--since"
        ) from None
