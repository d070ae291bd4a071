"""Deterministic synthetic news articles composed from the sentence pools in ``content/pools``.

The hand-written articles carry the subtle cases; these fill the site out to a realistic size
(and to thousands of pages for crawl benchmarks). A pool file holds ``[section]`` lists: titles,
headings, sentences, quotes, items, captions, references and ``[slot NAME]`` fillers; templates
name slots in braces, e.g. ``{place}``. ``common.txt`` adds shared slots, generic sentences,
authors (``Name | bio``), commenters and comments.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from tests.sites.content import CONTENT_DIR, slugify, split_list
from tests.sites.model import Article, Block, Comment, paragraphs_of, summary_of

POOL_DIR = CONTENT_DIR / "pools"
# How many synthetic articles of each pool the base site carries (29 + 11 hand-written = 40).
BASE_MIX = {
    "mutual-aid": 3,
    "cooperatives": 3,
    "world": 4,
    "india": 4,
    "environment": 4,
    "economy": 4,
    "palestine": 3,
    "culture": 4,
}
BASE_SPAN = (datetime(2024, 6, 1, tzinfo=UTC), datetime(2025, 2, 28, tzinfo=UTC))
EXTRA_SPAN = (datetime(2016, 1, 1, tzinfo=UTC), datetime(2024, 5, 31, tzinfo=UTC))
_SLOT = re.compile(r"\{(\w+)\}")
_VARYING = frozenset({"number", "percent", "weekday", "month", "official", "group", "thing"})
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "nor",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    ]
)


@dataclass(frozen=True)
class Pool:
    """One pool file: its ``[meta]`` header and its lists."""

    name: str
    meta: dict[str, str]
    lists: dict[str, tuple[str, ...]] = field(repr=False)

    def get(self, section: str) -> tuple[str, ...]:
        return self.lists.get(section, ())


def base_synthetic_news(taken: set[str]) -> list[Article]:
    """The base site's 29 composed articles, the same on every run."""
    rng = random.Random(20240601)
    plan = [name for name, count in BASE_MIX.items() for _ in range(count)]
    titles = _title_decks(rng)
    return [_compose(rng, pool_named(name), titles[name], BASE_SPAN, taken) for name in plan]


def extra_news(count: int, seed: int, taken: set[str]) -> list[Article]:
    """``count`` more articles for scale tests, dated before the base ones."""
    rng = random.Random(seed)
    names = sorted(BASE_MIX)
    titles = _title_decks(rng)
    articles = []
    for _ in range(count):
        name = rng.choice(names)
        articles.append(_compose(rng, pool_named(name), titles[name], EXTRA_SPAN, taken))
    return articles


def _title_decks(rng: random.Random) -> dict[str, _Deck]:
    return {name: _Deck(rng, pool_named(name).get("titles")) for name in BASE_MIX}


@cache
def pool_named(name: str) -> Pool:
    return parse_pool(name, (POOL_DIR / f"{name}.txt").read_text(encoding="utf-8"))


def parse_pool(name: str, text: str) -> Pool:
    """Sections start with ``[name]``; lines are entries; ``#`` lines are comments."""
    lists: dict[str, list[str]] = {}
    current = "meta"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        lists.setdefault(current, []).append(line)
    meta = dict(_pair(line) for line in lists.pop("meta", []))
    return Pool(name, meta, {key: tuple(values) for key, values in lists.items()})


def title_case(text: str) -> str:
    """Headline case: capitalise every word but the small ones (which only lead a title)."""
    words: list[str] = []
    for word in text.split(" "):
        if not words or words[-1].endswith(":") or word.lower() not in _SMALL_WORDS:
            word = word[:1].upper() + word[1:]
        words.append(word)
    return " ".join(words)


