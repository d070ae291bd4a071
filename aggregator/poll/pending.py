"""Feed entries whose page is still to be fetched, and the rules for trying them again.

A poll that cannot fetch an entry's page (the page limit, or the fetch failed) remembers the
entry on its own row, with what the feed said of it, so the feed's validators are kept and an
unchanged feed costs one conditional request. Later polls, also those answered 304, fetch the
entries that are due within the page budget. A failure waits ``interval * 2**(attempts-1)``
(capped at ``max_wait``) before the next try; an entry is given up after ``attempts`` failures,
after ``gone_attempts`` when its page answers 404 or 410, or once ``max_age`` has passed since
it was first seen. A given-up entry is kept for ``keep_given_up`` (so a feed still listing it
does not bring it back), logged, and shown by ``mutualaid status``.

``PendingBook`` collects what one poll did with entries (worker thread); ``settle`` turns it,
with the ingest's failures, into the rows to write (the poller's thread). Both are pure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aggregator.dates import parse_date
from aggregator.poll.entries import PlannedEntry
from aggregator.poll.parsed import FeedEntry
from aggregator.poll.state import MAX_ERROR_LENGTH

log = logging.getLogger(__name__)
_GONE = re.compile(r"^HTTP (404|410)\b")


@dataclass(frozen=True)
class PendingRules:
    """When a pending entry is tried again, and when it is given up (``polling.pending``)."""

    attempts: int = 6
    gone_attempts: int = 3
    max_wait: timedelta = timedelta(days=1)
    max_age: timedelta = timedelta(days=7)
    keep_given_up: timedelta = timedelta(days=90)

    def wait_after(self, attempts: int, interval: timedelta) -> timedelta:
        """The pause after the ``attempts``-th failure: doubling from the poll interval."""
        doubled: timedelta = interval * 2 ** max(attempts - 1, 0)
        return min(doubled, max(self.max_wait, interval))

    def give_up_reason(self, pending: Pending, now: datetime) -> str | None:
        error = pending.last_error or "not fetched"
        if pending.attempts and is_gone(error) and pending.attempts >= self.gone_attempts:
            return f"{error} on {pending.attempts} tries"
        if pending.attempts >= self.attempts:
            return f"{error} on {pending.attempts} tries"
        if now - pending.first_seen_at >= self.max_age:
            return f"{error}; not fetched within {_days(self.max_age)} of first seen"
        return None


@dataclass(frozen=True)
class Pending:
    """One remembered entry (a ``pending_entries`` row)."""

    link: str
    guid: str | None
    entry: FeedEntry  # what the feed said of it
    feed_url: str
    first_seen_at: datetime
    next_try_at: datetime
    attempts: int = 0
    last_tried_at: datetime | None = None
    last_error: str | None = None
    given_up_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.given_up_at is None and self.next_try_at <= now

    def planned(self) -> PlannedEntry:
        """The entry as a poll plans it: its page wanted."""
        return PlannedEntry(self.entry, self.link, self.guid, has_content=False)


def is_gone(reason: str) -> bool:
    """Did the page answer 404 Not Found or 410 Gone?"""
    return _GONE.match(reason) is not None


@dataclass
class PendingBook:
    """What one poll did with the entries that wanted their page, and the rows it read."""

    feed_url: str
    rows: dict[str, Pending] = field(default_factory=dict)  # by link
    deferred: dict[str, PlannedEntry] = field(default_factory=dict)  # left (page limit)
    failed: dict[str, tuple[PlannedEntry, str]] = field(default_factory=dict)  # with why
    made: dict[str, str] = field(default_factory=dict)  # item URL -> the entry's link
    planned: dict[str, PlannedEntry] = field(default_factory=dict)  # by link, items made
    stored: set[str] = field(default_factory=set)  # links found stored already
    pages: int = 0  # article pages fetched (the poll's page budget)

    def add_rows(self, rows: Iterable[Pending]) -> None:
        self.rows.update((row.link, row) for row in rows)

    @property
    def handled(self) -> set[str]:
        """Links this poll dealt with one way or another."""
        return {*self.deferred, *self.failed, *self.made.values(), *self.stored}

    def made_item(self, entry: PlannedEntry, item_url: str) -> None:
        self.made[item_url] = entry.link
        self.planned[entry.link] = entry


@dataclass(frozen=True)
class PendingChanges:
    """Rows to write for one source after a poll."""

    save: tuple[Pending, ...] = ()
    delete: tuple[str, ...] = ()  # links no longer pending
    given_up: tuple[Pending, ...] = ()  # among ``save``: newly given up

    def __bool__(self) -> bool:
        return bool(self.save or self.delete)


def settle(
    book: PendingBook,
    ingest_failed: Mapping[str, str],
    now: datetime,
    interval: timedelta,
    rules: PendingRules,
) -> PendingChanges:
    """The rows after a poll: entries ingested or found stored leave, new ones are remembered,
    failures wait longer or are given up. ``ingest_failed``: item URL -> why storing it failed."""
    failed = dict(book.failed)
    done: set[str] = set(book.stored)
    for item_url, link in book.made.items():
        if item_url in ingest_failed:
            failed[link] = (book.planned[link], ingest_failed[item_url])
        else:
            done.add(link)
    save: list[Pending] = []
    for link, planned in book.deferred.items():
        pending = book.rows.get(link) or _fresh(planned, book.feed_url, now)
        save.append(pending)
    for link, (planned, error) in failed.items():
        old = book.rows.get(link) or _fresh(planned, book.feed_url, now)
        save.append(_after_failure(old, planned, error, now, interval, rules))
    checked = [_checked(pending, now, rules) for pending in save]
    changed = [new for new, old in zip(checked, save, strict=True) if new is not old]
    keep = [p for p in checked if p.link not in book.rows or p != book.rows[p.link]]
    gone = tuple(p for p in changed if p.given_up_at is not None)
    return PendingChanges(
        save=tuple(keep),
        delete=tuple(sorted(link for link in done if link in book.rows)),
        given_up=gone,
    )


def _fresh(planned: PlannedEntry, feed_url: str, now: datetime) -> Pending:
    return Pending(planned.link, planned.guid, planned.entry, feed_url, now, next_try_at=now)


def _after_failure(
    old: Pending,
    planned: PlannedEntry,
    error: str,
    now: datetime,
    interval: timedelta,
    rules: PendingRules,
) -> Pending:
    attempts = old.attempts + 1
    return replace(
        old,
        entry=planned.entry,
        guid=planned.guid,
        attempts=attempts,
        last_tried_at=now,
        last_error=error[:MAX_ERROR_LENGTH],
        next_try_at=now + rules.wait_after(attempts, interval),
    )


def _checked(pending: Pending, now: datetime, rules: PendingRules) -> Pending:
    """The entry, given up if the rules say so."""
    if pending.given_up_at is not None:
        return pending
    reason = rules.give_up_reason(pending, now)
    if reason is None:
        return pending
    return replace(pending, given_up_at=now, last_error=f"given up: {reason}"[:MAX_ERROR_LENGTH])


# --- rows ----------------------------------------------------------------------------------------


def to_row(source_id: int, pending: Pending) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "feed_url": pending.feed_url,
        "link": pending.link,
        "guid": pending.guid,
        "entry": entry_json(pending.entry),
        "attempts": pending.attempts,
        "first_seen_at": pending.first_seen_at,
        "next_try_at": pending.next_try_at,
        "last_tried_at": pending.last_tried_at,
        "last_error": pending.last_error,
        "given_up_at": pending.given_up_at,
    }


def from_row(row: Mapping[str, Any]) -> Pending:
    return Pending(
        link=row["link"],
        guid=row["guid"],
        entry=entry_from_json(row["link"], row["guid"], row["entry"] or {}),
        feed_url=row["feed_url"],
        first_seen_at=row["first_seen_at"],
        next_try_at=row["next_try_at"],
        attempts=row["attempts"] or 0,
        last_tried_at=row["last_tried_at"],
        last_error=row["last_error"],
        given_up_at=row["given_up_at"],
    )


_TEXTS = ("title", "author", "summary", "content")
_DATES = ("published", "updated")


def entry_json(entry: FeedEntry) -> dict[str, Any]:
    """What the feed said of an entry, as JSON (the link and GUID have their own columns)."""
    data: dict[str, Any] = {name: getattr(entry, name) for name in _TEXTS}
    for name in _DATES:
        moment = getattr(entry, name)
        data[name] = moment.isoformat() if moment else None
    data["tags"] = list(entry.tags)
    return data


def entry_from_json(link: str, guid: str | None, data: Mapping[str, Any]) -> FeedEntry:
    tags = tuple(tag for tag in data.get("tags") or () if isinstance(tag, str))
    return FeedEntry(
        link=link,
        guid=guid,
        title=_text(data.get("title")),
        author=_text(data.get("author")),
        summary=_text(data.get("summary")),
        content=_text(data.get("content")),
        published=_date(data.get("published")),
        updated=_date(data.get("updated")),
        tags=tags,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: object) -> datetime | None:
    return parse_date(value) if isinstance(value, str) else None


def _days(span: timedelta) -> str:
    return f"{span.days} days" if span.days and not span.seconds else str(span)
