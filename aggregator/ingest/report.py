"""What an ingest did, apart from the machinery that does it.

A poll of unchanged feeds reports and records ingests without running one, so these two
names live where importing them costs nothing: no extraction, no storage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What happened to a candidate, as ingest reports count it."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    PURGED = "purged"  # matches a tombstone: removed by retention, not stored again


@dataclass
class IngestReport:
    """What an ingest did: counts per outcome, and every item it skipped or failed, with why."""

    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    learned: int = 0
    cleaned: int = 0

    def add(self, other: IngestReport) -> None:
        self.counts.update(other.counts)
        self.skipped += other.skipped
        self.failed += other.failed
        self.learned += other.learned
        self.cleaned += other.cleaned

    def as_dict(self) -> dict[str, object]:
        return {
            **{outcome.value: self.counts.get(outcome.value, 0) for outcome in Outcome},
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "learned_boilerplate": self.learned,
        }
