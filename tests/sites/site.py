"""What both test sites share: a running server, the article store and run-time publishing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from tests.sites.catalog import Catalog
from tests.sites.content import slugify
from tests.sites.model import Article, Block, paragraphs_of, summary_of
from tests.sites.server import Request, Response, SiteServer


class BaseSite:
    """A WordPress-like site serving ``articles`` on 127.0.0.1 until ``close()``.

    Subclasses route requests (``respond``) and say where a post lives (``permalink_path``).
    """

    first_post_id = 100
    post_id_step = 7
    # Whether /wp-json/wp/v2/posts answers (tests.sites.wp_api); tests may switch it at run time.
    wp_api = False

    def __init__(self, drafts: Iterable[Article], port: int = 0) -> None:
        self._server = SiteServer(self.respond, port)
        self.base_url = self._server.base_url
        self._lock = threading.Lock()
        ordered = sorted(drafts, key=lambda a: (a.published, a.title))
        finished = [
            self._finish(draft, self.first_post_id + i * self.post_id_step)
            for i, draft in enumerate(ordered)
        ]
        latest = max((a.modified for a in finished), default=datetime(2015, 1, 1, tzinfo=UTC))
        self.catalog = Catalog(tuple(finished), latest)
        self._server.start()

    # -- what subclasses provide -------------------------------------------------------------

    def permalink_path(self, article: Article) -> str:
        raise NotImplementedError

    def respond(self, request: Request) -> Response:
        raise NotImplementedError

    # -- ground truth --------------------------------------------------------------------------

    @property
    def articles(self) -> list[Article]:
        """Every published article, newest first."""
        return list(self.catalog.articles)

    def article(self, slug: str) -> Article:
        return self.catalog.by_slug[slug]

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/feed/"

    @property
    def robots_url(self) -> str:
        return f"{self.base_url}/robots.txt"

    def url(self, path: str) -> str:
        """Absolute URL of a site path."""
        return f"{self.base_url}{path}"

    # -- publishing at run time ----------------------------------------------------------------

    def add_article(
        self,
        title: str,
        paragraphs: Sequence[str],
        *,
        slug: str | None = None,
        author: str = "Staff Reporter",
        published: datetime | None = None,
        categories: Sequence[str] = ("World",),
        tags: Sequence[str] = (),
        footnotes: Sequence[str] = (),
        author_bio: str = "",
        is_relevant: bool = False,
    ) -> Article:
        """Publish a new post (newest of all unless ``published`` says otherwise).

        Feeds change with it, so their ``ETag`` and ``Last-Modified`` move on.
        """
        with self._lock:
            catalog = self.catalog
            stamp = self._next_stamp(catalog)
            newest = catalog.articles[0].published if catalog.articles else stamp
            when = published or max(stamp, newest + timedelta(minutes=1))
            blocks = tuple(Block("p", text) for text in paragraphs)
            draft = Article(
                url="",
                slug=self._free_slug(slug or slugify(title), catalog),
                title=title,
                author=author,
                published=when,
                modified=when,
                categories=tuple(categories),
                tags=tuple(tags),
                paragraphs=paragraphs_of(blocks),
                footnotes=tuple(footnotes),
                author_bio=author_bio or f"{author} writes for this site.",
                is_relevant=is_relevant,
                summary=summary_of(blocks),
                blocks=blocks,
            )
            next_id = max(catalog.by_id, default=self.first_post_id) + self.post_id_step
            article = self._finish(draft, next_id)
            self.catalog = Catalog((*catalog.articles, article), max(stamp, when))
            return article

    def update_article(self, slug: str, **changes: Any) -> Article:
        """Edit a post: any ``Article`` field, e.g. ``paragraphs=[...]`` or ``title=...``.

        New ``paragraphs`` replace the whole body with plain paragraphs. ``modified`` defaults
        to now (always later than the site's previous change).
        """
        with self._lock:
            catalog = self.catalog
            old = catalog.by_slug[slug]
            stamp = changes.pop("modified", None) or self._next_stamp(catalog)
            if "paragraphs" in changes:
                blocks = tuple(Block("p", text) for text in changes.pop("paragraphs"))
                changes.update(blocks=blocks, paragraphs=paragraphs_of(blocks))
                changes.setdefault("summary", summary_of(blocks))
            for key in ("categories", "tags", "footnotes"):
                if key in changes:
                    changes[key] = tuple(changes[key])
            new = dataclasses.replace(old, modified=stamp, **changes)
            new = dataclasses.replace(new, url=self.url(self.permalink_path(new)))
            rest = tuple(a for a in catalog.articles if a.post_id != old.post_id)
            self.catalog = Catalog((*rest, new), max(stamp, catalog.changed_at))
            return new

    def remove_article(self, slug: str) -> None:
        """Unpublish a post: its page and feed entry disappear (404 from then on)."""
        with self._lock:
            catalog = self.catalog
            rest = tuple(a for a in catalog.articles if a.slug != slug)
            self.catalog = Catalog(rest, self._next_stamp(catalog))

    def _finish(self, draft: Article, post_id: int) -> Article:
        with_id = dataclasses.replace(draft, post_id=post_id)
        return dataclasses.replace(with_id, url=self.url(self.permalink_path(with_id)))

    @staticmethod
    def _next_stamp(catalog: Catalog) -> datetime:
        """Now, to the second, but always after the last change so validators must move."""
        now = datetime.now(UTC).replace(microsecond=0)
        return max(now, catalog.changed_at.replace(microsecond=0) + timedelta(seconds=1))

    @staticmethod
    def _free_slug(slug: str, catalog: Catalog) -> str:
        """WordPress appends -2, -3 … to a slug already taken."""
        candidate, n = slug, 2
        while candidate in catalog.by_slug:
            candidate, n = f"{slug}-{n}", n + 1
        return candidate

    # -- server --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request received so far (method, path with query, headers), oldest first."""
        return self._server.requests

    def fetched_paths(self) -> list[str]:
        """Just the paths (with query) of the request log."""
        return [request.path for request in self._server.requests]

    def clear_log(self) -> None:
        self._server.clear_log()

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
