"""Read the hand-written content files under ``content/`` into draft articles.

A content file is a header of ``key: value`` lines, a blank line, then the body: blocks
separated by blank lines, where ``## `` starts a subheading, ``> `` a quote, ``- `` a list
item, ``![caption](file.jpg)`` a figure and ``<!--more-->`` the blog's "Continue reading" cut.
Optional ``[footnotes]`` and ``[comments]`` sections follow the body; a comment line reads
``Name | 2024-11-03 14:20 | text``.

Drafts carry no URL and no post id; a site gives them both once it knows its address.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tests.sites.model import Article, Block, Comment, paragraphs_of, summary_of

CONTENT_DIR = Path(__file__).parent / "content"
MORE = "<!--more-->"
_FIGURE = re.compile(r"!\[(?P<caption>[^\]]*)\]\((?P<image>[^)]+)\)")
_FOOTNOTE = re.compile(r"^\[(\d+)\]\s*")


def load_drafts(folder: str) -> list[Article]:
    """Every ``*.txt`` file in ``content/<folder>/``, parsed, in file-name order."""
    paths = sorted((CONTENT_DIR / folder).glob("*.txt"))
    return [parse_draft(path.read_text(encoding="utf-8"), str(path)) for path in paths]


def parse_draft(source: str, name: str = "<string>") -> Article:
    """Parse one content file; ``name`` only serves error messages."""
    head, _, rest = source.strip().partition("\n\n")
    meta = _parse_header(head, name)
    body, footnotes, comments = _split_sections(rest)
    blocks, more_at = _parse_body(body)
    published = parse_date(meta["published"])
    return Article(
        url="",
        slug=meta.get("slug") or slugify(meta["title"]),
        title=meta["title"],
        author=meta["author"],
        published=published,
        modified=parse_date(meta["modified"]) if "modified" in meta else published,
        categories=split_list(meta.get("categories", "")),
        tags=split_list(meta.get("tags", "")),
        paragraphs=paragraphs_of(blocks),
        footnotes=tuple(_FOOTNOTE.sub("", line, count=1) for line in footnotes),
        author_bio=meta.get("bio", ""),
        is_relevant=meta.get("relevant", "no") == "yes",
        summary=meta.get("excerpt") or summary_of(blocks),
        blocks=blocks,
        comments=tuple(_parse_comment(line, name) for line in comments),
        more_at=more_at,
        json_ld=meta.get("jsonld", "yes") == "yes",
    )


def slugify(text: str) -> str:
    """WordPress-like slug: lower case ASCII words joined by hyphens."""
    text = text.lower().replace("’", "").replace("'", "")
    text = re.sub(r"[^a-z0-9]+", "-", text)
    return text.strip("-")


def split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def parse_date(value: str) -> datetime:
    """``2024-11-03 14:20`` (UTC) to an aware datetime."""
    return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)


def _parse_header(head: str, name: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in head.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{name}: header line without a colon: {line!r}")
        meta[key.strip()] = value.strip()
    missing = {"title", "author", "published"} - meta.keys()
    if missing:
        raise ValueError(f"{name}: header lacks {sorted(missing)}")
    return meta


def _split_sections(rest: str) -> tuple[str, list[str], list[str]]:
    """Cut the body from the ``[footnotes]`` and ``[comments]`` sections."""
    sections: dict[str, list[str]] = {"body": [], "[footnotes]": [], "[comments]": []}
    current = "body"
    for line in rest.splitlines():
        if line.strip() in sections:
            current = line.strip()
            continue
        sections[current].append(line)
    notes = [line.strip() for line in sections["[footnotes]"] if line.strip()]
    comments = [line.strip() for line in sections["[comments]"] if line.strip()]
    return "\n".join(sections["body"]), notes, comments


def _parse_body(body: str) -> tuple[tuple[Block, ...], int]:
    blocks: list[Block] = []
    more_at = 0
    for chunk in re.split(r"\n\s*\n", body.strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if lines == [MORE]:
            more_at = len(blocks)
        elif all(line.startswith("- ") for line in lines):
            blocks.extend(Block("li", line[2:].strip()) for line in lines)
        else:
            blocks.append(_parse_block(" ".join(lines)))
    return tuple(blocks), more_at


def _parse_block(text: str) -> Block:
    if text.startswith("## "):
        return Block("h2", text[3:].strip())
    if text.startswith("> "):
        return Block("quote", text[2:].replace(" > ", " ").strip())
    figure = _FIGURE.fullmatch(text)
    if figure:
        return Block("figure", figure["caption"], figure["image"])
    return Block("p", text)


def _parse_comment(line: str, name: str) -> Comment:
    parts = [part.strip() for part in line.split("|", 2)]
    if len(parts) != 3:
        raise ValueError(f"{name}: comment needs 'Name | date | text': {line!r}")
    return Comment(author=parts[0], date=parse_date(parts[1]), text=parts[2])
