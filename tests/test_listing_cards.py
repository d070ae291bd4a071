"""Listings built in ways the earlier checks missed, each beside the article it must not be taken
for: cards that are one link, teasers closed by "continue reading" with an unlinked title, title
links carrying a fragment, cards whose title is no link, a shop's grid of priced products, and a
page declaring one article whose running text is all teasers. Pages are built from parts, as in
``test_listing_teasers.py``.
"""

from __future__ import annotations

import pytest

from aggregator.errors import NotAnArticleError
from aggregator.extract import extract_article

URL = "https://site.example/news/"
ARTICLE_URL = "https://site.example/2026/05/the-essay/"
SENTENCE = (
    "Neighbours organised a community kitchen and a tool library, sharing what they had "
    "without waiting for permission from anyone at all. "
)
TEASER_SENTENCE = (
    "Volunteers repaired bicycles in the church hall every Thursday evening and lent them to "
    "anyone who needed a way to work. "
)
ESSAY = "".join(f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p>" for n in range(8))
PUBLISHED = "<meta property='article:published_time' content='2026-05-01T10:00:00Z'>"


def page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>News</title>{head}</head>"
        f"<body>{body}</body></html>"
    )


def excerpt(n: int) -> str:
    return f"<p>{TEASER_SENTENCE * 2}Excerpt {n} ends here.</p>"


def essay_with(extra: str, head: str = "") -> str:
    return page(f"<main><article><h1>The essay</h1>{ESSAY}</article>{extra}</main>", head)


def linked_cards(count: int, fragment: str = "") -> str:
    """Cards that are one link each: heading and excerpt inside the anchor."""
    return "".join(
        f"<div class='story'><a href='/story/post-{n}/{fragment}'><h2>Post number {n} here</h2>"
        f"{excerpt(n)}</a></div>"
        for n in range(count)
    )


def test_cards_that_are_one_link_each_are_teasers() -> None:
    html = page(f"<main><h1>Topic</h1><div class='river'>{linked_cards(6)}</div></main>")
    with pytest.raises(NotAnArticleError, match="6 teasers hold"):
        extract_article(html, URL)


def test_an_essay_with_related_posts_as_linked_cards_stays_an_article() -> None:
    html = essay_with(f"<div class='related'>{linked_cards(6)}</div>")
    result = extract_article(html, ARTICLE_URL)
    assert "Paragraph 7 ends here." in result.text


def read_more_teasers(count: int) -> str:
    """A title that is no link, an excerpt, and a "Read more" link to the post."""
    return "".join(
        f"<div class='col'><div class='box'><h4>Programme {n} here</h4>{excerpt(n)}"
        f"<p><a class='button' href='/programmes/p-{n}/'>Read More</a></p></div></div>"
        for n in range(count)
    )


def test_teasers_closed_by_read_more_links_hold_the_running_text_of_a_listing() -> None:
    """An introduction of the page's own, a quarter of the teasers' words at most."""
    intro = f"<p>{SENTENCE * 2}Our programmes are listed below.</p>"
    teasers = f"<div class='row'>{read_more_teasers(6)}</div>"
    html = page(f"<main><h1>Programmes</h1>{intro}{teasers}</main>")
    with pytest.raises(NotAnArticleError, match="6 teasers hold"):
        extract_article(html, URL)


def test_an_essay_pointing_to_other_posts_with_read_more_links_stays_an_article() -> None:
    """News sites write "Read more: <title>" inside their stories: no teasers of their own."""
    paragraphs = "".join(
        f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p>"
        f"<p><a href='/2026/04/other-{n}/'>Read more: the other story number {n}</a></p>"
        for n in range(8)
    )
    html = page(f"<main><article><h1>The essay</h1>{paragraphs}</article></main>")
    assert "Paragraph 7 ends here." in extract_article(html, ARTICLE_URL).text


