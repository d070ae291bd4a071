"""The feed corpus in ``tests/feeds``: each file says what it is and what reading it must give.

XML, HTML and text files open with a comment (after the XML declaration, if any)::

    Description: RSS 2.0: a root-relative link resolves against the feed's host
    Expect: ok
    Expect: entry 0 link {root}posts/1
    Header: Content-Type: text/xml

JSON files carry the same in a leading ``"_test"`` member (JSON Feed allows extension keys
that start with an underscore): ``{"description": ..., "expect": [...], "headers": [...]}``.

Expectations: ``ok``; ``error TEXT`` (the reason contains TEXT); ``format NAME``; ``entries N``
(entries parsed); ``usable N`` (entries that become items); ``ttl MINUTES|none``;
``entry I FIELD VALUE`` for parsed entries (link, guid, title, title-starts, author, published,
updated, tags joined by ``|``; summary and content: VALUE is contained, or ``none``); ``item I FIELD
VALUE`` for usable entries (link, key: the GUID kept as key or ``none``; full: yes/no).
``{dir}``, ``{root}`` and ``{scheme}`` stand for the folder, site root and scheme of the URL
the file was fetched from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aggregator.poll.entries import PlannedEntry, plan_entries
from aggregator.poll.feeds import parse_feed
from aggregator.poll.parsed import FeedEntry, FeedParseError, ParsedFeed

CORPUS = Path(__file__).parent / "feeds"
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)


@dataclass(frozen=True)
class Case:
    path: Path
    description: str
    expect: tuple[str, ...]
    headers: dict[str, str]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @property
    def expects_error(self) -> bool:
        return any(line.startswith("error") for line in self.expect)


def load_cases() -> list[Case]:
    return [read_case(path) for path in sorted(CORPUS.iterdir()) if path.is_file()]


def read_case(path: Path) -> Case:
    data = path.read_bytes()
    if path.suffix == ".json":
        return _json_case(path, data)
    text = _decode(data)
    match = _COMMENT.search(text)
    if match is None:
        raise ValueError(f"{path.name}: no header comment")
    description, expect, headers = "", [], {}
    for line in match[1].strip().splitlines():
        key, _, value = line.partition(":")
        if key == "Description":
            description = value.strip()
        elif key == "Expect":
            expect.append(value.strip())
        elif key == "Header":
            name, _, header_value = value.strip().partition(":")
            headers[name.strip()] = header_value.strip()
    return Case(path, description, tuple(expect), headers)


def _decode(data: bytes) -> str:
    """The header is written in the file's own encoding: UTF-16, UTF-8 or windows-1252."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _json_case(path: Path, data: bytes) -> Case:
    text = data.decode("utf-8-sig")
    start = text.index('"_test"')
    colon = text.index(":", start) + 1
    header, _ = json.JSONDecoder().raw_decode(text, len(text[:colon]) + _spaces(text[colon:]))
    headers = dict(_split_header(line) for line in header.get("headers", []))
    return Case(path, header["description"], tuple(header["expect"]), headers)


def _spaces(text: str) -> int:
    return len(text) - len(text.lstrip())


def _split_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


def content_type(case: Case) -> str:
    if "Content-Type" in case.headers:
        return case.headers["Content-Type"]
    return {
        ".json": "application/feed+json",
        ".rdf": "application/rdf+xml",
        ".html": "text/html; charset=utf-8",
        ".txt": "text/plain",
    }.get(case.path.suffix, "application/xml")


def check_case(case: Case, url: str) -> list[str]:
    """Parse the case as if fetched from ``url``; return every expectation it misses."""
    headers = {"Content-Type": content_type(case), **case.headers}
    try:
        feed = parse_feed(case.body, headers, url)
    except FeedParseError as exc:
        return check_error(case, exc.reason)
    planned, _ = plan_entries(feed)
    return check_feed(case, feed, planned, url)


def check_error(case: Case, reason: str) -> list[str]:
    wanted = [line[len("error ") :] for line in case.expect if line.startswith("error ")]
    if not wanted:
        return [f"failed unexpectedly: {reason}"]
    return [f"error {reason!r} lacks {text!r}" for text in wanted if text not in reason]


def check_feed(case: Case, feed: ParsedFeed, planned: list[PlannedEntry], url: str) -> list[str]:
    problems = []
    for line in case.expect:
        problem = _check_line(_fill(line, url), feed, planned)
        if problem:
            problems.append(f"{line}: {problem}")
    return problems


def _fill(line: str, url: str) -> str:
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}/"
    folder = url.rsplit("/", 1)[0] + "/"
    return line.replace("{dir}", folder).replace("{root}", root).replace("{scheme}", parts.scheme)


def _check_line(line: str, feed: ParsedFeed, planned: list[PlannedEntry]) -> str | None:
    words = line.split(" ", 3)
    kind = words[0]
    if kind == "ok":
        return None
    if kind == "error":
        return "parsed as a feed, expected an error"
    if kind == "format":
        return _compare(feed.format, words[1])
    if kind == "entries":
        return _compare(str(len(feed.entries)), words[1])
    if kind == "usable":
        return _compare(str(len(planned)), words[1])
    if kind == "ttl":
        minutes = str(int(feed.ttl.total_seconds() // 60)) if feed.ttl else "none"
        return _compare(minutes, words[1])
    if kind in ("entry", "item"):
        index, field, value = int(words[1]), words[2], words[3] if len(words) > 3 else ""
        rows: list[FeedEntry] | list[PlannedEntry] = feed.entries if kind == "entry" else planned  # type: ignore[assignment]
        if index >= len(rows):
            return f"only {len(rows)} {kind}s"
        row = rows[index]
        if isinstance(row, PlannedEntry):
            return _check_item(row, field, value)
        return _check_entry(row, field, value)
    return f"unknown expectation {kind!r}"


def _check_entry(entry: FeedEntry, field: str, value: str) -> str | None:
    if field in ("summary", "content"):
        found = getattr(entry, field)
        if value == "none":
            return _compare(str(found) if found else "none", "none")
        return None if found and value in found else f"{value!r} not in {found!r}"
    if field in ("published", "updated"):
        moment = getattr(entry, field)
        return _compare(moment.isoformat() if moment else "none", value)
    if field == "tags":
        return _compare("|".join(entry.tags), value)
    if field == "title-starts":
        return None if (entry.title or "").startswith(value) else f"got {entry.title!r}"
    found = getattr(entry, field)
    return _compare(found if found is not None else "none", value)


def _check_item(item: PlannedEntry, field: str, value: str) -> str | None:
    if field == "key":
        return _compare(item.guid or "none", value)
    if field == "full":
        return _compare("yes" if item.has_content else "no", value)
    if field == "link":
        return _compare(item.link, value)
    return f"unknown item field {field!r}"


def _compare(found: str, wanted: str) -> str | None:
    return None if found == wanted else f"got {found!r}, expected {wanted!r}"
