"""Finding a site's articles with no selectors: WordPress's REST API, else its post sitemaps.

A ``crawl: {}`` block names no listing, selector or sitemap. The spider then tries the entry
points of ``entry_points`` in turn until one answers: the REST API's pages of posts (newest
first, each post's permalink and date, so the all-stored rule can stop paging), WordPress core's
``wp-sitemap.xml``, then ``sitemap_index.xml`` (Yoast SEO, Rank Math). From a sitemap index only
the sitemaps of posts are read when their names say which they are. Pure functions of URLs and
fetched bodies; the spider does the fetching.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from aggregator.dates import parse_date
from spiders.listing import Entry, absolute_link

API_PATH = "wp-json/wp/v2/posts"
PER_PAGE = 100  # the most WordPress gives in one page
SITEMAPS = ("wp-sitemap.xml", "sitemap_index.xml")
END_OF_PAGES = 400  # WordPress's answer to a page past the last (rest_post_invalid_page_number)


@dataclass(frozen=True)
class PostsPage:
    """One page of the posts endpoint: its articles, and the next page's URL if there is one."""

    entries: tuple[Entry, ...]
    next_page: str | None


def entry_points(homepage: str) -> tuple[str, ...]:
    """Where to look for a WordPress site's articles, in the order to try them."""
    base = _install_root(homepage)
    return (posts_page_url(base, 1), *(base + name for name in SITEMAPS))


def posts_page_url(base: str, page: int) -> str:
    """Page ``page`` of the posts endpoint under the WordPress install at ``base``."""
    fields = {"per_page": PER_PAGE, "page": page, "orderby": "date", "order": "desc"}
    return f"{base}{API_PATH}?{urlencode({**fields, '_fields': 'link,date_gmt'})}"


def is_posts_page(url: str) -> bool:
    return urlsplit(url).path.endswith("/" + API_PATH)


def read_posts_page(body: bytes, url: str, total_pages: str | None) -> PostsPage | None:
    """The posts endpoint's answer ``body`` fetched from ``url``; None unless it is a list of
    posts. ``total_pages`` is the ``X-WP-TotalPages`` header; without it a full page is taken
    to have a successor."""
    try:
        posts = json.loads(body)
    except ValueError:
        return None
    if not isinstance(posts, list) or not all(isinstance(post, dict) for post in posts):
        return None
    entries = tuple(entry for post in posts if (entry := _entry(post, url)) is not None)
    page = _page_number(url)
    if total_pages is not None and total_pages.strip().isdigit():
        more = page < int(total_pages)
    else:
        more = len(posts) >= PER_PAGE
    return PostsPage(entries, _with_page(url, page + 1) if more and posts else None)


def _entry(post: dict[str, object], url: str) -> Entry | None:
    link = post.get("link")
    link = absolute_link(link, url) if isinstance(link, str) else None
    return Entry(link, _gmt(post.get("date_gmt"))) if link else None


def _gmt(value: object) -> datetime | None:
    return parse_date(value) if isinstance(value, str) else None


def _page_number(url: str) -> int:
    values = parse_qs(urlsplit(url).query).get("page", ["1"])
    return int(values[-1]) if values[-1].isdigit() else 1


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, "page": page})).geturl()


def _install_root(homepage: str) -> str:
    """The folder WordPress is installed in: the homepage's, with a final slash."""
    parts = urlsplit(homepage)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"
