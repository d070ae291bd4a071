"""Optional engines (PostgreSQL, Redis) are imported only where a configuration asks for them.

The README's main install has no extras; a config that names PostgreSQL or a Redis crawl on such an
install gets one line naming the extra to add, not a traceback from deep inside an import.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from aggregator.errors import MutualAidError


class MissingExtraError(MutualAidError):
    """A feature the configuration asks for needs a package of an extra that is not installed."""

    exit_code = 2

    def __init__(self, purpose: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{purpose} needs the '{extra}' extra: pip install 'mutualaid[{extra}]'")


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module``; if it (or one of its own imports) is missing, say which extra to add."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(purpose, extra) from exc
