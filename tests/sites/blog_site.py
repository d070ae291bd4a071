"""The "blog" site: a small WordPress blog shaped like peterkropotkin.org.

Full-content feeds, "Continue reading" listings with Older posts links, a core wp-sitemap, and
(while ``wp_api``) the REST API, announced on every HTML page by WordPress's ``Link`` header.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from urllib.parse import quote

from tests.sites import routing, wp_api
from tests.sites.assets import asset, is_asset
from tests.sites.blog_pages import (
    essay_body,
    essay_page,
    listing_page,
    login_page,
    not_found_page,
    static_page,
)
from tests.sites.blog_theme import SITE_NAME, TAGLINE, Chrome
from tests.sites.catalog import Catalog, page_count, page_slice
from tests.sites.content import load_drafts
from tests.sites.feeds import Channel, comment_items, post_item, rss
from tests.sites.markup import esc
from tests.sites.model import Article
from tests.sites.server import TEXT, Request, Response, redirect
from tests.sites.site import BaseSite
from tests.sites.sitemaps import sitemap_index, url_set

PER_PAGE = 5
FEED_SIZE = 10
_ESSAY = re.compile(r"^/(\d{4})/(\d{2})/(\d{2})/(?P<slug>[a-z0-9-]+)(?P<rest>/.*)?$")
_TAXONOMY = re.compile(r"^/(?P<kind>category|tag|author)/(?P<slug>[a-z0-9-]+)/$")
_MONTH = re.compile(r"^/(?P<y>\d{4})/(?P<m>\d{2})/$")
PAGES = {
    "/about/": (
        "About",
        [
            "This site collects writing on the life and ideas of Peter Kropotkin: geographer, "
            "naturalist, anarchist and author of Mutual Aid: A Factor of Evolution.",
            "It is run by volunteers and depends on contributions from its readers.",
        ],
    ),
    "/contact/": ("Contact", ["Send submissions and questions to editors@kropotkin.example."]),
    "/call-out-for-submissions/": ("Call out for submissions", ["We read everything we receive."]),
}


class BlogSite(BaseSite):
    """A running peterkropotkin.org-like blog; see ``BaseSite`` for the shared API."""

    first_post_id = 412
    post_id_step = 9
    wp_api = True
    # More robots.txt Disallow paths (e.g. "/wp-json/"); tests may set it on a fresh blog.
    robots_disallow: tuple[str, ...] = ()

    def permalink_path(self, article: Article) -> str:
        return f"/{article.published:%Y/%m/%d}/{article.slug}/"

    @property
    def listing_urls(self) -> list[str]:
        """Home and /kropotkin-today/ pages, categories, tags, authors and month archives."""
        catalog = self.catalog
        bases: list[tuple[str, int]] = [
            ("/", len(catalog.articles)),
            ("/kropotkin-today/", len(catalog.articles)),
        ]
        for kind in ("category", "tag", "author"):
            bases += [(f"/{kind}/{s}/", len(a)) for s, a in catalog.groups.get(kind, {}).items()]
        bases += [(path, len(items)) for path, items in _months(catalog).items()]
        return [
            self._page_url(base, n) for base, count in bases for n in range(1, _pages(count) + 1)
        ]

    @property
    def comments_feed_url(self) -> str:
        return self.url("/comments/feed/")

    @property
    def sitemap_url(self) -> str:
        return self.url("/wp-sitemap.xml")

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(status=405, body=b"Method Not Allowed", headers={"Allow": "GET, HEAD"})
        catalog = self.catalog
        path, query = routing.split(request)
        found = self._special(catalog, path, query) or self._essay(catalog, path)
        found = found or self._feeds(catalog, path) or self._listing(catalog, path, query)
        found = found or routing.add_slash(request, self.respond, self.base_url)
        found = found or routing.not_found(lambda: not_found_page(self._chrome(catalog)))
        return self._announce_api(found)

    def _announce_api(self, response: Response) -> Response:
        """WordPress names its REST API in a ``Link`` header on every HTML page."""
        if not self.wp_api or not response.content_type.startswith("text/html"):
            return response
        link = f'<{self.url("/wp-json/")}>; rel="https://api.w.org/"'
        return dataclasses.replace(response, headers={**response.headers, "Link": link})

    def _special(self, catalog: Catalog, path: str, query: dict[str, str]) -> Response | None:
        chrome = self._chrome(catalog)
        if path == "/" and "p" in query:
            return routing.by_id(catalog, query["p"])
        if self.wp_api and path.startswith("/wp-json"):
            uploads = self.url("/wp-content/uploads")
            render = lambda article: essay_body(article, uploads)  # noqa: E731
            return wp_api.respond(catalog, self.base_url, path, query, render)
        if is_asset(path):
            return asset(path)
        if path == "/robots.txt":
            return Response(body=self._robots().encode(), content_type=TEXT)
        if path.startswith("/wp-admin"):
            target = self.url(f"/wp-login.php?redirect_to={quote(self.url(path), safe='')}")
            return redirect(target + "&reauth=1", 302)
        if path == "/wp-login.php":
            return routing.html(login_page(chrome))
        if path in PAGES:
            title, paragraphs = PAGES[path]
            page_id = 2 + list(PAGES).index(path)
            return routing.html(static_page(chrome, page_id, title, paragraphs))
        return None

    def _essay(self, catalog: Catalog, path: str) -> Response | None:
        match = _ESSAY.match(path)
        article = catalog.by_slug.get(match["slug"]) if match else None
        if match is None or article is None:
            return None
        if not article.url.endswith(path[: match.end("slug")] + "/"):
            return None
        if match["rest"] is None:
            return redirect(article.url, 301)
        if match["rest"] == "/feed/":
            channel = self._channel(catalog, f"Comments on: {article.title}", article.url, path)
            return routing.validated(
                rss(channel, comment_items([article], self.base_url)), catalog.changed_at
            )
        if match["rest"] != "/":
            return None
        index = catalog.articles.index(article)
        older = catalog.articles[index + 1] if index + 1 < len(catalog.articles) else None
        newer = catalog.articles[index - 1] if index > 0 else None
        return routing.html(essay_page(self._chrome(catalog), article, older, newer))

    def _feeds(self, catalog: Catalog, path: str) -> Response | None:
        if path == "/feed/":
            channel = self._channel(catalog, SITE_NAME, self.base_url, path)
            items = [self._item(a) for a in catalog.articles[:FEED_SIZE]]
        elif path == "/comments/feed/":
            channel = self._channel(catalog, f"Comments for {SITE_NAME}", self.base_url, path)
            items = comment_items(catalog.articles, self.base_url)
        else:
            return self._sitemaps(catalog, path)
        return routing.validated(rss(channel, items), catalog.changed_at)

    def _item(self, article: Article) -> str:
        excerpt = f"{esc(article.summary)} […]"
        content = essay_body(article, self.url("/wp-content/uploads"))
        return post_item(article, self.base_url, excerpt, content=content)

    def _channel(self, catalog: Catalog, title: str, link: str, path: str) -> Channel:
        return Channel(title, link, self.url(path), TAGLINE, catalog.changed_at, self.base_url)

    def _sitemaps(self, catalog: Catalog, path: str) -> Response | None:
        if path == "/wp-sitemap.xml":
            names = ["posts-post-1", "posts-page-1", "taxonomies-category-1", "users-1"]
            body = sitemap_index((self.url(f"/wp-sitemap-{name}.xml"), None) for name in names)
        elif path == "/wp-sitemap-posts-post-1.xml":
            body = url_set((a.url, a.modified) for a in catalog.articles)
        elif path == "/wp-sitemap-posts-page-1.xml":
            body = url_set((self.url(p), None) for p in PAGES)
        elif path == "/wp-sitemap-taxonomies-category-1.xml":
            body = url_set(
                (self.url(f"/category/{slug}/"), None) for slug in catalog.names["category"]
            )
        elif path == "/wp-sitemap-users-1.xml":
            body = url_set((self.url(f"/author/{slug}/"), None) for slug in catalog.names["author"])
        else:
            return None
        return routing.sitemap(body, catalog.changed_at)

    def _listing(self, catalog: Catalog, path: str, query: dict[str, str]) -> Response | None:
        base, page = routing.paged(path)
        if page == 1 and base != path:
            return redirect(self.url(base), 301)
        items, title, heading, body_class = self._select(catalog, base, query.get("s", ""))
        if items is None or page > _pages(len(items)):
            return None
        link = self._search_link(query["s"]) if query.get("s") else self._page_url
        text = listing_page(
            self._chrome(catalog),
            title=title,
            heading=heading,
            body_class=body_class,
            entries=page_slice(items, page, PER_PAGE),
            canonical=link(base, page),
            older=link(base, page + 1) if page < _pages(len(items)) else None,
            newer=link(base, page - 1) if page > 1 else None,
        )
        return routing.html(text)

    def _select(
        self, catalog: Catalog, base: str, search: str
    ) -> tuple[tuple[Article, ...] | None, str, str, str]:
        """Which posts a listing path shows, with its title, heading and body class."""
        if base == "/" and search:
            title = f"Search Results for “{search}” – {SITE_NAME}"
            return catalog.search(search), title, f"Search Results for: {search}", "search"
        if base in ("/", "/kropotkin-today/"):
            body_class = "home blog" if base == "/" else "blog"
            title = f"{SITE_NAME} – {TAGLINE}" if base == "/" else f"Kropotkin Today – {SITE_NAME}"
            return catalog.articles, title, "", body_class
        if match := _TAXONOMY.match(base):
            kind, slug = match["kind"], match["slug"]
            items = catalog.group(kind, slug) or None
            name = catalog.names.get(kind, {}).get(slug, "")
            label = {"category": "Category", "tag": "Tag", "author": "Author"}[kind]
            return items, f"{name} – {SITE_NAME}", f"{label}: {name}", f"archive {kind}"
        if base in (months := _months(catalog)):
            items = months[base]
            when = f"{items[0].published:%B %Y}"
            return items, f"{when} – {SITE_NAME}", f"Month: {when}", "archive date"
        return None, "", "", ""

    def _search_link(self, query: str) -> Callable[[str, int], str]:
        def link(base: str, page: int) -> str:
            prefix = "/" if page == 1 else f"/page/{page}/"
            return self.url(f"{prefix}?s={quote(query)}")

        return link

    def _robots(self) -> str:
        extra = "".join(f"Disallow: {path}\n" for path in self.robots_disallow)
        return (
            f"User-agent: *\nDisallow: /wp-admin/\n{extra}Allow: /wp-admin/admin-ajax.php\n\n"
            f"Sitemap: {self.url('/wp-sitemap.xml')}\n"
        )

    def _chrome(self, catalog: Catalog) -> Chrome:
        recent = tuple((a.url, a.title) for a in catalog.articles[:5])
        months = tuple(
            (self.url(path), f"{items[0].published:%B %Y}")
            for path, items in _months(catalog).items()
        )
        categories = tuple(
            (self.url(f"/category/{slug}/"), catalog.names["category"][slug], len(items))
            for slug, items in sorted(catalog.groups.get("category", {}).items())
        )
        return Chrome(self.base_url, recent, months, categories)

    def _page_url(self, base: str, page: int) -> str:
        return self.url(base if page == 1 else f"{base}page/{page}/")


def _months(catalog: Catalog) -> dict[str, tuple[Article, ...]]:
    """Month archives, newest first: ``/2021/03/`` → that month's posts."""
    months: dict[str, list[Article]] = {}
    for article in catalog.articles:
        months.setdefault(f"/{article.published:%Y/%m}/", []).append(article)
    return {path: tuple(items) for path, items in months.items()}


def _pages(count: int) -> int:
    return page_count(count, PER_PAGE)


def build_blog_site(port: int = 0) -> BlogSite:
    """Start the blog with its twelve essays."""
    return BlogSite(load_drafts("blog"), port)
