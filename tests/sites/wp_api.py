"""The WordPress REST API's posts endpoint (``/wp-json/wp/v2/posts``), as far as pollers use it.

Query arguments: ``page``, ``per_page`` (1-100, default 10), ``include`` and ``slug``
(comma-separated lists), ``orderby`` (date, modified, id), ``order``, ``modified_after`` and
``_embed`` (author and terms). Paging headers ``X-WP-Total`` / ``X-WP-TotalPages``; a page past
the last is WordPress's 400 ``rest_post_invalid_page_number``; other routes are its 404 JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from tests.sites.catalog import Catalog, page_count, page_slice
from tests.sites.content import slugify
from tests.sites.markup import esc
from tests.sites.model import Article
from tests.sites.server import Response

JSON = "application/json; charset=UTF-8"
POSTS = "/wp-json/wp/v2/posts"
RenderContent = Callable[[Article], str]


def respond(
    catalog: Catalog, base_url: str, path: str, query: dict[str, str], render: RenderContent
) -> Response | None:
    """Answer a ``/wp-json/...`` path, or None for any other path."""
    if not path.startswith("/wp-json"):
        return None
    if path.rstrip("/") == POSTS:
        return _posts(catalog, base_url, query, render)
    if path.rstrip("/") == "/wp-json":
        return _json({"name": "test site", "url": base_url, "namespaces": ["wp/v2"]})
    return _error(404, "rest_no_route", "No route was found matching the URL and request method.")


def _posts(
    catalog: Catalog, base_url: str, query: dict[str, str], render: RenderContent
) -> Response:
    per_page = _number(query.get("per_page"), 10)
    page = _number(query.get("page"), 1)
    if not 1 <= per_page <= 100:
        return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    if page < 1:
        return _error(400, "rest_invalid_param", "Invalid parameter(s): page")
    posts = _select(catalog, query)
    pages = page_count(len(posts), per_page)
    if posts and page > pages:
        return _error(
            400,
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        )
    embed = "_embed" in query
    terms = _term_ids(catalog)
    body = [
        _post(article, base_url, render, terms, embed)
        for article in page_slice(posts, page, per_page)
    ]
    headers = {"X-WP-Total": str(len(posts)), "X-WP-TotalPages": str(pages if posts else 0)}
    return _json(body, headers)


def _select(catalog: Catalog, query: dict[str, str]) -> tuple[Article, ...]:
    posts = catalog.articles
    if query.get("include"):
        wanted = {int(v) for v in query["include"].split(",") if v.strip().isdigit()}
        posts = tuple(a for a in posts if a.post_id in wanted)
    if query.get("slug"):
        slugs = {v.strip() for v in query["slug"].split(",")}
        posts = tuple(a for a in posts if a.slug in slugs)
    if query.get("modified_after"):
        after = datetime.fromisoformat(query["modified_after"]).replace(tzinfo=UTC)
        posts = tuple(a for a in posts if a.modified > after)
    key = query.get("orderby", "date")
    field = {"date": "published", "modified": "modified", "id": "post_id"}.get(key, "published")
    return tuple(
        sorted(posts, key=lambda a: getattr(a, field), reverse=query.get("order") != "asc")
    )


def _post(
    article: Article,
    base_url: str,
    render: RenderContent,
    terms: dict[tuple[str, str], int],
    embed: bool,
) -> dict[str, object]:
    categories = [terms[("category", slugify(c))] for c in article.categories]
    tags = [terms[("tag", slugify(t))] for t in article.tags]
    post: dict[str, object] = {
        "id": article.post_id,
        "date": _local(article.published),
        "date_gmt": _local(article.published),
        "guid": {"rendered": f"{base_url}/?p={article.post_id}"},
        "modified": _local(article.modified),
        "modified_gmt": _local(article.modified),
        "slug": article.slug,
        "status": "publish",
        "type": "post",
        "link": article.url,
        "title": {"rendered": esc(article.title)},
        "content": {"rendered": render(article), "protected": False},
        "excerpt": {"rendered": f"<p>{esc(article.summary)} […]</p>\n", "protected": False},
        "author": terms[("author", slugify(article.author))],
        "categories": categories,
        "tags": tags,
    }
    if embed:
        post["_embedded"] = {
            "author": [{"id": post["author"], "name": article.author}],
            "wp:term": [
                _embedded_terms(categories, article.categories, "category"),
                _embedded_terms(tags, article.tags, "post_tag"),
            ],
        }
    return post


def _embedded_terms(ids: list[int], names: tuple[str, ...], taxonomy: str) -> list[object]:
    return [
        {"id": i, "name": name, "taxonomy": taxonomy} for i, name in zip(ids, names, strict=True)
    ]


def _term_ids(catalog: Catalog) -> dict[tuple[str, str], int]:
    ids: dict[tuple[str, str], int] = {}
    for kind in ("category", "tag", "author"):
        for index, slug in enumerate(sorted(catalog.names.get(kind, {}))):
            ids[(kind, slug)] = index + 2
    return ids


def _local(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _number(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return -1


def _json(value: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Response(body=body, content_type=JSON, headers=headers or {})


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"code": code, "message": message, "data": {"status": status}})
    return Response(status=status, body=body.encode(), content_type=JSON)
