"""Snippets with their matches marked: storage puts ``MARK_START``/``MARK_END`` around each
match (noncharacters, never markup), and each output turns the marked parts into
its own highlighting after escaping the text (``<mark>`` on the page, a style in the CLI).
"""

from __future__ import annotations

import re

# Unicode noncharacters, set aside for a program's internal use: no text means them.
MARK_START = "\ufdd0"
MARK_END = "\ufdd1"
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def marked_parts(snippet: str) -> list[tuple[str, bool]]:
    """(text, is a match) in order; stray or unbalanced marks end or start nothing harmful,
    other control characters are dropped and runs of white space become one space."""
    parts: list[tuple[str, bool]] = []
    inside = False
    for piece in re.split(f"([{MARK_START}{MARK_END}])", snippet):
        if piece in (MARK_START, MARK_END):
            inside = piece == MARK_START
            continue
        text = _SPACE.sub(" ", _CONTROL.sub("", piece))
        if text:
            parts.append((text, inside))
    return parts


def unmarked(snippet: str) -> str:
    """The snippet's text without marks (for JSON output, say)."""
    return "".join(text for text, _ in marked_parts(snippet))
