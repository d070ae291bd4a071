"""One exception root for everything the tool expects to go wrong.

The CLI turns a ``MutualAidError`` into one line on stderr and a non-zero exit; anything else is a
bug and keeps its traceback. Errors about a URL carry it, so a log line names what failed.
"""

from __future__ import annotations


class MutualAidError(Exception):
    """Base of every expected failure."""

    exit_code = 1


class ConfigError(MutualAidError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = 2

    def __init__(self, path: str, message: str, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.message = message
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {message}")


class StorageError(MutualAidError):
    """The database cannot be opened, migrated or written."""


class UnknownSourceError(MutualAidError):
    """A command named a source that the configuration does not define."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        choices = ", ".join(sorted(known)) or "none configured"
        super().__init__(f"unknown source {name!r} (known: {choices})")


class FetchError(MutualAidError):
    """A URL could not be fetched, or answered with something unusable."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class FetchStoppedError(FetchError):
    """A fetch cut short because the process is stopping: no fault of the site's."""

    REASON = "stopped: the process is shutting down"

    def __init__(self, url: str, reason: str = REASON) -> None:
        super().__init__(url, reason)


class NotAnArticleError(MutualAidError):
    """A page is not one article (a listing, an empty or too-short page): skipped, not stored."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class BlockedDestinationError(FetchError):
    """A URL points at a scheme or an address this tool must not fetch (see ``aggregator.net``)."""
