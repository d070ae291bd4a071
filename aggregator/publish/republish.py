"""How much of an article the outputs carry, on its source's terms (README, Republication).

A source's ``republish`` mode is ``full``, ``excerpt``, ``link`` or ``auto``; ``auto`` is full
when the article's page declares a licence that allows republishing it whole
(``aggregator.licences``) and an excerpt otherwise, an unknown licence included: without the
author's leave, a short quotation and a link is what we can honestly carry. Pure functions,
used by ``entries.build_entry`` only, so every output (feeds, page, and whatever renders
entries) gets the same shape.
"""

from __future__ import annotations

from typing import Literal

from aggregator.licences import allows_full_republication

Shape = Literal["full", "excerpt", "link"]
EXCERPT_WORDS = 60


def shape_for(mode: str, licence: str | None) -> Shape:
    """The shape an article of a source in ``mode`` is published in, given its ``licence``."""
    if mode == "auto":
        return "full" if allows_full_republication(licence) else "excerpt"
    if mode == "excerpt":
        return "excerpt"
    if mode == "link":
        return "link"
    return "full"


def excerpt_words(text: str, words: int = EXCERPT_WORDS) -> str:
    """The first ``words`` words of ``text`` on one line, with an ellipsis when cut."""
    kept = text.split(maxsplit=words)
    if len(kept) <= words:
        return " ".join(kept)
    return " ".join(kept[:words]).rstrip(" ,;:.-–—") + "…"
