"""Which archive file a request path names, checked before anything is read (pure).

The archive's paths (``archive.py``): ``articles/ID.html``; ``sources/NAME/``, ``tags/SLUG/`` and
``archive/YYYY/MM/`` with ``index.html`` or ``N.html``; the lists and ``sources.opml``. A folder
path (``sources/blog/``) means its ``index.html``. A listing page that is not a whole number from
1 is a ``BadRequestError``; anything else unknown is None (404).
"""

from __future__ import annotations

import re

from aggregator.publish.archive_pages import MONTHS_INDEX, OPML, SOURCES_INDEX, TAGS_INDEX
from aggregator.publish.feed import INDEX
from aggregator.publish.names import is_slug, is_source_name
from aggregator.publish.routes import BadRequestError

_ARTICLE = re.compile(r"articles/([1-9][0-9]{0,17})\.html")
_MONTH = re.compile(r"[0-9]{4}/(0[1-9]|1[0-2])")
_PAGE = re.compile(r"[1-9][0-9]{0,8}\.html")


def page_number(name: str) -> int | None:
    """``7`` for ``7.html``; None for anything else (``07.html``, ``0.html``, ``x.html``)."""
    return int(name.removesuffix(".html")) if _PAGE.fullmatch(name) else None


def archive_path(path: str) -> str | None:
    """The archive file ``path`` names (``sources/blog/`` -> ``sources/blog/index.html``), or
    None when it names none; raises ``BadRequestError`` for a page number that cannot be one."""
    name = path.lstrip("/")
    if name.endswith("/"):
        name += INDEX
    if name in (SOURCES_INDEX, TAGS_INDEX, MONTHS_INDEX, OPML) or _ARTICLE.fullmatch(name):
        return name
    folder, _, page = name.rpartition("/")
    root, _, key = folder.partition("/")
    known = (
        (root == "sources" and is_source_name(key))
        or (root == "tags" and is_slug(key))
        or (root == "archive" and _MONTH.fullmatch(key) is not None)
    )
    if not known:
        return None
    if page == INDEX or page_number(page) is not None:
        return name
    if page.endswith(".html"):
        raise BadRequestError("a page number is a whole number from 1 (1.html, 2.html, ...)")
    return None
