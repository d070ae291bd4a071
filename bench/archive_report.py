"""The archive benchmark's report: the issue's table, its aims, and where the bytes go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.archive_store import Part

AIM_GROWTH = 1.3  # at the largest size, ingest and feed build within this of their 1k figures
AIM_BYTES = 1.3  # bytes per article within this of the article's text and HTML
COLUMNS = ("text", "html", "title", "canonical_url", "guid", "tags", "matched_terms", "extraction")


@dataclass
class SizeResult:
    size: int
    build_seconds: float
    bytes: int
    text_html: int  # bytes of text and HTML over all articles
    medians: dict[str, float]
    outcomes: dict[str, int]
    parts: list[Part] = field(default_factory=list)


ROWS = (
    ("ingest", "ingest of 1,000"),
    ("build_first", "`feed build`, first"),
    ("build_batch", "`feed build` after the batch"),
    ("build_again", "`feed build`, nothing new"),
    ("get_feed", "`GET /feed.atom`"),
    ("status", "`status`"),
)


def table(results: Sequence[SizeResult], kind: str, batch: int) -> list[str]:
    """The issue's table: each measure's median, and its ratio to the empty archive's."""
    empty = results[0]
    heads = [f"N = {_short(result.size)}" for result in results]
    lines = [f"| {kind} | {' | '.join(heads)} |", "| --- |" + " --- |" * len(results)]
    for key, label in ROWS:
        label = label.replace("1,000", f"{batch:,}")
        cells = []
        for result in results:
            seconds = result.medians[key]
            cell = _seconds(seconds)
            if result is not empty:
                cell += f" ({seconds / empty.medians[key]:.2f}x)"
            elif key == "ingest":
                cell += f" ({batch / seconds:,.0f}/s)"
            cells.append(cell)
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines.append(
        "| KiB per article (text + HTML) | "
        + " | ".join(_per_article(result, empty) for result in results)
        + " |"
    )
    return lines


def aims(results: Sequence[SizeResult]) -> list[str]:
    """The issue's aims, beside the figures."""
    by_size = {result.size: result for result in results}
    lines = []
    largest = max(by_size)
    if 1000 in by_size and largest > 1000:
        for key in ("ingest", "build_first", "build_batch", "build_again"):
            growth = by_size[largest].medians[key] / by_size[1000].medians[key]
            verdict = "ok" if growth <= AIM_GROWTH else "OVER"
            lines.append(
                f"aim: {key} at {_short(largest)} within {AIM_GROWTH}x of 1k: "
                f"{growth:.2f}x {verdict}"
            )
    for result in results:
        if result.size and result.text_html:
            ratio = _stored(result, by_size[0]) / result.text_html
            verdict = "ok" if ratio <= AIM_BYTES else "OVER"
            lines.append(
                f"aim: bytes per article at {_short(result.size)} within {AIM_BYTES}x of text + "
                f"HTML: {ratio:.2f}x {verdict}"
            )
    return lines


def breakdown(result: SizeResult, empty: SizeResult) -> list[str]:
    """Bytes per article of each table and index, against the article's text and HTML."""
    size = result.size
    baseline = {part.name: part.size for part in empty.parts}
    lines = [
        f"bytes per article at N = {_short(size)} (text + HTML: {result.text_html / size:,.0f}; "
        "the columns' rows are a part of the articles table's)",
        "| table | part | bytes/article | share |",
        "| --- | --- | --- | --- |",
    ]
    total = _stored(result, empty)
    for part in sorted(result.parts, key=lambda part: part.kind == "column"):
        grown = (part.size - baseline.get(part.name, 0)) / size
        if grown >= 1:
            lines.append(
                f"| {part.table} | {part.name} ({part.kind}) | {grown:,.0f} | "
                f"{grown * size / total:.1%} |"
            )
        if part.kind != "column" and part is result.parts[-1 - len(COLUMNS)]:
            lines.append(f"| all | | {total / size:,.0f} | 100% |")
    return lines


def _stored(result: SizeResult, empty: SizeResult) -> int:
    return max(result.bytes - empty.bytes, 0)


def _per_article(result: SizeResult, empty: SizeResult) -> str:
    if not result.size:
        return f"({result.bytes / 1024:,.0f} KiB empty)"
    stored = _stored(result, empty) / result.size / 1024
    return f"{stored:.1f} ({result.text_html / result.size / 1024:.1f})"


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s"


def _short(size: int) -> str:
    for unit, name in ((1_000_000, "M"), (1000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{name}"
    return f"{size:,}"
