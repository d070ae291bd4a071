"""Extraction decisions on page shapes met on real sites: what is one article, what is a listing,
what is too short, and what a feed's content fragment or a site's rules may not lose.

Pages are built here from parts, so each test names the one thing it is about.
"""

from __future__ import annotations

import json

import pytest

from aggregator.errors import NotAnArticleError
from aggregator.extract import SiteRules, extract_article
from aggregator.extract.article import ExtractOptions

URL = "https://site.example/2026/05/the-essay/"
SENTENCE = (
    "Neighbours organised a community kitchen and a tool library, sharing what they had "
    "without waiting for permission from anyone at all. "
)
ESSAY = [f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p>" for n in range(8)]


def page(body: str, head: str = "", body_class: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>The essay</title>{head}</head>"
        f"<body class='{body_class}'>{body}</body></html>"
    )


def cards(count: int, words: int = 12, css: str = "card") -> str:
    teaser = " ".join(["Cooperative"] * words)
    items = "".join(
        f"<div class='{css} {css}-{n}'><h3><a href='/post-{n}/'>Post number {n} here</a></h3>"
        f"<p>{teaser}</p></div>"
        for n in range(count)
    )
    return f"<div class='grid'>{items}</div>"


def essay_page(extra: str = "", head: str = "", body_class: str = "") -> str:
    return page(
        f"<main><article><h1>The essay</h1>{''.join(ESSAY)}</article>{extra}</main>",
        head,
        body_class,
    )


def test_an_essay_with_a_grid_of_related_posts_is_an_article() -> None:
    result = extract_article(essay_page(extra=cards(20)), URL)
    assert "Paragraph 7 ends here." in result.text


def test_a_grid_of_teasers_without_running_text_is_a_listing() -> None:
    with pytest.raises(NotAnArticleError, match="teaser cards"):
        extract_article(page(f"<main>{cards(24)}</main>"), URL)


def test_a_page_that_declares_one_article_is_not_judged_by_its_cards() -> None:
    ld = json.dumps({"@context": "https://schema.org", "@type": "BlogPosting", "headline": "x"})
    head = f"<script type='application/ld+json'>{ld}</script>"
    body = f"<main><p>{SENTENCE * 3}</p>{cards(24)}</main>"
    result = extract_article(page(body, head), URL)
    assert SENTENCE.strip() in result.text


def test_wordpress_archives_and_cut_short_posts_are_listings() -> None:
    with pytest.raises(NotAnArticleError, match="body class 'archive'"):
        extract_article(essay_page(body_class="archive category"), URL)
    more = "".join(
        f"<article class='post-{n} post'><h2><a href='/p{n}/'>Post {n}</a></h2>{ESSAY[n]}"
        f"<p><a class='more-link' href='/p{n}/#more-{n}'>Continue reading</a></p></article>"
        for n in range(3)
    )
    with pytest.raises(NotAnArticleError, match="cut short"):
        extract_article(page(f"<main>{more}</main>"), URL)


def front_page_with_excerpts() -> str:
    """Four long excerpts under their titles: running prose, yet a front page of posts."""
    posts = "".join(
        f"<div class='entry'><h2><a href='/2026/0{n + 1}/post-{n}/'>Post number {n} here</a></h2>"
        f"{ESSAY[n]}</div>"
        for n in range(4)
    )
    return page(f"<main>{posts}</main>")


def test_a_site_front_page_with_teasers_is_a_listing() -> None:
    with pytest.raises(NotAnArticleError, match="front page, 4 teaser cards"):
        extract_article(front_page_with_excerpts(), "https://site.example/?utm_source=feed")
    # The same page deeper in the site (or a WordPress post at /?p=12) is not judged so.
    for url in (URL, "https://site.example/?p=12"):
        assert "ends here." in extract_article(front_page_with_excerpts(), url).text


def test_a_page_declaring_a_collection_is_a_listing_unless_it_declares_an_article() -> None:
    def head(kind: str) -> str:
        ld = json.dumps({"@context": "https://schema.org", "@type": kind, "name": "Economy"})
        return f"<script type='application/ld+json'>{ld}</script>"

    posts = front_page_with_excerpts().split("<main>")[1].split("</main>")[0]
    with pytest.raises(NotAnArticleError, match="declared a collectionpage"):
        extract_article(page(f"<main>{posts}</main>", head("CollectionPage")), URL)
    listicle = page(f"<main>{posts}</main>", head("CollectionPage") + head("NewsArticle"))
    assert "ends here." in extract_article(listicle, URL).text
    # A single essay on a front page (a one-page site) has no teaser cards: an article.
    assert "Paragraph 7 ends here." in extract_article(essay_page(), "https://site.example/").text


def test_a_comment_thread_is_not_a_grid_of_teasers() -> None:
    """Many alike, linked blocks, but long: comments under a short story."""
    comments = "".join(
        f"<div class='comment'><a href='/u/{n}'>reader{n}</a><p>{SENTENCE * 4}</p></div>"
        for n in range(30)
    )
    story = f"<article><h1>A story</h1><p>{SENTENCE * 3}</p></article>"
    result = extract_article(page(f"<main>{story}<section>{comments}</section></main>"), URL)
    assert SENTENCE.strip() in result.text


def test_a_tiny_page_is_too_short_not_a_listing() -> None:
    with pytest.raises(NotAnArticleError, match=r"too short \(2 words\)"):
        extract_article(page("<p>Hello there</p>"), URL)


def test_a_short_feed_fragment_is_its_own_article() -> None:
    """Trafilatura finds nothing in 45 words; the fragment a feed delivered is the article."""
    words = ("Mutual aid groups met on Sunday to plan the winter food runs and share tools. " * 3)[
        :-1
    ]
    fragment = f"<p>{words}</p><p>Everyone is welcome to the next meeting.</p>"
    wrapped = f"<html><body><article>{fragment}</article></body></html>"
    result = extract_article(wrapped, URL, fragment=True, options=ExtractOptions(min_words=40))
    assert result.text == f"{words}\nEveryone is welcome to the next meeting."
    with pytest.raises(NotAnArticleError, match="too short"):
        extract_article(wrapped, URL, fragment=True, options=ExtractOptions(min_words=60))


def test_a_feed_fragment_is_never_taken_for_a_listing() -> None:
    """A note written as a list has no paragraph of prose; from a feed, it is still one entry."""
    items = "".join(f"<li>Bring {thing} to the hall on Saturday morning please.</li>" for thing in
                    ("bread", "soup", "blankets", "tools", "books", "seeds", "coats"))  # fmt: skip
    wrapped = f"<html><body><article><ul>{items}</ul></article></body></html>"
    with pytest.raises(NotAnArticleError, match="listing"):
        extract_article(wrapped, URL)
    assert extract_article(wrapped, URL, fragment=True).text.count("Bring") == 7


def test_a_rule_that_keeps_too_little_falls_back_to_the_whole_page() -> None:
    """A container rule that matches the byline only (a theme changed) loses no article."""
    byline = "<div class='byline'>By Ann Author</div>"
    html = page(f"<main><article><h1>The essay</h1>{byline}{''.join(ESSAY)}</article></main>")
    result = extract_article(html, URL, rules=SiteRules.compile(container=".byline"))
    assert all(f"Paragraph {n} ends here." in result.text for n in range(8))


def test_the_second_pass_recovers_an_article_the_quick_pass_cuts_short() -> None:
    """Turning the second pass off must never give more text than leaving it on."""
    html = essay_page(extra=cards(6))
    full = extract_article(html, URL)
    quick = extract_article(html, URL, options=ExtractOptions(second_pass=False))
    assert full.word_count >= quick.word_count
