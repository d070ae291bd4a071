"""Curators' decisions as words and as a file: publish, hold or pin, and the JSON that carries
them from one instance to another (``mutualaid articles decisions export`` and ``import``).

Pure: text in, records out, and records in, text out. A file is read whole and checked whole
before anything is stored, so a bad file changes nothing. The file names each article by its
canonical URL: ids differ between instances, URLs do not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from aggregator.errors import MutualAidError

Verdict = Literal["publish", "hold", "pin"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
PUBLISHING: tuple[Verdict, ...] = ("publish", "pin")  # the verdicts that publish
FORMAT = "mutualaid-decisions"
VERSION = 1


class DecisionFileError(MutualAidError):
    """A decisions file that cannot be imported: one line, naming the file and the entry."""

    exit_code = 1


@dataclass(frozen=True)
class DecisionRecord:
    """One decision as the file holds it; ``title`` only helps a person reading the file."""

    url: str
    decision: Verdict
    decided_at: datetime
    note: str | None = None
    title: str | None = None
    by: str | None = None  # who decided


def dump_decisions(records: Sequence[DecisionRecord], now: datetime) -> str:
    """The file's text for ``records``."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.isoformat(),
        "decisions": [
            {
                "url": record.url,
                "decision": record.decision,
                "decided_at": record.decided_at.isoformat(),
                "note": record.note,
                "by": record.by,
                "title": record.title,
            }
            for record in records
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse_decisions(text: str, origin: str) -> list[DecisionRecord]:
    """The records of a file's ``text``; ``DecisionFileError`` at the first thing wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecisionFileError(f"{origin}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DecisionFileError(f'{origin}: not a decisions file (no "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        found = document.get("version")
        raise DecisionFileError(f"{origin}: version {found!r} is not {VERSION}, the one known")
    entries = document.get("decisions")
    if not isinstance(entries, list):
        raise DecisionFileError(f'{origin}: "decisions" must be a list')
    records = []
    for number, entry in enumerate(entries, start=1):
        try:
            records.append(_record(entry))
        except ValueError as exc:
            raise DecisionFileError(f"{origin}: decision {number}: {exc}") from None
    return records


def _record(entry: Any) -> DecisionRecord:
    if not isinstance(entry, dict):
        raise ValueError("must be an object")
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http(s) URL, not {url!r}")
    verdict = entry.get("decision")
    if verdict not in VERDICTS:
        raise ValueError(f"decision must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    return DecisionRecord(
        url,
        verdict,
        _moment(entry.get("decided_at")),
        _optional_text(entry, "note"),
        _optional_text(entry, "title"),
        _optional_text(entry, "by"),
    )


def _moment(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise ValueError(f"decided_at must be an ISO 8601 time with its zone, not {value!r}")


def _optional_text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be text or null, not {value!r}")
    return value
