"""Run ``mutualaid ARGS`` as on the README's main install, where no extra is installed.

``python -m tests.bare ARGS``: every package that only an extra of ``pyproject.toml`` brings in
(redis, scrapy-redis, psycopg) fails to import, as it would on a bare install, even though the
test environment has them all.
"""

from __future__ import annotations

import importlib.abc
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# Extras that only add tools for developing, not engines the tool itself may import.
DEVELOPMENT_EXTRAS = {"test"}


def extra_modules() -> set[str]:
    """Top-level module names of the packages the engine extras add (``scrapy-redis`` →
    ``scrapy_redis``, ``psycopg[binary]`` → ``psycopg``)."""
    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = set()
    for extra, requirements in extras.items():
        if extra in DEVELOPMENT_EXTRAS:
            continue
        for requirement in requirements:
            name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
            names.add(name.lower().replace("-", "_"))
    return names


class BlockExtras(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None) -> None:
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def main() -> int:
    blocked = extra_modules()
    for name in list(sys.modules):
        if name.split(".")[0] in blocked:
            del sys.modules[name]
    sys.meta_path.insert(0, BlockExtras(blocked))
    from aggregator.cli import main as mutualaid

    return mutualaid(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
