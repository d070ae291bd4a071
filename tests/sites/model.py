"""Ground truth for the test sites: what each article really says, free of any theme.

Tests compare what the aggregator extracted against these records, so they hold only what a
perfect extractor would return: the body text block by block, the footnotes and the author bio,
never the banners, menus and widgets that the themes wrap around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Block kinds a body is made of. Every kind but "figure" is article text.
TEXT_KINDS = frozenset({"p", "h2", "quote", "li"})


@dataclass(frozen=True, slots=True)
class Block:
    """One block of an article body: a paragraph, a subheading, a quote, a list item or a figure.

    For a figure, ``text`` is the caption and ``image`` the file name under the uploads folder.
    """

    kind: str
    text: str
    image: str = ""


@dataclass(frozen=True, slots=True)
class Comment:
    """A reader's comment shown under an article."""

    author: str
    date: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Article:
    """One post as published, with its absolute URL on the running site.

    ``paragraphs`` is the body text (paragraphs, subheadings, quotes and list items, in order),
    without the author bio, the footnotes, image captions or any theme text. ``footnotes`` are
    the notes' texts without their ``[n]`` markers; the markers stay inside the paragraphs, as
    on the real pages. ``summary`` is the excerpt that feeds and listings show, without the
    trailing "[…]". ``is_relevant`` says whether the article is about mutual aid, Kropotkin,
    anarchism, cooperatives, solidarity or the commons.
    """

    url: str
    slug: str
    title: str
    author: str
    published: datetime
    modified: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]
    footnotes: tuple[str, ...]
    author_bio: str
    is_relevant: bool
    post_id: int = 0
    summary: str = ""
    blocks: tuple[Block, ...] = field(default=(), repr=False)
    comments: tuple[Comment, ...] = field(default=(), repr=False)
    more_at: int = 0  # blog only: how many blocks stand before the "Continue reading" cut
    json_ld: bool = True  # whether the page carries a JSON-LD NewsArticle block

    @property
    def text(self) -> str:
        """The body as one string, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def word_count(self) -> int:
        return len(self.text.split())


def paragraphs_of(blocks: tuple[Block, ...]) -> tuple[str, ...]:
    """The ground-truth text of a body: every text block, figures left out."""
    return tuple(block.text for block in blocks if block.kind in TEXT_KINDS)


def summary_of(blocks: tuple[Block, ...], words: int = 55) -> str:
    """WordPress's automatic excerpt: the first ``words`` words of the body text."""
    text = " ".join(paragraphs_of(blocks))
    return " ".join(text.split()[:words])
