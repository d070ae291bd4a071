"""RSS 2.0 the way WordPress writes it: namespaces, CDATA, ``?p=ID`` guids and all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from tests.sites.markup import esc, rfc822
from tests.sites.model import Article

GENERATOR = "https://wordpress.org/?v=6.4.3"


@dataclass(frozen=True)
class Channel:
    """The ``<channel>`` head: site title, home link, own feed URL, tagline."""

    title: str
    link: str
    feed_url: str
    description: str
    updated: datetime
    base_url: str


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rss(channel: Channel, items: Iterable[str]) -> bytes:
    """A whole feed document from ready-made ``<item>`` elements."""
    head = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{escape(channel.title)}</title>
	<atom:link href="{esc(channel.feed_url)}" rel="self" type="application/rss+xml" />
	<link>{escape(channel.link)}</link>
	<description>{escape(channel.description)}</description>
	<lastBuildDate>{rfc822(channel.updated)}</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>{GENERATOR}</generator>
"""
    return (head + "".join(items) + "\t</channel>\n</rss>\n").encode("utf-8")


def post_item(
    article: Article,
    base_url: str,
    description: str,
    *,
    link: str | None = None,
    content: str | None = None,
) -> str:
    """One post. ``content`` adds ``content:encoded``; ``link`` overrides the permalink."""
    terms = "".join(f"\t\t<category>{cdata(term)}</category>\n" for term in _terms(article))
    encoded = f"\t\t<content:encoded>{cdata(content)}</content:encoded>\n" if content else ""
    return f"""	<item>
		<title>{escape(article.title)}</title>
		<link>{escape(link or article.url)}</link>
		<comments>{escape(article.url)}#respond</comments>
		<dc:creator>{cdata(article.author)}</dc:creator>
		<pubDate>{rfc822(article.published)}</pubDate>
{terms}		<guid isPermaLink="false">{escape(base_url)}/?p={article.post_id}</guid>
		<description>{cdata(description)}</description>
{encoded}		<wfw:commentRss>{escape(article.url)}feed/</wfw:commentRss>
		<slash:comments>{len(article.comments)}</slash:comments>
	</item>
"""


def comment_items(articles: Sequence[Article], base_url: str, limit: int = 10) -> list[str]:
    """The newest ``limit`` comments across ``articles``, as ``/comments/feed/`` lists them."""
    found = [
        (comment, article, index)
        for article in articles
        for index, comment in enumerate(article.comments)
    ]
    found.sort(key=lambda row: row[0].date, reverse=True)
    items = []
    for comment, article, index in found[:limit]:
        anchor = f"comment-{comment_id(article, index)}"
        items.append(f"""	<item>
		<title>{escape(f"Comment on {article.title} by {comment.author}")}</title>
		<link>{escape(article.url)}#{anchor}</link>
		<dc:creator>{cdata(comment.author)}</dc:creator>
		<pubDate>{rfc822(comment.date)}</pubDate>
		<guid isPermaLink="false">{escape(base_url)}/?p={article.post_id}#{anchor}</guid>
		<description>{cdata(comment.text)}</description>
		<content:encoded>{cdata(f"<p>{esc(comment.text)}</p>")}</content:encoded>
	</item>
""")
    return items


def comment_id(article: Article, index: int) -> int:
    """Stable comment ids, unique across a site."""
    return article.post_id * 10 + index + 1


def _terms(article: Article) -> list[str]:
    return [*article.categories, *article.tags]