def test_title_links_with_a_fragment_still_name_another_page() -> None:
    """Some CMSs end every teaser's link with ``#``: the page linked is another all the same."""
    items = "".join(
        f"<li class='teaser'><span class='ago'>{n + 1} days ago</span>"
        f"<a href='/news/story-{n}/#'>Story number {n} here</a>{excerpt(n)}</li>"
        for n in range(8)
    )
    html = page(f"<main><h1>Topic</h1><ul class='teasers'>{items}</ul></main>")
    with pytest.raises(NotAnArticleError, match="in 8 teaser cards"):
        extract_article(html, URL)


def test_comments_linking_to_themselves_on_the_page_are_no_teaser_cards() -> None:
    """Comments' permalinks carry the page's own address: one target, no cards (sixteen cards
    holding three times the running text would make a listing)."""
    comments = "".join(
        f"<li class='comment'><a href='{ARTICLE_URL}#comment-{n}'>December {n + 1}, 2026</a>"
        f"<p>{TEASER_SENTENCE}Thank you all</p></li>"
        for n in range(16)
    )
    essay = "".join(f"<p>{SENTENCE * 2}Paragraph {n} ends here.</p>" for n in range(3))
    html = page(
        f"<main><article><h1>The essay</h1>{essay}</article>"
        f"<ol class='comments'>{comments}</ol></main>"
    )
    assert "Paragraph 2 ends here." in extract_article(html, ARTICLE_URL).text


def podcast_cards(count: int) -> str:
    """Cards titled by an unlinked heading, linked by their picture and a one-word button."""
    return "".join(
        f"<div class='col'><div class='card'><a href='/shows/show-{n}/'><img src='/s{n}.jpg' "
        f"alt=''></a><h5>Show number {n}</h5><a href='/shows/show-{n}/'>Show</a>"
        f"{excerpt(n)}</div></div>"
        for n in range(count)
    )


def test_cards_titled_by_a_heading_and_linked_by_a_picture_are_teaser_cards() -> None:
    html = page(f"<main><h3>Technology</h3><div class='row'>{podcast_cards(8)}</div></main>")
    with pytest.raises(NotAnArticleError, match="in 8 teaser cards"):
        extract_article(html, "https://site.example/categories/technology")


@pytest.mark.parametrize("caption", ["<figcaption>{}</figcaption>", "<h4>Photo</h4><p>{}</p>"])
def test_an_essay_with_a_gallery_of_linked_pictures_stays_an_article(caption: str) -> None:
    """Pictures linking to their full size lead to no page, headed or not: no cards."""
    figures = "".join(
        f"<figure class='photo'><a href='/uploads/photo-{n}.jpg'><img src='/uploads/t{n}.jpg' "
        f"alt=''></a>{caption.format(TEASER_SENTENCE)}</figure>"
        for n in range(12)
    )
    html = page(
        f"<main><article><h1>The essay</h1><p>{SENTENCE * 3}The intro ends here.</p>"
        f"<p>Here are pictures of the work:</p><div class='gallery'>{figures}</div>"
        f"<p>{SENTENCE * 3}The essay ends here.</p></article></main>"
    )
    assert "The essay ends here." in extract_article(html, "https://site.example/").text


def products(count: int) -> str:
    return "".join(
        f"<div class='product'><a href='/shop/item-{n}/'><img src='/img/w{n}.jpg' alt=''>"
        f"Leather wallet model {n}</a>"
        f"<span class='price'>$ {20 + n}.00</span><span>4.8 stars (120)</span></div>"
        for n in range(count)
    )


def test_a_grid_of_priced_products_is_a_listing() -> None:
    intro = f"<p>{SENTENCE * 2}Our wallets are made here.</p>"
    faq = f"<h2>Questions</h2><p>{SENTENCE * 3}The answer ends here.</p>"
    html = page(f"<main><h1>Wallets</h1>{intro}<div class='grid'>{products(10)}</div>{faq}</main>")
    with pytest.raises(NotAnArticleError, match="10 products with prices"):
        extract_article(html, "https://shop.example/wallets")


