"""Offline test websites: two WordPress-like sites served on 127.0.0.1.

``build_news_site()`` starts a large news portal shaped like countercurrents.org and
``build_blog_site()`` a small blog shaped like peterkropotkin.org. Each returns a running site
whose ``articles`` are the ground truth (``tests.sites.model.Article``) that scrapers, feed
pollers and extractors are checked against. Pytest fixtures live in ``tests.sites.fixtures``;
``python -m tests.sites`` serves both for poking around with a browser.
"""

from tests.sites.blog_site import BlogSite, build_blog_site
from tests.sites.model import Article, Block, Comment
from tests.sites.news_site import NewsSite, build_news_site
from tests.sites.server import Request

__all__ = [
    "Article",
    "Block",
    "BlogSite",
    "Comment",
    "NewsSite",
    "Request",
    "build_blog_site",
    "build_news_site",
]
