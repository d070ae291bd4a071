"""Warnings about a feed that still works, kept with its fetch state for ``mutualaid status``.

Each flag is one line, ``code: detail``. A poll that reads the feed replaces the source's
flags with the ones it found; a 304, an unchanged body or a failure leaves them as they were.
Pure functions of the parsed feed, its planned entries, what is stored and ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from aggregator.dates import EARLIEST_DATE, FUTURE_TOLERANCE
from aggregator.poll.entries import PlannedEntry
from aggregator.poll.known import KnownEntries
from aggregator.poll.parsed import ParsedFeed

EXAMPLES = 3  # entries named in a flag's detail


def feed_flags(
    feed: ParsedFeed,
    listed: int,
    planned: Sequence[PlannedEntry],
    known: KnownEntries,
    now: datetime,
) -> tuple[str, ...]:
    """The flags of one reading of ``feed``, which listed ``listed`` entries before any cap."""
    flags = list(feed.warnings)
    if listed > len(feed.entries):
        flags.append(
            f"too_many_items: the feed lists {listed} entries; only the first "
            f"{len(feed.entries)} are read"
        )
    flags.extend(_dates_flag(planned, now))
    flags.extend(_guids_flag(feed, planned, known))
    return tuple(flags)


def date_problem(entry: PlannedEntry, now: datetime) -> str | None:
    """Why the entry's publication date cannot be used (its first-seen time will be), if so."""
    published = entry.entry.published
    if published is None:
        return entry.entry.date_problem
    if published > now + FUTURE_TOLERANCE:
        return f"date in the future ({published:%Y-%m-%d %H:%M} UTC)"
    if published < EARLIEST_DATE:
        return f"date before {EARLIEST_DATE:%Y} ({published:%Y-%m-%d})"
    return None


def _dates_flag(planned: Sequence[PlannedEntry], now: datetime) -> list[str]:
    problems = [(entry.link, date_problem(entry, now)) for entry in planned]
    bad = [(link, problem) for link, problem in problems if problem]
    if not bad:
        return []
    examples = "; ".join(f"{link}: {problem}" for link, problem in bad[:EXAMPLES])
    more = "; …" if len(bad) > EXAMPLES else ""
    return [
        f"bad_dates: {len(bad)} of {len(planned)} entries have unusable dates, so their "
        f"first-seen time is used ({examples}{more})"
    ]


def _guids_flag(
    feed: ParsedFeed, planned: Sequence[PlannedEntry], known: KnownEntries
) -> list[str]:
    counts = Counter(entry.guid for entry in feed.entries if entry.guid)
    findings = []
    missing = sum(1 for entry in planned if not entry.entry.guid)
    if missing:
        findings.append(f"{missing} of {len(planned)} entries have no GUID")
    shared = sum(1 for count in counts.values() if count > 1)
    if shared:
        findings.append(f"{shared} GUID(s) shared by several entries")
    changed = sum(1 for entry in planned if known.guid_changed(entry.guid, entry.link))
    if changed:
        findings.append(f"{changed} entries have a GUID other than the one stored for their link")
    if not findings:
        return []
    return [f"unreliable_guids: {'; '.join(findings)}; entries are matched by link instead"]