def test_a_buying_guide_with_priced_product_boxes_stays_an_article() -> None:
    boxes = f"<div class='picks'>{products(10)}</div>"
    html = essay_with(boxes)
    assert "Paragraph 7 ends here." in extract_article(html, ARTICLE_URL).text


def headed_teasers(count: int) -> str:
    return "".join(
        f"<div class='entry'><h2><a href='/2026/04/post-{n}/'>Post number {n} here</a></h2>"
        f"{excerpt(n)}</div>"
        for n in range(count)
    )


def test_a_page_declaring_one_article_whose_text_is_all_teasers_is_a_listing() -> None:
    """Some CMSs stamp a publication time on topic pages too."""
    html = page(f"<main><h1>Topic</h1>{headed_teasers(6)}</main>", PUBLISHED)
    with pytest.raises(NotAnArticleError, match="6 teasers hold"):
        extract_article(html, URL)


def test_a_declared_article_with_related_teasers_and_their_excerpts_stays_an_article() -> None:
    """The article's own prose beside the teasers' excerpts keeps its declaration standing."""
    html = essay_with(f"<div class='more'>{headed_teasers(6)}</div>", PUBLISHED)
    result = extract_article(html, ARTICLE_URL)
    assert "Paragraph 7 ends here." in result.text
    assert "Excerpt 5 ends here." in result.text  # the excerpts were there to be weighed


def _entry(body: str, head: str = "") -> str:
    """A post whose body is ``body`` alone, in WordPress's container."""
    return page(
        "<main><article><h1>The guide</h1>"
        f"<div class='entry-content'>{body}</div></article></main>",
        head,
    )


TOPICS = ("tenant unions", "food cooperatives", "bail funds", "community fridges", "skill shares")


def test_inline_read_more_links_in_a_declared_guide_make_no_teasers() -> None:
    """A "Read more about bail funds" link ends a paragraph of the guide's own prose; only a link
    that is nothing but "continue reading" closes a teaser. (Undeclared, every paragraph of this
    page is a card linking to another page, and that rule refuses it.)"""
    body = f"<p>{SENTENCE}</p>" + "".join(
        f"<p>{SENTENCE * 2}<a href='/guides/{topic.replace(' ', '-')}/'>Read more about {topic}</a>"
        ".</p>"
        for topic in TOPICS
    )
    text = extract_article(_entry(body, PUBLISHED), ARTICLE_URL).text
    assert "Read more about bail funds" in text


def test_a_roundup_s_read_more_links_to_other_sites_are_its_sources() -> None:
    items = "".join(
        f"<li><p>{TEASER_SENTENCE * 2}<a href='https://other{n}.example/story'>Read more</a>"
        "</p></li>"
        for n in range(8)
    )
    text = extract_article(_entry(f"<p>{SENTENCE * 3}</p><ul>{items}</ul>"), ARTICLE_URL).text
    assert "repaired bicycles" in text


def test_a_post_s_price_list_without_pictures_is_no_shop_grid() -> None:
    loaves = "".join(
        f"<li><a href='/shop/loaf-{n}'>Sourdough loaf {n}</a> £3.{n}0</li>" for n in range(10)
    )
    text = extract_article(_entry(f"<p>{SENTENCE * 2}</p><ul>{loaves}</ul>"), ARTICLE_URL).text
    assert "community kitchen" in text


@pytest.mark.parametrize("scheme", ["mailto:group{n}@example.org", "tel:+44100{n}"])
def test_headed_cards_linking_by_mail_or_phone_lead_to_no_page(scheme: str) -> None:
    """A directory of groups, each a heading and a line with its e-mail or phone link."""
    groups = "".join(
        f"<div class='wp-block-group'><h3>Group {n} food bank</h3><p>{SENTENCE}"
        f"<a href='{scheme.format(n=n)}'>Contact</a></p></div>"
        for n in range(10)
    )
    text = extract_article(_entry(f"<p>{SENTENCE * 2}</p>" * 2 + groups), ARTICLE_URL).text
    assert "Group 9 food bank" in text
