"""Logging: one line per event, for people or (``--log-json``) as JSON for log collectors.

Code logs with ``extra={"source": ..., "url": ...}`` where it knows them; both formats show
those fields, so every line about a fetch or a stored article says which source and URL.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# Fields callers may attach with ``extra=`` and that both formats print.
CONTEXT_FIELDS = ("source", "url", "run", "outcome", "duration")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message [source=… url=…]`` on one line."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        )
        return f"{line} [{context}]" if context else line


# The extraction libraries warn about every odd page ("discarding data", "empty link"): nothing a
# user can act on. Shown from -v on.
EXTRACTION_LIBRARIES = ("trafilatura", "htmldate", "courlan", "justext", "readability")
# The engines under us talk at INFO of their own work (migrations, job scheduling): from -vv only.
ENGINE_LIBRARIES = ("alembic", "apscheduler", "httpx", "httpcore", "scrapy", "twisted", "waitress")
# waitress warns "Task queue depth is N" whenever requests wait for a thread: under any burst, one
# line per request, and nothing wrong (the connection and thread limits are doing their job).
# Shown from -vv.
QUIET_LIBRARIES = ("waitress.queue",)
# One line per finished daemon job, shown by default when the daemon runs (``log_jobs``).
JOBS_LOGGER = "aggregator.daemon.jobs"


def configure_logging(
    verbosity: int = 0, as_json: bool = False, stream: TextIO | None = None
) -> None:
    """Send the ``aggregator`` and ``spiders`` logs to ``stream`` (stderr) at the chosen level."""
    level = logging.WARNING - 10 * min(max(verbosity, 0), 2)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_mutualaid", False):
            root.removeHandler(existing)
    handler._mutualaid = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    step = min(max(verbosity, 0), 2)
    for names, levels in (
        (EXTRACTION_LIBRARIES, (logging.ERROR, logging.WARNING, logging.NOTSET)),
        (ENGINE_LIBRARIES, (logging.WARNING, logging.WARNING, logging.NOTSET)),
        (QUIET_LIBRARIES, (logging.ERROR, logging.ERROR, logging.NOTSET)),
    ):
        for name in names:
            logging.getLogger(name).setLevel(levels[step])


def log_jobs() -> None:
    """Show the daemon's one line per finished job even without -v."""
    logging.getLogger(JOBS_LOGGER).setLevel(logging.INFO)