def _pair(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip(), value.strip()


def _compose(
    rng: random.Random,
    pool: Pool,
    titles: _Deck,
    span: tuple[datetime, datetime],
    taken: set[str],
) -> Article:
    common = pool_named("common")
    fill = _Filler(rng, pool, common)
    title = title_case(fill(titles.draw()))
    slug = _free(slugify(title), taken)
    blocks, notes = _body(rng, pool, common, fill)
    author, bio = rng.choice(common.get("authors")).split("|", 1)
    published = _moment(rng, span)
    modified = published + timedelta(hours=rng.choice([0, 0, 0, 2, 5, 26]))
    return Article(
        url="",
        slug=slug,
        title=title,
        author=author.strip(),
        published=published,
        modified=modified,
        categories=split_list(pool.meta["categories"]),
        tags=tuple(sorted(rng.sample(split_list(pool.meta["tags"]), 3))),
        paragraphs=paragraphs_of(blocks),
        footnotes=notes,
        author_bio=bio.strip(),
        is_relevant=pool.meta["relevant"] == "yes",
        summary=summary_of(blocks),
        blocks=blocks,
        comments=_comments(rng, common, published),
        json_ld=rng.random() < 0.6,
    )


def _body(
    rng: random.Random, pool: Pool, common: Pool, fill: _Filler
) -> tuple[tuple[Block, ...], tuple[str, ...]]:
    """Paragraphs of 3–5 sentences until 320–1100 words, with the odd heading, quote or list."""
    topical = _Deck(rng, pool.get("sentences"))
    generic = _Deck(rng, common.get("sentences"))
    target = rng.randint(320, 1000)
    paragraphs: list[str] = []
    while sum(len(p.split()) for p in paragraphs) < target:
        count = rng.randint(3, 5)
        # The lede and most sentences are on topic; generic ones only pad the middle.
        drawn = [
            topical.draw() if (not paragraphs and i == 0) or rng.random() < 0.7 else generic.draw()
            for i in range(count)
        ]
        paragraphs.append(" ".join(fill(template) for template in drawn))
    notes: list[str] = []
    if rng.random() < 0.3:
        spots = sorted(rng.choices(range(len(paragraphs)), k=rng.randint(1, 3)))
        for number, index in enumerate(spots, start=1):
            paragraphs[index] += f"[{number}]"
            notes.append(fill(rng.choice(pool.get("references"))))
    blocks = [Block("p", text) for text in paragraphs]
    extras: list[tuple[float, Callable[[], list[Block]]]] = [
        (0.35, lambda: [Block("h2", fill(rng.choice(pool.get("headings"))))]),
        (0.3, lambda: [Block("quote", fill(rng.choice(pool.get("quotes"))))]),
        (0.2, lambda: [Block("li", fill(t)) for t in rng.sample(pool.get("items"), 3)]),
        (0.2, lambda: [Block("figure", fill(rng.choice(pool.get("captions"))), "photo.jpg")]),
    ]
    for chance, make in extras:
        if rng.random() < chance:
            at = rng.randint(1, len(blocks) - 1) if len(blocks) > 1 else 1
            blocks[at:at] = make()
    return tuple(blocks), tuple(notes)


def _comments(rng: random.Random, common: Pool, published: datetime) -> tuple[Comment, ...]:
    if rng.random() >= 0.3:
        return ()
    count = rng.randint(1, 4)
    names = rng.sample(common.get("commenters"), count)
    texts = rng.sample(common.get("comments"), count)
    return tuple(
        Comment(name, published + timedelta(hours=3 + 7 * i + rng.randint(0, 5)), text)
        for i, (name, text) in enumerate(zip(names, texts, strict=True))
    )


def _moment(rng: random.Random, span: tuple[datetime, datetime]) -> datetime:
    seconds = int((span[1] - span[0]).total_seconds())
    when = span[0] + timedelta(seconds=rng.randrange(seconds))
    return when.replace(second=0, microsecond=0)


def _free(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    taken.add(candidate)
    return candidate


class _Deck:
    """Draw templates without repeats until the deck runs out, then reshuffle."""

    def __init__(self, rng: random.Random, cards: Iterable[str]) -> None:
        self._rng = rng
        self._cards = list(cards)
        self._left: list[str] = []

    def draw(self) -> str:
        if not self._left:
            self._left = self._cards[:]
            self._rng.shuffle(self._left)
        return self._left.pop()


class _Filler:
    """Fill ``{slot}`` names from the topic pool first, then from the common pool.

    Most slots keep their first value for the whole article, so it stays in one place and
    about one thing; the ``_VARYING`` ones change at every use.
    """

    def __init__(self, rng: random.Random, pool: Pool, common: Pool) -> None:
        self._rng = rng
        self._pools = (pool, common)
        self._chosen: dict[str, str] = {}

    def __call__(self, template: str) -> str:
        text = _SLOT.sub(self._pick, template)
        return text[0].upper() + text[1:] if text else text

    def _pick(self, match: re.Match[str]) -> str:
        name = match[1]
        if name in self._chosen:
            return self._chosen[name]
        for pool in self._pools:
            values = pool.get(f"slot {name}")
            if values:
                value = self._rng.choice(values)
                if name not in _VARYING:
                    self._chosen[name] = value
                return value
        raise KeyError(f"no filler for slot {name!r}")
