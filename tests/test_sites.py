"""The offline test sites behave like the WordPress sites they imitate.

Everything goes over real HTTP on 127.0.0.1 with urllib, feedparser and lxml, the way the
aggregator's own fetchers will see it.
"""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import feedparser
import lxml.html
import pytest
from lxml import etree

from tests.sites import BlogSite, NewsSite
from tests.sites.markup import iso

BOILERPLATE = (
    "Support Countercurrents",
    "Countercurrents is answerable only to our readers.",
    "Become a Patron at Patreon",
    "Join Our Newsletter",
    "WhatsApp",
    "Telegram",
    "Related Posts",
    "Annual Subscription",
    "Join Countercurrents Annual Fund Raising Campaign",
    "Latest News",
)
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_plain = urllib.request.build_opener(_NoRedirects)


def fetch(url: str, headers: dict[str, str] | None = None, follow: bool = True) -> Fetched:
    """GET ``url``; HTTP errors and (with ``follow=False``) redirects come back as values."""
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.urlopen if follow else _plain.open
    try:
        with opener(request, timeout=10) as response:
            return Fetched(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return Fetched(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def page(url: str) -> lxml.html.HtmlElement:
    fetched = fetch(url)
    assert fetched.status == 200, url
    return lxml.html.fromstring(fetched.body, base_url=url)


def words(text: str) -> str:
    return " ".join(text.split())


def crawl(start: str, next_link: str, entry_link: str) -> tuple[list[str], list[str]]:
    """Follow ``next_link`` from ``start``; return the pages seen and the entry links found."""
    pages, entries, url = [], [], start
    while url:
        tree = page(url)
        pages.append(url)
        entries += [urldefrag(urljoin(url, href))[0] for href in tree.xpath(entry_link)]
        following = tree.xpath(next_link)
        url = urljoin(url, following[0]) if following else ""
        assert len(pages) < 50, "pagination does not end"
    return pages, entries


# -- ground truth ------------------------------------------------------------------------------


def test_news_ground_truth_has_the_promised_shape(news_site: NewsSite) -> None:
    articles = news_site.articles
    assert len(articles) == 40
    assert sum(a.is_relevant for a in articles) == 12
    assert len({a.slug for a in articles}) == len({a.url for a in articles}) == 40
    assert all(a.published.tzinfo is not None and a.modified >= a.published for a in articles)
    assert all(" is " in a.author_bio and "reached" in a.author_bio for a in articles)
    assert all(300 <= a.word_count <= 1200 for a in articles if a.published.year != 2015)
    assert sum(bool(a.footnotes) for a in articles) >= 5
    assert sum(bool(a.comments) for a in articles) >= 5
    assert {a.categories[0] for a in articles} >= {"World", "India", "Environment", "Palestine"}
    kinds = {block.kind for a in articles for block in a.blocks}
    assert kinds == {"p", "h2", "quote", "li", "figure"}


def test_blog_ground_truth_has_the_promised_shape(blog_site: BlogSite) -> None:
    essays = blog_site.articles
    assert len(essays) == 12
    assert all(500 <= e.word_count <= 1500 and e.more_at > 0 for e in essays)
    assert [e.title for e in essays[:2]] == [
        "100 Years With and Without Kropotkin Conference",
        "Kropotkin’s History of Mutual Aid",
    ]


def test_extra_articles_are_deterministic_and_paginated(
    make_news_site: Callable[..., NewsSite], news_site: NewsSite
) -> None:
    first, second = make_news_site(extra_articles=60, seed=7), make_news_site(60, seed=7)
    assert len(first.articles) == 100
    assert [a.slug for a in first.articles] == [a.slug for a in second.articles]
    assert {a.slug for a in news_site.articles} <= {a.slug for a in first.articles}
    home_pages = [u for u in first.listing_urls if u.startswith(f"{first.base_url}/page/")]
    assert len(home_pages) == 9  # 100 articles, 10 a page: / and /page/2/ … /page/10/
    assert fetch(f"{first.base_url}/page/10/").status == 200
    assert fetch(f"{first.base_url}/page/11/").status == 404


# -- feeds -------------------------------------------------------------------------------------


def test_news_feed_carries_ten_latest_summaries_only(news_site: NewsSite) -> None:
    feed = feedparser.parse(fetch(news_site.feed_url).body)
    assert not feed.bozo, feed.get("bozo_exception")
    latest = news_site.articles[:10]
    assert [e.title for e in feed.entries] == [a.title for a in latest]
    for entry, article in zip(feed.entries, latest, strict=True):
        assert "content" not in entry
        assert (
            entry.link == f"{article.url}?utm_source=rss&utm_medium=rss&utm_campaign={article.slug}"
        )
        assert entry.id == f"{news_site.base_url}/?p={article.post_id}"
        assert entry.author == article.author
        assert words(article.summary) in words(lxml.html.fromstring(entry.summary).text_content())
        assert set(article.categories) <= {tag.term for tag in entry.tags}
    assert feed.feed.links[0].href.startswith(news_site.base_url)


def test_category_feed_lists_only_that_category(news_site: NewsSite) -> None:
    feed = feedparser.parse(fetch(news_site.category_feed_url("Activism")).body)
    expected = [a.title for a in news_site.articles if "Activism" in a.categories][:10]
    assert not feed.bozo
    assert [e.title for e in feed.entries] == expected


def test_blog_feed_carries_full_content(blog_site: BlogSite) -> None:
    feed = feedparser.parse(fetch(blog_site.feed_url).body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == 10
    for entry, essay in zip(feed.entries, blog_site.articles, strict=False):
        content = words(lxml.html.fromstring(entry.content[0].value).text_content())
        assert all(words(p) in content for p in essay.paragraphs), essay.slug
        assert entry.summary.endswith("[…]")
    comments = feedparser.parse(fetch(blog_site.comments_feed_url).body)
    assert not comments.bozo and comments.entries[0].title.startswith("Comment on ")


def test_feed_answers_conditional_get_with_304(news_site: NewsSite) -> None:
    first = fetch(news_site.feed_url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["content-type"] == "application/rss+xml; charset=UTF-8"
    assert fetch(news_site.feed_url, {"If-None-Match": etag}).status == 304
    assert fetch(news_site.feed_url, {"If-Modified-Since": modified}).status == 304
    assert fetch(news_site.feed_url, {"If-None-Match": '"stale"'}).status == 200
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert fetch(news_site.feed_url, {"If-Modified-Since": old}).status == 200


def test_publishing_changes_the_feed_and_its_validators(
    make_news_site: Callable[..., NewsSite],
) -> None:
    site = make_news_site()
    before = fetch(site.feed_url)
    article = site.add_article("Breaking: A New Mutual Aid Network", ["First words.", "More."])
    after = fetch(site.feed_url, {"If-None-Match": before.headers["etag"]})
    assert after.status == 200
    assert after.headers["last-modified"] != before.headers["last-modified"]
    stale = fetch(site.feed_url, {"If-Modified-Since": before.headers["last-modified"]})
    assert stale.status == 200
    assert feedparser.parse(after.body).entries[0].title == article.title
    assert site.articles[0] == article and len(site.articles) == 41

    edited = site.update_article(article.slug, paragraphs=["Rewritten text."])
    assert edited.modified > article.modified
    assert "Rewritten text." in fetch(edited.url).text
    assert fetch(site.feed_url, {"If-None-Match": after.headers["etag"]}).status == 200


def test_gzip_when_asked(news_site: NewsSite) -> None:
    plain = fetch(news_site.feed_url)
    zipped = fetch(news_site.feed_url, {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) == len(zipped.body) < len(plain.body)
    assert gzip.decompress(zipped.body) == plain.body


# -- listings ----------------------------------------------------------------------------------


def test_every_news_article_is_reachable_from_the_home_page(news_site: NewsSite) -> None:
    pages, links = crawl(
        f"{news_site.base_url}/",
        '//a[contains(@class, "next") and contains(@class, "page-numbers")]/@href',
        '//h3[contains(@class, "entry-title")]/a/@href',
    )
    assert pages == [
        u
        for u in news_site.listing_urls
        if "/category/" not in u and "/tag/" not in u and "/author/" not in u
    ]
    assert links == [a.url for a in news_site.articles]


def test_listing_entries_show_byline_date_and_excerpt(news_site: NewsSite) -> None:
    tree = page(f"{news_site.base_url}/category/palestine/")
    expected = [a for a in news_site.articles if "Palestine" in a.categories]
    modules = tree.xpath('//div[contains(@class, "td_module_10")]')
    assert len(modules) == len(expected)
    for module, article in zip(modules, expected, strict=True):
        assert module.xpath('.//span[@class="td-post-author-name"]/a/text()') == [article.author]
        assert module.xpath(".//time/@datetime") == [iso(article.published)]
        assert module.xpath('string(.//div[@class="td-excerpt"])').endswith("[…]")
        assert module.xpath('.//div[@class="td-read-more"]/a/text()') == ["Read More"]


def test_search_finds_the_kropotkin_articles(news_site: NewsSite) -> None:
    _, found = crawl(
        news_site.search_url("kropotkin"),
        '//a[contains(@class, "next")]/@href',
        '//h3[contains(@class, "entry-title")]/a/@href',
    )
    expected = [a.url for a in news_site.articles if "kropotkin" in f"{a.title} {a.text}".lower()]
    assert found == expected and len(expected) >= 5
    assert fetch(news_site.search_url("KROPOTKIN")).text.count("entry-title td-module-title") == (
        min(10, len(expected))
    )
    assert fetch(news_site.search_url("kropotkin", page=9)).status == 404


def test_blog_listings_end_in_continue_reading_links(blog_site: BlogSite) -> None:
    pages, links = crawl(
        f"{blog_site.base_url}/kropotkin-today/",
        '//div[@class="nav-previous"]/a/@href',
        '//a[@class="more-link"]/@href',
    )
    assert len(pages) == 3
    assert links == [e.url for e in blog_site.articles]
    tree = page(pages[0])
    for link, essay in zip(tree.xpath('//a[@class="more-link"]'), blog_site.articles, strict=False):
        assert link.text_content() == f"Continue reading “{essay.title}”"
    assert tree.xpath('//div[@class="nav-previous"]/a/text()') == ["Older posts"]


def test_every_listing_url_serves(news_site: NewsSite, blog_site: BlogSite) -> None:
    for url in [*news_site.listing_urls, *blog_site.listing_urls]:
        assert fetch(url).status == 200, url
    assert fetch(f"{news_site.base_url}/category/world/page/99/").status == 404


# -- article pages -----------------------------------------------------------------------------


def test_news_pages_hold_the_article_inside_all_the_boilerplate(news_site: NewsSite) -> None:
    with_json_ld = 0
    for article in news_site.articles:
        fetched = fetch(article.url)
        tree = lxml.html.fromstring(fetched.body)
        text = words(tree.text_content())
        assert [phrase for phrase in BOILERPLATE if phrase not in text] == [], article.url
        body = words(tree.xpath('string(//div[contains(@class, "td-post-content")])'))
        missing = [
            p
            for p in (*article.paragraphs, *article.footnotes, article.author_bio)
            if words(p) not in body
        ]
        assert missing == [], article.url
        assert f"postid-{article.post_id}" in tree.body.get("class")
        assert _meta(tree, "og:title") == article.title
        assert _meta(tree, "article:published_time") == iso(article.published)
        assert tree.xpath('//meta[@name="author"]/@content') == [article.author]
        assert tree.xpath('//link[@rel="canonical"]/@href') == [article.url]
        with_json_ld += b'"NewsArticle"' in fetched.body
        related = tree.xpath('//div[contains(@class, "td_block_related_posts")]//a/@title')
        assert 2 <= len(related) <= 3 and article.title not in related
    assert 0 < with_json_ld < len(news_site.articles)


def _meta(tree: lxml.html.HtmlElement, prop: str) -> str:
    values = tree.xpath(f'//meta[@property="{prop}"]/@content')
    assert len(values) == 1, prop
    return str(values[0])


def test_amp_copies_point_back_to_the_canonical_page(news_site: NewsSite) -> None:
    article = next(a for a in news_site.articles if a.footnotes)
    for url in (f"{article.url}amp/", f"{article.url}?amp=1"):
        tree = page(url)
        assert tree.xpath('//link[@rel="canonical"]/@href') == [article.url]
        assert tree.xpath("/html/@amp") == [""]
        text = words(tree.text_content())
        assert all(words(p) in text for p in article.paragraphs)


def test_blog_essay_pages(blog_site: BlogSite) -> None:
    for essay in blog_site.articles:
        tree = page(essay.url)
        content = words(tree.xpath('string(//div[@class="entry-content"])'))
        assert all(words(p) in content for p in (*essay.paragraphs, *essay.footnotes))
        assert tree.xpath("//h1/text()") == [essay.title]
        assert "Leave a Reply" in tree.text_content()
        footer = tree.xpath('//footer[@class="entry-footer"]//a/text()')
        assert footer == [*essay.categories, *essay.tags]


# -- crawling rules, redirects, errors ---------------------------------------------------------


def test_robots_disallows_private_pages_that_are_linked(news_site: NewsSite) -> None:
    robots = urllib.robotparser.RobotFileParser(news_site.robots_url)
    robots.read()
    assert not robots.can_fetch("mutualaid", news_site.private_url)
    assert not robots.can_fetch("mutualaid", f"{news_site.base_url}/wp-admin/")
    assert robots.can_fetch("mutualaid", news_site.articles[0].url)
    assert robots.site_maps() == [news_site.sitemap_url]
    assert news_site.private_url in page(f"{news_site.base_url}/").xpath("//a/@href")
    assert fetch(news_site.private_url).status == 200  # only robots.txt keeps a crawler out


def test_news_sitemap_lists_every_article(news_site: NewsSite) -> None:
    index = etree.fromstring(fetch(news_site.sitemap_url).body)
    children = index.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP_NS)
    assert f"{news_site.base_url}/post-sitemap.xml" in children
    listed: dict[str, str] = {}
    for child in children:
        urls = etree.fromstring(fetch(child).body).xpath("//sm:url", namespaces=SITEMAP_NS)
        for url in urls:
            loc = url.findtext("sm:loc", namespaces=SITEMAP_NS)
            listed[loc] = url.findtext("sm:lastmod", namespaces=SITEMAP_NS) or ""
    assert all(listed.get(a.url) == iso(a.modified) for a in news_site.articles)
    assert news_site.private_url not in listed


def test_blog_sitemap_lists_every_essay(blog_site: BlogSite) -> None:
    index = etree.fromstring(fetch(blog_site.sitemap_url).body)
    posts = f"{blog_site.base_url}/wp-sitemap-posts-post-1.xml"
    assert posts in index.xpath("//sm:loc/text()", namespaces=SITEMAP_NS)
    listed = etree.fromstring(fetch(posts).body).xpath("//sm:loc/text()", namespaces=SITEMAP_NS)
    assert listed == [e.url for e in blog_site.articles]


def test_redirects(news_site: NewsSite, blog_site: BlogSite) -> None:
    article = news_site.articles[5]
    cases = [
        (f"{news_site.base_url}/?p={article.post_id}", 301, article.url),
        (f"{news_site.base_url}/go/{article.slug}", 302, article.url),
        (article.url.rstrip("/"), 301, article.url),
        (f"{news_site.base_url}/page/1/", 301, f"{news_site.base_url}/"),
        (f"{news_site.base_url}/feed", 301, news_site.feed_url),
        (
            f"{blog_site.base_url}/?p={blog_site.articles[0].post_id}",
            301,
            blog_site.articles[0].url,
        ),
        *((old, 301, new) for old, new in news_site.old_urls.items()),
    ]
    for url, status, location in cases:
        answer = fetch(url, follow=False)
        assert (answer.status, answer.headers["location"]) == (status, location), url


def test_redirect_loop_trips_urllib(news_site: NewsSite) -> None:
    news_site.clear_log()
    with pytest.raises(urllib.error.HTTPError, match="infinite loop"):
        urllib.request.urlopen(f"{news_site.base_url}/loop/a", timeout=10)
    assert {"/loop/a", "/loop/b"} <= set(news_site.fetched_paths())


def test_error_statuses(news_site: NewsSite, blog_site: BlogSite) -> None:
    missing = fetch(f"{news_site.base_url}/no/such/page/")
    assert missing.status == 404 and "Ooops... Error 404" in missing.text
    assert "Latest News" in missing.text  # themed, like the real site
    assert fetch(f"{news_site.base_url}/page/99/").status == 404
    assert fetch(f"{news_site.base_url}/server-error/").status == 500
    assert fetch(f"{news_site.base_url}/wp-admin/").status == 403
    assert fetch(f"{blog_site.base_url}/2020/01/01/no-such-essay/").status == 404
    assert fetch(f"{blog_site.base_url}/kropotkin-today/page/4/").status == 404


def test_request_log_records_method_path_and_headers(blog_site: BlogSite) -> None:
    blog_site.clear_log()
    fetch(f"{blog_site.base_url}/?s=Mutual+Aid", {"User-Agent": "mutualaid-test/1.0"})
    [request] = blog_site.requests
    assert (request.method, request.path) == ("GET", "/?s=Mutual+Aid")
    assert request.headers["user-agent"] == "mutualaid-test/1.0"
