"""Listings whose teasers carry real excerpts (running prose), and the articles that must not be
taken for them: headed teasers holding the running text, teaser cards holding all of it, archive
addresses, front pages whose JSON-LD names the teasers; and the short calls to action dropped from
articles. Pages are built from parts, as in ``test_extract_shapes.py``.
"""

from __future__ import annotations

import json

import pytest

from aggregator.errors import NotAnArticleError
from aggregator.extract import extract_article
from aggregator.extract.calls import is_call_to_action
from aggregator.extract.listing import archive_segment

URL = "https://site.example/news/"
ARTICLE_URL = "https://site.example/2026/05/the-essay/"
SENTENCE = (
    "Neighbours organised a community kitchen and a tool library, sharing what they had "
    "without waiting for permission from anyone at all. "
)
# Teasers excerpt other posts: their words are not the essay's.
TEASER_SENTENCE = (
    "Volunteers repaired bicycles in the church hall every Thursday evening and lent them to "
    "anyone who needed a way to work. "
)
ESSAY = "".join(f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p>" for n in range(8))


def page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>News</title>{head}</head>"
        f"<body>{body}</body></html>"
    )


def excerpt(n: int) -> str:
    return f"<p>{TEASER_SENTENCE * 2}Excerpt {n} ends here.</p>"


def headed_teasers(count: int, first: int = 0) -> str:
    """Posts under a linked heading each, with a two-sentence excerpt: running prose."""
    return "".join(
        f"<div class='entry'><h2><a href='/2026/04/post-{n}/'>Post number {n} here</a></h2>"
        f"<span class='date'>April {n + 1}, 2026</span>{excerpt(n)}</div>"
        for n in range(first, first + count)
    )


def test_a_page_whose_prose_is_the_excerpts_of_headed_teasers_is_a_listing() -> None:
    html = page(f"<main><h1>News</h1>{headed_teasers(6)}</main>")
    with pytest.raises(NotAnArticleError, match="6 teasers hold"):
        extract_article(html, URL)


def test_an_essay_with_related_posts_and_their_excerpts_stays_an_article() -> None:
    """The excerpts are kept with the essay (half as many words), the essay's own prose wins."""
    related = f"<div class='more'>{headed_teasers(6)}</div>"
    html = page(f"<main><article><h1>The essay</h1>{ESSAY}</article>{related}</main>")
    result = extract_article(html, ARTICLE_URL)
    assert "Paragraph 7 ends here." in result.text
    assert "Excerpt 5 ends here." in result.text  # the excerpts were there to be weighed


def test_a_page_linking_its_own_title_is_not_a_teaser_of_itself() -> None:
    """A heading that links to the page itself is the article's title, not a teaser."""
    own = f"<h1><a href='{ARTICLE_URL}'>The essay itself</a></h1>"
    html = page(f"<main><article>{own}{ESSAY}</article>{headed_teasers(3)}</main>")
    assert "Paragraph 0 ends here." in extract_article(html, ARTICLE_URL).text


def test_a_title_linking_to_the_canonical_address_is_not_a_teaser() -> None:
    """A short post fetched at a dated address whose title links to its permalink (the
    canonical one), with related posts below: still one article."""
    permalink = "https://blog.example/coat-drive/"
    head = f"<link rel='canonical' href='{permalink}'>"
    post = (
        f"<article><h1><a href='{permalink}'>The coat drive this winter</a></h1>"
        f"<p>{SENTENCE * 4}The drive ends here.</p></article>"
    )
    html = page(f"<main>{post}{headed_teasers(5)}</main>", head)
    result = extract_article(html, "https://blog.example/2024/05/coat-drive")
    assert "The drive ends here." in result.text


def test_a_broken_heading_link_is_no_teaser_and_no_error() -> None:
    broken = "<h2><a href='http://[bad/x'>Another post here</a></h2>"
    html = page(f"<main><article><h1>The essay</h1>{ESSAY}{broken}</article></main>")
    assert "Paragraph 7 ends here." in extract_article(html, ARTICLE_URL).text


def test_a_page_whose_prose_is_all_in_teaser_cards_is_a_listing() -> None:
    """No headings: a list of linked cards, each with a description that reads as prose."""
    items = "".join(
        f"<li class='item'><a href='/courses/course-{n}/'>Course number {n} here</a>"
        f"{excerpt(n)}</li>"
        for n in range(6)
    )
    html = page(f"<main><h1>Courses</h1><ul class='catalogue'>{items}</ul></main>")
    with pytest.raises(NotAnArticleError, match="running text are in 6 teaser cards"):
        extract_article(html, "https://site.example/courses/")
    # One paragraph of the page's own is enough to keep it: it may be an article with a list.
    own = f"<p>{SENTENCE * 2}Our own words end here.</p>"
    html = page(f"<main><h1>Courses</h1>{own}<ul class='catalogue'>{items}</ul></main>")
    assert "Our own words end here." in extract_article(html, "https://site.example/courses/").text


