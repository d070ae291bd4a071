"""The WordPress REST API (``/wp-json/wp/v2/posts``): full content, terms and modified dates.

Where a source's API answers, a summary-only feed costs one API request for all its new entries
instead of one page fetch per entry, edits to posts are seen through ``modified_gmt``, and older
posts can be backfilled page by page. Where it does not (404, a login wall, an HTML page, a
JSON error), the caller falls back to the feed and page extraction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aggregator.dates import parse_date
from aggregator.items import FetchedItem, Origin
from aggregator.poll.http import Fetcher
from aggregator.poll.parsed import plain_text

API_PATH = "wp-json/wp/v2/posts"
MAX_PER_PAGE = 100  # WordPress refuses more
EMBED = "author,wp:term"
_POST_ID = re.compile(r"[?&](?:p|page_id)=(\d+)(?:&|#|$)")


class ApiUnavailableError(Exception):
    """The API did not answer as a WordPress posts endpoint; ``reason`` says how."""

    def __init__(self, reason: str, lasting: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting  # False: a passing problem (rate limit, 5xx); ask again next time


@dataclass(frozen=True)
class PostPage:
    posts: list[dict[str, Any]]
    total_pages: int | None


def api_url_for(homepage: str) -> str:
    """Where a WordPress site at ``homepage`` keeps its posts endpoint."""
    base = homepage if homepage.endswith("/") else homepage + "/"
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}{parts.path}{API_PATH}"


def post_id_of(guid: str | None, link: str | None) -> int | None:
    """WordPress GUIDs (``https://site/?p=123``) and short links carry the post ID."""
    for value in (guid, link):
        match = _POST_ID.search(value or "")
        if match:
            return int(match[1])
    return None


def slug_of(link: str) -> str | None:
    """The last path segment of a permalink, which WordPress calls the slug."""
    segments = [part for part in urlsplit(link).path.split("/") if part]
    return segments[-1].lower() if segments else None


def query_url(api_url: str, **params: object) -> str:
    """The endpoint with query parameters; lists become WordPress's comma-separated form."""
    pairs = {
        key: ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        for key, value in params.items()
        if value is not None
    }
    return f"{api_url}?{urlencode(pairs, safe=',:')}"


def fetch_posts(fetcher: Fetcher, url: str) -> PostPage:
    """GET one page of posts; ``ApiUnavailableError`` unless it answers as the posts endpoint."""
    fetched = fetcher.get(url, {"Accept": "application/json"})
    if fetched.status == 400 and b"rest_post_invalid_page_number" in fetched.body:
        return PostPage([], None)  # asked for a page past the last
    if fetched.status in (429, 500, 502, 503, 504):
        raise ApiUnavailableError(f"HTTP {fetched.status}", lasting=False)
    if fetched.status != 200:
        raise ApiUnavailableError(f"HTTP {fetched.status}")
    try:
        posts = json.loads(fetched.body)
    except ValueError:
        raise ApiUnavailableError("the answer is not JSON") from None
    if not isinstance(posts, list) or not all(isinstance(post, dict) for post in posts):
        raise ApiUnavailableError("the answer is not a list of posts")
    total = fetched.headers.get("x-wp-totalpages", "")
    return PostPage(posts, int(total) if total.isdigit() else None)


def posts_by_ids(fetcher: Fetcher, api_url: str, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The posts with these IDs, in one request (at most ``MAX_PER_PAGE`` of them)."""
    if not ids:
        return []
    wanted = sorted(ids)[:MAX_PER_PAGE]
    url = query_url(api_url, include=wanted, per_page=len(wanted), _embed=EMBED)
    return fetch_posts(fetcher, url).posts


def posts_by_slugs(fetcher: Fetcher, api_url: str, slugs: Sequence[str]) -> list[dict[str, Any]]:
    """The posts with these slugs, in one request (at most ``MAX_PER_PAGE`` of them)."""
    if not slugs:
        return []
    wanted = sorted(slugs)[:MAX_PER_PAGE]
    url = query_url(api_url, slug=wanted, per_page=len(wanted), _embed=EMBED)
    return fetch_posts(fetcher, url).posts


def archive_page(fetcher: Fetcher, api_url: str, page: int, per_page: int) -> PostPage:
    """One page of the archive, newest first (for backfill)."""
    url = query_url(
        api_url,
        page=page,
        per_page=min(per_page, MAX_PER_PAGE),
        orderby="date",
        order="desc",
        _embed=EMBED,
    )
    return fetch_posts(fetcher, url)


def post_to_item(
    post: dict[str, Any], source: str, fetched_at: datetime, guid: str | None = None
) -> FetchedItem | None:
    """The item for one post; None when it has no link or its content is password-protected."""
    link = post.get("link")
    content = _rendered(post.get("content"))
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        return None
    if _is_protected(post) or not content:
        return None
    return FetchedItem(
        source=source,
        url=link,
        origin=Origin.API,
        fetched_at=fetched_at,
        content=content,
        guid=guid or _rendered(post.get("guid")),
        feed_title=plain_text(_rendered(post.get("title"))),
        feed_author=_author(post),
        feed_summary=plain_text(_rendered(post.get("excerpt"))),
        feed_published=gmt_date(post.get("date_gmt")),
        feed_updated=gmt_date(post.get("modified_gmt")),
        feed_tags=tuple(_terms(post)),
    )


def gmt_date(value: object) -> datetime | None:
    """WordPress's ``*_gmt`` fields: ISO dates without a zone, in UTC."""
    return parse_date(value) if isinstance(value, str) else None


def _rendered(field: object) -> str | None:
    value = field.get("rendered") if isinstance(field, dict) else field
    return value if isinstance(value, str) and value.strip() else None


def _is_protected(post: dict[str, Any]) -> bool:
    content = post.get("content")
    return isinstance(content, dict) and bool(content.get("protected"))


def _author(post: dict[str, Any]) -> str | None:
    embedded = post.get("_embedded")
    authors = embedded.get("author") if isinstance(embedded, dict) else None
    if isinstance(authors, list):
        names = [plain_text(a.get("name")) for a in authors if isinstance(a, dict)]
        return ", ".join(name for name in names if name) or None
    return None


def _terms(post: dict[str, Any]) -> Iterable[str]:
    """Category and tag names, from the embedded terms (the bare IDs say nothing)."""
    embedded = post.get("_embedded")
    groups = embedded.get("wp:term") if isinstance(embedded, dict) else None
    seen: dict[str, str] = {}
    for group in groups if isinstance(groups, list) else ():
        for term in group if isinstance(group, list) else ():
            name = plain_text(term.get("name")) if isinstance(term, dict) else None
            if name and term.get("taxonomy") in ("category", "post_tag", None):
                seen.setdefault(name.casefold(), name)
    return seen.values()
