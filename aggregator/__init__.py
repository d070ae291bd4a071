"""mutualaid: collect writing on mutual aid, keep only the article, republish one clean feed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use: ``importlib.metadata``
    costs more than the rest of ``mutualaid --help``, so only the places that print it pay."""
    if name != "__version__":
        raise AttributeError(f"module 'aggregator' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("mutualaid")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