@pytest.mark.parametrize(
    ("url", "segment"),
    [
        ("https://site.example/category/housing/", "category"),
        ("https://site.example/blog/tag/food", "tag"),
        ("https://site.example/author/ann/", "author"),
        ("https://site.example/blog/page/3/", "page"),
        ("https://site.example/page/about-us/", None),  # a CMS that keeps every page under /page/
        ("https://site.example/category/housing/rent-strike-wins/", None),  # a post in a category
        ("https://site.example/tag/", None),
    ],
)
def test_archive_addresses(url: str, segment: str | None) -> None:
    assert archive_segment(url) == segment


def test_an_archive_address_with_teaser_cards_is_a_listing() -> None:
    posts = "".join(
        f"<div class='entry'><h2><a href='/2026/0{n + 1}/post-{n}/'>Post number {n} here</a></h2>"
        f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p></div>"
        for n in range(3)
    )
    html = page(f"<main>{posts}</main>")
    with pytest.raises(NotAnArticleError, match="archive address"):
        extract_article(html, "https://site.example/category/housing/")
    assert "Paragraph 0 ends here." in extract_article(html, ARTICLE_URL).text


def blog_posting() -> str:
    ld = json.dumps({"@context": "https://schema.org", "@type": "BlogPosting", "headline": "x"})
    return f"<script type='application/ld+json'>{ld}</script>"


def test_a_front_page_naming_its_teasers_in_json_ld_is_still_a_listing() -> None:
    posts = "".join(
        f"<div class='entry'><h2><a href='/2026/0{n + 1}/post-{n}/'>Post number {n} here</a></h2>"
        f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p></div>"
        for n in range(4)
    )
    html = page(f"<main>{posts}</main>", blog_posting())
    with pytest.raises(NotAnArticleError, match="front page"):
        extract_article(html, "https://site.example/")
    # Deeper in the site, the same declaration makes it one article.
    assert "Paragraph 0 ends here." in extract_article(html, ARTICLE_URL).text
    # At the root, a publication time still declares one article (a one-post site).
    published = "<meta property='article:published_time' content='2026-05-01T10:00:00Z'>"
    html = page(f"<main>{posts}</main>", blog_posting() + published)
    assert "Paragraph 0 ends here." in extract_article(html, "https://site.example/").text


@pytest.mark.parametrize(
    "text",
    [
        "Sign up for our newsletter",
        "Subscribe to get the latest posts sent to your email.",
        "Share this post",
        "ADVERTISEMENT",
        "Related Articles:",
        "You might also like:",
        "Get the best of the site delivered to your inbox weekly",
        "Privacy Policy",
        "Follow us on Mastodon",
        "Share on WhatsApp",
        "Subscribe",
    ],
)
def test_calls_to_action(text: str) -> None:
    assert is_call_to_action(text)


@pytest.mark.parametrize(
    "text",
    [
        "Subscribers kept joining the food co-op all winter, and by March the shelves were full.",
        "Share the tools you have with the people who need them.",  # advice, not a button
        "Privacy policy changes at the city council worried the tenants' union.",
        "The newsletter of the tenants' union reached four thousand homes this year, carried "
        "door to door by volunteers.",
        # Short sentences of mutual-aid writing that open like a site's buttons.
        "Sign up to deliver groceries to isolated neighbours on Saturdays.",
        "Subscribe to the rent strike: 40 households have joined so far.",
        "Follow us to the town hall at noon, where the vote happens.",
        "Share on the rota was split between six families.",
    ],
)
def test_prose_that_starts_like_a_call_to_action_is_kept(text: str) -> None:
    assert not is_call_to_action(text)


def test_calls_to_action_are_dropped_from_an_article() -> None:
    calls = "<p>Sign up for our newsletter</p><p>Advertisement</p>"
    html = page(f"<main><article><h1>The essay</h1>{calls}{ESSAY}{calls}</article></main>")
    result = extract_article(html, ARTICLE_URL)
    assert "Paragraph 7 ends here." in result.text
    assert "newsletter" not in result.text
    assert "Advertisement" not in result.text
    assert "Sign up" not in result.html
