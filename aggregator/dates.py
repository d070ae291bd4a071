"""Dates as feeds, pages, APIs, sitemaps, HTTP headers and the command line write them: one
reader (``parse_date``) and the rule that turns a claimed publication date into a stored one
(``normalize_date``).

Only the standard library parses: ``dateutil`` and ``htmldate`` are merely trafilatura's
dependencies, and dateutil reads dates into garbage. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

EARLIEST_DATE = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

# Zone names seen in feeds that ``email.utils`` does not know (it reads them as UTC).
_ZONE_NAMES = {"CET": "+0100", "CEST": "+0200", "BST": "+0100", "AEST": "+1000", "AEDT": "+1100"}
_ZONE_NAME = re.compile(r"\b(" + "|".join(_ZONE_NAMES) + r")\s*$", re.IGNORECASE)
_SPACED_OFFSET = re.compile(r"(\d)\s+([+-]\d\d:?\d\d|Z)$")
_MONTHS = {
    name: number
    for number, full in enumerate(
        (
            "january", "february", "march", "april", "may", "june", "july", "august",
            "september", "october", "november", "december",
        ),
        start=1,
    )
    for name in (full, full[:3])
} | {"sept": 9}  # fmt: skip
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_MONTH_FIRST = re.compile(
    _WEEKDAY + r"(?P<month>[a-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(
    _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>[a-z]+)\.?,?\s+"
    r"(?P<year>\d{4})",
    re.IGNORECASE,
)


def normalize_date(
    value: datetime | str | None, *, now: datetime, first_seen: datetime
) -> tuple[datetime, bool]:
    """Return ``(UTC datetime, estimated)``.

    A missing, unreadable, pre-1995 or future (more than a day after ``now``) date is replaced
    by ``first_seen`` and flagged as estimated. Naive values are taken as UTC, and so are dates
    without a time (midnight). Only the standard library parses: ``dateutil`` and ``htmldate``
    are merely trafilatura's dependencies, and dateutil reads dates into garbage.
    """
    _require_aware(now, "now")
    _require_aware(first_seen, "first_seen")
    parsed = parse_date(value)
    if parsed is None or parsed < EARLIEST_DATE or parsed > now + FUTURE_TOLERANCE:
        return first_seen.astimezone(UTC), True
    return parsed, False


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


def parse_date(value: datetime | str | None) -> datetime | None:
    """``value`` as an aware UTC datetime, or None when it is missing or unreadable.

    The one date reader: ISO 8601 / RFC 3339 (feeds, JSON Feed, WordPress's ``*_gmt`` fields,
    sitemaps, ``--since``), RFC 822 (RSS, HTTP) and written-out dates ("January 5, 2024").
    Naive values are taken as UTC, and so are dates without a time (midnight).
    """
    parsed = _parse_text(value) if isinstance(value, str) else value
    if parsed is None:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _parse_text(text: str) -> datetime | None:
    text = " ".join(text.split())
    if not text:
        return None
    return _parse_iso(text) or _parse_rfc822(text) or _parse_month_name(text)


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1\2", text))
    except ValueError:
        return None


def _parse_rfc822(text: str) -> datetime | None:
    text = _ZONE_NAME.sub(lambda match: _ZONE_NAMES[match.group(1).upper()], text)
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _parse_month_name(text: str) -> datetime | None:
    """``January 5, 2024``, ``Jan. 5th 2024``, ``5 January 2024``, ``Fri, 5 Jan 2024``."""
    match = _MONTH_FIRST.fullmatch(text) or _DAY_FIRST.fullmatch(text)
    month = _MONTHS.get(match.group("month").lower()) if match else None
    if match is None or month is None:
        return None
    try:
        return datetime(int(match.group("year")), month, int(match.group("day")))
    except ValueError:
        return None
