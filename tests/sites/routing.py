"""Small helpers both sites' request routers use."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs

from tests.sites.catalog import Catalog
from tests.sites.server import HTML, RSS, XML, Request, Response, redirect

_PAGED = re.compile(r"^(?P<base>/.*?)page/(?P<number>[1-9]\d*)/$")


def split(request: Request) -> tuple[str, dict[str, str]]:
    """Path and query of a request, the query as single values (the last one wins)."""
    target = request.path.partition("#")[0]
    path, _, raw = target.partition("?")  # not urlsplit: "//x" is a path here, not a host
    query = {key: values[-1] for key, values in parse_qs(raw).items()}
    return path or "/", query


def paged(path: str) -> tuple[str, int]:
    """``/category/x/page/3/`` → (``/category/x/``, 3); a path without a page is page 1."""
    match = _PAGED.match(path)
    if match is None:
        return path, 1
    return match["base"], int(match["number"])


def add_slash(
    request: Request, app: Callable[[Request], Response], base_url: str
) -> Response | None:
    """WordPress's canonical redirect: ``/feed`` → 301 ``/feed/`` when the latter exists."""
    path, _, query = request.path.partition("?")
    if path.endswith("/") or "." in path.rsplit("/", 1)[-1]:
        return None
    target = path + "/" + (f"?{query}" if query else "")
    if app(dataclasses.replace(request, path=target)).status != 200:
        return None
    return redirect(base_url + target, 301)


def html(text: str, status: int = 200) -> Response:
    return Response(status=status, body=text.encode("utf-8"), content_type=HTML)


def validated(body: bytes, changed_at: datetime, content_type: str = RSS) -> Response:
    """A feed or sitemap with the validators conditional GET needs."""
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    return Response(body=body, content_type=content_type, etag=etag, last_modified=changed_at)


def sitemap(body: bytes, changed_at: datetime) -> Response:
    return validated(body, changed_at, XML)


def not_found(render: Callable[[], str]) -> Response:
    return html(render(), status=404)


def by_id(catalog: Catalog, value: str) -> Response | None:
    """``/?p=123``: 301 to the post's permalink, as WordPress does for its short links."""
    article = catalog.by_id.get(int(value)) if value.isdigit() else None
    return redirect(article.url) if article else None
