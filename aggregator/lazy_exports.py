"""Package names imported on first use, for packages whose modules are costly to import.

A package lists each public name with the module that defines it and sets
``__getattr__ = lazy_exports(__name__, HOMES)``; ``from package import name`` then imports only
that name's module. The package also imports the names under ``TYPE_CHECKING`` and lists them in
``__all__``, for type checkers and linters; ``tests/test_startup.py`` checks the two lists agree.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that finds each name of ``homes`` in ``package.<its home>``."""

    def find(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home}"), name)

    return find
