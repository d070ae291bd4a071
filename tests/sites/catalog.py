"""An immutable index of a site's articles, rebuilt whenever the site publishes or edits.

Request handlers read one catalog snapshot from start to end, so a page never mixes the state
before and after a concurrent ``add_article``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tests.sites.content import slugify
from tests.sites.model import Article


@dataclass(frozen=True)
class Catalog:
    """Articles newest first, with the lookups listings and redirects need."""

    articles: tuple[Article, ...]
    changed_at: datetime
    by_slug: dict[str, Article] = field(init=False)
    by_id: dict[int, Article] = field(init=False)
    names: dict[str, dict[str, str]] = field(init=False)  # "category" -> slug -> name
    groups: dict[str, dict[str, tuple[Article, ...]]] = field(init=False)
    search_text: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.articles, key=lambda a: (a.published, a.post_id), reverse=True))
        object.__setattr__(self, "articles", ordered)
        object.__setattr__(self, "by_slug", {a.slug: a for a in ordered})
        object.__setattr__(self, "by_id", {a.post_id: a for a in ordered})
        names, groups = _group(ordered)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "groups", groups)
        search = {a.post_id: f"{a.title}\n{a.text}".lower() for a in ordered}
        object.__setattr__(self, "search_text", search)

    def group(self, kind: str, slug: str) -> tuple[Article, ...]:
        """Articles of one category, tag or author (``kind``), newest first; empty if unknown."""
        return self.groups.get(kind, {}).get(slug, ())

    def search(self, query: str) -> tuple[Article, ...]:
        """WordPress search: every word of ``query`` in the title or body, case-insensitive."""
        words = query.lower().split()
        if not words:
            return ()
        return tuple(
            a for a in self.articles if all(w in self.search_text[a.post_id] for w in words)
        )


def _group(
    articles: Iterable[Article],
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, tuple[Article, ...]]]]:
    names: dict[str, dict[str, str]] = defaultdict(dict)
    lists: dict[str, dict[str, list[Article]]] = defaultdict(lambda: defaultdict(list))
    for article in articles:
        labels = {
            "category": article.categories,
            "tag": article.tags,
            "author": (article.author,),
        }
        for kind, values in labels.items():
            for value in values:
                slug = slugify(value)
                names[kind].setdefault(slug, value)
                lists[kind][slug].append(article)
    groups = {
        kind: {slug: tuple(items) for slug, items in by.items()} for kind, by in lists.items()
    }
    return dict(names), groups


def page_count(items: int, per_page: int) -> int:
    """How many listing pages ``items`` entries fill; an empty listing still has page 1."""
    return max(1, math.ceil(items / per_page))


def page_slice(items: tuple[Article, ...], page: int, per_page: int) -> tuple[Article, ...]:
    start = (page - 1) * per_page
    return items[start : start + per_page]
