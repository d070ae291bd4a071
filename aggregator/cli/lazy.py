"""A click group that imports a subcommand's module only when that subcommand is used.

Every command pulls in what it works with (SQLAlchemy, trafilatura, Scrapy, waitress ...), which
together cost most of a second; ``mutualaid --version`` and ``--help`` need none of it. The group
holds a table of name -> ``LazyCommand`` (where the command lives and its one-line help), lists
and describes commands from the table, and imports a module when ``get_command`` asks for it,
which click does to invoke a command or show its own help. ``tests/test_startup.py`` checks
that each table entry resolves to a command of that name whose own short help is the one listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``"package.module:attribute"``) and its one-line help."""

    target: str
    help: str

    def placeholder(self, name: str) -> click.Command:
        """A stand-in that click can describe the way it describes the real command."""
        return click.Command(name, help=self.help)

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose subcommands in ``lazy`` are imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the table: no command module is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._short_help(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, text in rows if text is not None])

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str | None:
        """The listed help of one command; None for a hidden eager command."""
        if name in self.lazy and name not in self.commands:
            return self.lazy[name].placeholder(name).get_short_help_str(limit)
        command = self.get_command(ctx, name)
        if command is None or command.hidden:
            return None
        return command.get_short_help_str(limit)


def lazy_commands(entries: Sequence[tuple[str, str, str]]) -> dict[str, LazyCommand]:
    """The table from ``(name, "module:attribute", help)`` rows."""
    return {name: LazyCommand(target, text) for name, target, text in entries}
