"""Pytest fixtures serving the test sites; registered with
``pytest_plugins = ["tests.sites.fixtures"]`` in ``tests/conftest.py``.

The session-wide ``news_site`` and ``blog_site`` are shared by every test: read them, do not
publish to them, and call ``clear_log()`` before asserting on their request log. Tests that
change content take a fresh site from ``make_news_site()`` / ``make_blog_site()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sites.blog_site import BlogSite, build_blog_site
from tests.sites.news_site import NewsSite, build_news_site


@pytest.fixture(scope="session")
def news_site() -> Iterator[NewsSite]:
    with build_news_site() as site:
        yield site


@pytest.fixture(scope="session")
def blog_site() -> Iterator[BlogSite]:
    with build_blog_site() as site:
        yield site


@pytest.fixture
def make_news_site() -> Iterator[Callable[..., NewsSite]]:
    """A factory: ``make_news_site(extra_articles=0, seed=1)``; sites close after the test."""
    sites: list[NewsSite] = []

    def make(extra_articles: int = 0, seed: int = 1) -> NewsSite:
        site = build_news_site(extra_articles=extra_articles, seed=seed)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


@pytest.fixture
def make_blog_site() -> Iterator[Callable[[], BlogSite]]:
    """A factory for fresh blogs; they close after the test."""
    sites: list[BlogSite] = []

    def make() -> BlogSite:
        site = build_blog_site()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()
