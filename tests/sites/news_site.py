"""The "news" site: a large WordPress news portal shaped like countercurrents.org.

Routes, listings, feeds, sitemaps, redirects and errors; the HTML lives in ``news_pages``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote_plus

from tests.sites import routing, wp_api
from tests.sites.assets import asset, is_asset
from tests.sites.catalog import Catalog, page_count, page_slice
from tests.sites.content import load_drafts, slugify
from tests.sites.feeds import Channel, comment_items, post_item, rss
from tests.sites.markup import esc, render_blocks, render_footnotes
from tests.sites.model import Article
from tests.sites.news_pages import (
    amp_page,
    article_page,
    forbidden_page,
    listing_page,
    not_found_page,
    server_error_page,
    static_page,
)
from tests.sites.news_theme import SITE_NAME, TAGLINE, Chrome
from tests.sites.server import TEXT, Request, Response, redirect
from tests.sites.site import BaseSite
from tests.sites.sitemaps import sitemap_index, url_set
from tests.sites.synth import base_synthetic_news, extra_news

PER_PAGE = 10
FEED_SIZE = 10
SITEMAP_SIZE = 1000  # Yoast's entries per post-sitemap file
PRIVATE_PATH = "/private/editorial-calendar/"
_ARTICLE = re.compile(r"^/(?P<y>\d{4})/(?P<m>\d{2})/(?P<slug>[a-z0-9-]+)(?P<rest>/.*)?$")
_LISTING = re.compile(r"^/(?P<kind>category|tag|author)/(?P<slug>[a-z0-9-]+)/$")
PAGES = {
    "/about-us/": (
        "About Us",
        [
            "Countercurrents is an independent, reader-funded news and opinion site. We publish "
            "reporting and essays that the large media houses leave out.",
            "Our most read pieces from the old site are kept at their old addresses.",
        ],
    ),
    "/contact-us/": (
        "Contact Us",
        ["Write to the editors at editor@countercurrents.example. We read every message."],
    ),
    "/support/": (
        "Support Us",
        ["Countercurrents carries no corporate advertising. Readers keep it alive."],
    ),
    PRIVATE_PATH: (
        "Editorial Calendar",
        ["Internal planning page. Not for publication or indexing."],
    ),
}


class NewsSite(BaseSite):
    """A running countercurrents-like site; see ``BaseSite`` for the shared API."""

    first_post_id = 268_000
    post_id_step = 37

    def permalink_path(self, article: Article) -> str:
        return f"/{article.published:%Y/%m}/{article.slug}/"

    # -- ground truth helpers ------------------------------------------------------------------

    @property
    def listing_urls(self) -> list[str]:
        """Every listing page: home, categories, tags and authors, with all their pages."""
        catalog = self.catalog
        urls = [self._page_url("/", n) for n in range(1, self._pages(catalog.articles) + 1)]
        for kind in ("category", "tag", "author"):
            for slug, items in catalog.groups.get(kind, {}).items():
                base = f"/{kind}/{slug}/"
                urls += [self._page_url(base, n) for n in range(1, self._pages(items) + 1)]
        return urls

    def search_url(self, query: str, page: int = 1) -> str:
        prefix = "/" if page == 1 else f"/page/{page}/"
        return self.url(f"{prefix}?s={quote_plus(query)}")

    def category_feed_url(self, category: str) -> str:
        return self.url(f"/category/{slugify(category)}/feed/")

    @property
    def sitemap_url(self) -> str:
        return self.url("/sitemap.xml")

    @property
    def private_url(self) -> str:
        """A page robots.txt forbids; every page links to it."""
        return self.url(PRIVATE_PATH)

    @property
    def old_urls(self) -> dict[str, str]:
        """Old-site addresses (``/old/slug.html``) and the permalinks they 301 to."""
        return {self.url(f"/old/{a.slug}.html"): a.url for a in self._old_articles(self.catalog)}

    # -- routing -------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(status=405, body=b"Method Not Allowed", headers={"Allow": "GET, HEAD"})
        catalog = self.catalog
        path, query = routing.split(request)
        for route in (self._special, self._article, self._feeds, self._listings):
            response = route(catalog, path, query)
            if response is not None:
                return response
        slashed = routing.add_slash(request, self.respond, self.base_url)
        return slashed or routing.not_found(lambda: not_found_page(self._chrome(catalog)))

    def _special(self, catalog: Catalog, path: str, query: dict[str, str]) -> Response | None:
        if path == "/" and "p" in query:
            return routing.by_id(catalog, query["p"])
        if self.wp_api and path.startswith("/wp-json"):
            return wp_api.respond(catalog, self.base_url, path, query, self._api_content)
        if is_asset(path):
            return asset(path)
        if path == "/robots.txt":
            return Response(body=self._robots().encode(), content_type=TEXT)
        if path.startswith("/wp-admin"):
            return routing.html(forbidden_page(), status=403)
        if path == "/server-error/":
            return routing.html(server_error_page(), status=500)
        if path in PAGES:
            return self._static(catalog, path)
        return self._redirects(catalog, path)

    def _redirects(self, catalog: Catalog, path: str) -> Response | None:
        if path == "/loop/a":
            return redirect(self.url("/loop/b"), 302)
        if path == "/loop/b":
            return redirect(self.url("/loop/a"), 302)
        old = re.fullmatch(r"/old/([a-z0-9-]+)\.html", path)
        if old and old[1] in {a.slug for a in self._old_articles(catalog)}:
            return redirect(catalog.by_slug[old[1]].url, 301)
        go = re.fullmatch(r"/go/([a-z0-9-]+)/?", path)
        if go and go[1] in catalog.by_slug:
            return redirect(catalog.by_slug[go[1]].url, 302)
        return None

    def _article(self, catalog: Catalog, path: str, query: dict[str, str]) -> Response | None:
        match = _ARTICLE.match(path)
        article = catalog.by_slug.get(match["slug"]) if match else None
        if (
            match is None
            or article is None
            or not article.url.endswith(path[: match.end("slug")] + "/")
        ):
            return None
        rest = match["rest"]
        if rest is None:
            return redirect(article.url, 301)
        if rest == "/amp/" or (rest == "/" and query.get("amp") == "1"):
            return routing.html(amp_page(self._chrome(catalog), article))
        if rest == "/feed/":
            title = f"Comments on: {article.title}"
            channel = self._channel(catalog, title, article.url, self.url(path))
            body = rss(channel, comment_items([article], self.base_url))
            return routing.validated(body, catalog.changed_at)
        if rest != "/":
            return None
        return routing.html(self._article_html(catalog, article))

    def _api_content(self, article: Article) -> str:
        uploads = self.url("/wp-content/uploads/2024/01")
        return render_blocks(article.blocks, uploads) + render_footnotes(article.footnotes)

    def _article_html(self, catalog: Catalog, article: Article) -> str:
        order = catalog.articles
        index = order.index(article)
        older = order[index + 1] if index + 1 < len(order) else None
        newer = order[index - 1] if index > 0 else None
        neighbours = [a for a in (older, newer) if a is not None]
        return article_page(self._chrome(catalog), article, _related(catalog, article), neighbours)

    def _feeds(self, catalog: Catalog, path: str, query: dict[str, str]) -> Response | None:
        if path == "/feed/":
            items = catalog.articles
            channel = self._channel(catalog, SITE_NAME, self.base_url, self.url(path))
        elif path == "/comments/feed/":
            title = f"Comments for {SITE_NAME}"
            channel = self._channel(catalog, title, self.base_url, self.url(path))
            body = rss(channel, comment_items(catalog.articles, self.base_url))
            return routing.validated(body, catalog.changed_at)
        elif (match := re.fullmatch(r"/category/([a-z0-9-]+)/feed/", path)) and (
            items := catalog.group("category", match[1])
        ):
            name = catalog.names["category"][match[1]]
            title = f"{name} Archives - {SITE_NAME}"
            channel = self._channel(catalog, title, self.base_url, self.url(path))
        else:
            return self._sitemaps(catalog, path)
        body = rss(channel, [self._item(a) for a in items[:FEED_SIZE]])
        return routing.validated(body, catalog.changed_at)

    def _item(self, article: Article) -> str:
        link = (
            f"{article.url}?utm_source=rss&utm_medium=rss&utm_campaign={quote_plus(article.slug)}"
        )
        description = (
            f'<p>{esc(article.summary)} [&#8230;]</p>\n<p>The post <a href="{esc(article.url)}">'
            f'{esc(article.title)}</a> appeared first on <a href="{esc(self.base_url)}">'
            f"{SITE_NAME}</a>.</p>\n"
        )
        return post_item(article, self.base_url, description, link=link)

    def _channel(self, catalog: Catalog, title: str, link: str, feed_url: str) -> Channel:
        return Channel(title, link, feed_url, TAGLINE, catalog.changed_at, self.base_url)

    def _listings(self, catalog: Catalog, path: str, query: dict[str, str]) -> Response | None:
        base, page = routing.paged(path)
        if page == 1 and base != path:
            return redirect(
                self.url(base) + (f"?s={quote_plus(query['s'])}" if query.get("s") else "")
            )
        chrome = self._chrome(catalog)
        if base == "/":
            if query.get("s"):
                return self._search(chrome, catalog, query["s"], page)
            return self._listing(
                chrome,
                base,
                page,
                catalog.articles,
                title=f"{SITE_NAME} - {TAGLINE}",
                heading="Latest News",
                body_class="home blog",
            )
        match = _LISTING.match(base)
        if match is None or not (items := catalog.group(match["kind"], match["slug"])):
            return None
        kind, name = match["kind"], catalog.names[match["kind"]][match["slug"]]
        titles = {
            "category": f"{name} Archives - {SITE_NAME}",
            "tag": f"{name} Archives - {SITE_NAME}",
            "author": f"{name}, Author at {SITE_NAME}",
        }
        feed = self.url(f"{base}feed/") if kind == "category" else ""
        body_class = f"archive {kind} {kind}-{match['slug']}"
        return self._listing(
            chrome,
            base,
            page,
            items,
            title=titles[kind],
            heading=name,
            body_class=body_class,
            feed=feed,
        )

    def _search(self, chrome: Chrome, catalog: Catalog, query: str, page: int) -> Response | None:
        found = catalog.search(query)
        pages = self._pages(found)
        if page > pages:
            return None
        text = listing_page(
            chrome,
            title=f"You searched for {query} - {SITE_NAME}",
            heading=f"Search: {query}",
            body_class="search search-results",
            entries=page_slice(found, page, PER_PAGE),
            page=page,
            pages=pages,
            link=lambda n: self.search_url(query, n),
        )
        return routing.html(text)

    def _listing(
        self, chrome: Chrome, base: str, page: int, items: tuple[Article, ...], **kwargs: str
    ) -> Response | None:
        pages = self._pages(items)
        if page > pages:
            return None
        link: Callable[[int], str] = lambda n: self._page_url(base, n)  # noqa: E731
        entries = page_slice(items, page, PER_PAGE)
        return routing.html(
            listing_page(chrome, entries=entries, page=page, pages=pages, link=link, **kwargs)
        )

    def _sitemaps(self, catalog: Catalog, path: str) -> Response | None:
        chunks = _chunks(sorted(catalog.articles, key=lambda a: a.modified), SITEMAP_SIZE)
        names = ["post-sitemap.xml"] + [f"post-sitemap{n}.xml" for n in range(2, len(chunks) + 1)]
        if path in ("/sitemap.xml", "/sitemap_index.xml"):  # Yoast answers at both
            entries = [
                (self.url(f"/{name}"), chunk[-1].modified)
                for name, chunk in zip(names, chunks, strict=True)
            ]
            entries.append((self.url("/page-sitemap.xml"), catalog.changed_at))
            entries.append((self.url("/category-sitemap.xml"), catalog.changed_at))
            return routing.sitemap(sitemap_index(entries), catalog.changed_at)
        if path.lstrip("/") in names:
            chunk = chunks[names.index(path.lstrip("/"))]
            return routing.sitemap(url_set((a.url, a.modified) for a in chunk), catalog.changed_at)
        if path == "/page-sitemap.xml":
            pages: list[tuple[str, datetime | None]] = [(self.url("/"), catalog.changed_at)]
            pages += [(self.url(p), None) for p in PAGES if p != PRIVATE_PATH]
            return routing.sitemap(url_set(pages), catalog.changed_at)
        if path == "/category-sitemap.xml":
            slugs = catalog.groups.get("category", {})
            rows = [(self.url(f"/category/{s}/"), items[0].modified) for s, items in slugs.items()]
            return routing.sitemap(url_set(rows), catalog.changed_at)
        return None

    def _static(self, catalog: Catalog, path: str) -> Response:
        title, paragraphs = PAGES[path]
        page_id = 1000 + list(PAGES).index(path)
        extra = ""
        if path == "/about-us/":
            links = "".join(
                f'<li><a href="{esc(self.url(f"/old/{a.slug}.html"))}">{esc(a.title)}</a></li>'
                for a in self._old_articles(catalog)
            )
            extra = f'<ul class="old-favourites">{links}</ul>'
        chrome = self._chrome(catalog)
        return routing.html(static_page(chrome, page_id, title, paragraphs, extra))

    def _robots(self) -> str:
        return (
            "User-agent: *\nDisallow: /wp-admin/\nDisallow: /private/\n"
            f"Allow: /wp-admin/admin-ajax.php\n\nSitemap: {self.url('/sitemap.xml')}\n"
        )

    def _chrome(self, catalog: Catalog) -> Chrome:
        picks = tuple(a for a in catalog.articles if a.is_relevant)[:3]
        return Chrome(self.base_url, catalog.changed_at, catalog.articles[:8], picks)

    def _pages(self, items: tuple[Article, ...]) -> int:
        return page_count(len(items), PER_PAGE)

    def _page_url(self, base: str, page: int) -> str:
        return self.url(base if page == 1 else f"{base}page/{page}/")

    @staticmethod
    def _old_articles(catalog: Catalog) -> list[Article]:
        """The five oldest posts kept their pre-WordPress addresses."""
        return list(catalog.articles[-5:])


def _related(catalog: Catalog, article: Article) -> list[Article]:
    """Three other posts from the article's first category, nearest in date."""
    pool = catalog.group("category", slugify(article.categories[0])) if article.categories else ()
    others = [a for a in pool if a.post_id != article.post_id] or [
        a for a in catalog.articles if a.post_id != article.post_id
    ]
    others.sort(key=lambda a: abs((a.published - article.published).total_seconds()))
    return others[:3]


def _chunks(items: list[Article], size: int) -> list[list[Article]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def build_news_site(extra_articles: int = 0, seed: int = 1, port: int = 0) -> NewsSite:
    """Start the news site: the hand-made articles plus ``extra_articles`` synthetic ones.

    ``seed`` drives only the extra articles, so the base 40 stay the same whatever it is.
    """
    drafts: list[Article] = load_drafts("news")
    drafts += base_synthetic_news(taken={d.slug for d in drafts})
    if extra_articles:
        drafts += extra_news(extra_articles, seed, taken={d.slug for d in drafts})
    return NewsSite(drafts, port)
