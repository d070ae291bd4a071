"""What follows from an article's final text, derived in one place.

An article's text is final only after site rules and learned boilerplate have taken their parts
out, and learned boilerplate can come later: after extraction (a block learned while the batch
was in a worker) or after storage (articles cleaned of a newly learned block). Each time, the
hash, SimHash, word count and relevance follow from the new text, and all of them come from
``derive_text_fields``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aggregator.fingerprints import content_hash, simhash
from aggregator.relevance import Relevance, TopicProfile, score_article
from aggregator.sanitize import SANITIZER_VERSION


@dataclass(frozen=True)
class TextFields:
    """An article's body and everything computed from it."""

    html: str
    text: str
    word_count: int
    content_hash: str
    simhash: int
    relevance: Relevance
    # The SANITIZER_VERSION that produced ``html``: bodies come only from ``extract_article``
    # and ``strip_blocks``, both of which return ``sanitize_html``'s output.
    sanitized_with: int = SANITIZER_VERSION

    def columns(self) -> dict[str, Any]:
        """The ``articles`` columns these fields fill, by column name."""
        return {
            "html": self.html,
            "text": self.text,
            "sanitized_with": self.sanitized_with,
            "word_count": self.word_count,
            "content_hash": self.content_hash,
            "simhash": self.simhash,
            "relevance": self.relevance.score,
            "matched_terms": dict(self.relevance.matched),
        }


def derive_text_fields(
    html: str, text: str, *, title: str | None, tags: Sequence[str], profile: TopicProfile
) -> TextFields:
    """The fields of a body whose sanitised ``html`` reads as ``text``."""
    return TextFields(
        html=html,
        text=text,
        word_count=len(text.split()),
        content_hash=content_hash(text),
        simhash=simhash(text),
        relevance=score_article(profile, title=title, text=text, tags=tags),
    )
