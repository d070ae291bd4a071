"""Boilerplate inside the article's container: boxes the page names as furniture
(``extract/furniture.py``) and short calls to action (``extract/calls.py``). Each page is built by
hand: the boilerplate sits beside an article paragraph, which must stay.
"""

from __future__ import annotations

import lxml.html
import pytest

from aggregator.extract import extract_article
from aggregator.extract.calls import is_call_to_action
from aggregator.extract.furniture import is_furniture_name, remove_furniture

URL = "https://site.example/2026/05/the-essay/"
SENTENCE = (
    "Neighbours organised a community kitchen and a tool library, sharing what they had "
    "without waiting for permission from anyone at all. "
)
NEXT_TO_IT = "The kitchen fed forty households every week through the whole winter."
ESSAY = "".join(f"<p>{SENTENCE * 3}Paragraph {n} ends here.</p>" for n in range(6))


def article(inside: str) -> str:
    """A WordPress-like post: ``inside`` sits in the article's container, after the essay."""
    return (
        "<html><head><title>The essay</title></head><body><main><article>"
        f"<h1>The essay</h1><div class='entry-content'>{ESSAY}<p>{NEXT_TO_IT}</p>{inside}</div>"
        "</article></main></body></html>"
    )


@pytest.mark.parametrize(
    ("box", "boilerplate"),
    [
        (
            "<div class='affiliate-disclaimer'><p>We may earn a commission when you buy "
            "through the links on this page, at no cost to you.</p></div>",
            "earn a commission",
        ),
        (
            "<section class='postCta'><h3>Plan your next project with our team</h3>"
            "<p>Our planners answer within a day and quote for free.</p></section>",
            "Plan your next project",
        ),
        (
            "<div role='complementary'><p>Readers also enjoyed our guide to seed swaps in the "
            "depths of winter.</p></div>",
            "seed swaps",
        ),
        (
            "<div id='promo_box'><p>Spring bundle: three workshop passes for the price of "
            "two, this month only.</p></div>",
            "Spring bundle",
        ),
        (
            "<div class='restricted-content'><h2>This story is for members</h2>"
            "<p>Members read every story in full and support the newsroom.</p></div>",
            "for members",
        ),
    ],
)
def test_a_box_named_as_furniture_goes_and_the_paragraph_beside_it_stays(
    box: str, boilerplate: str
) -> None:
    result = extract_article(article(box), URL)
    assert NEXT_TO_IT in result.text
    assert "Paragraph 5 ends here." in result.text
    assert boilerplate not in result.text


def test_a_furniture_name_around_the_whole_post_removes_nothing() -> None:
    html = article("").replace("<article>", "<article><div class='share-wrapper'>", 1)
    html = html.replace("</article>", "</div></article>", 1)
    result = extract_article(html, URL)
    assert NEXT_TO_IT in result.text
    assert "Paragraph 0 ends here." in result.text


def test_inline_elements_named_like_furniture_stay_in_their_sentence() -> None:
    text = "The rota had a <a class='popup-link' href='/glossary'>glossary</a> for newcomers."
    result = extract_article(article(f"<p>{text}</p>"), URL)
    assert "The rota had a glossary for newcomers." in result.text


def test_the_page_itself_is_left_whole_for_metadata() -> None:
    tree = lxml.html.document_fromstring(article("<div class='disclaimer'><p>x y z</p></div>"))
    copy = lxml.html.document_fromstring(lxml.html.tostring(tree))
    assert remove_furniture(copy) == 1
    assert tree.xpath("//div[@class='disclaimer']")
    assert not copy.xpath("//div[@class='disclaimer']")


@pytest.mark.parametrize(
    ("attributes", "furniture"),
    [
        ({"class": "related-posts"}, True),
        ({"id": "relatedPosts"}, True),
        ({"class": "sidebar_ad"}, True),
        ({"class": "box", "role": "contentinfo"}, True),
        ({"class": "Newsletter-Signup"}, True),
        ({"class": "shared-content"}, False),  # "shared" is not "share"
        ({"class": "loaded header"}, False),
        ({"class": "entry-content"}, False),
        ({"role": "main"}, False),
    ],
)
def test_furniture_names(attributes: dict[str, str], furniture: bool) -> None:
    element = lxml.html.Element("div", attributes)
    assert is_furniture_name(element) is furniture


@pytest.mark.parametrize(
    "text",
    [
        "11 min read",
        "6 minute read",
        "Written by Ana Ruiz",
        "Published June 23, 2025 10:39AM",
        "Published on: 14 February 2025",
        "Page 1 of 8",
        "Related: How the tool library started",
        "Next article: The winter kitchen",
        "Get in touch with our team",
        "Contact us today",
        "Get a free quote today.",
        "Subscribe to get access",
        "AdvertisementAdvertisement",
        "Advertisement: our new course",
        "Want more stories like this? Sign up for our newsletter, The Weekly, and never miss one.",
    ],
)
def test_more_calls_to_action(text: str) -> None:
    assert is_call_to_action(text)


@pytest.mark.parametrize(
    "text",
    [
        "Get started",  # heads the first step of a how-to
        "Published in 1998 by the collective",
        "Written by hand, these notes went round the estate.",
        "Related to this, the tenants met again on Sunday.",
        "Next week the kitchen opens at noon.",
        "We signed up forty households for the newsletter the tenants' union posts door to "
        "door every month, and that list became the phone tree when the evictions began.",
    ],
)
def test_prose_that_reads_like_the_new_calls_is_kept(text: str) -> None:
    assert not is_call_to_action(text)


def test_calls_to_action_beside_a_paragraph_are_dropped() -> None:
    calls = "<p>11 min read</p><p>Related: How the tool library started</p>"
    result = extract_article(article(calls), URL)
    assert NEXT_TO_IT in result.text
    assert "min read" not in result.text
    assert "Related:" not in result.text


COMMENTS = "".join(
    f"<li class='comment'><p>Comment {n}: our own co-op tried something similar last winter "
    "and it worked for the whole street, thank you for writing it up so clearly.</p></li>"
    for n in range(40)
)


@pytest.mark.parametrize(
    "post_class",
    [
        # WordPress's post_class(): the post's own categories and tags, whatever they are called
        "post-12 post type-post status-publish category-social-justice tag-sharing-economy",
        # a box holding the article's body, whatever its own name
        "post-share-wrap",
    ],
)
def test_a_post_whose_classes_name_its_subjects_is_not_furniture(post_class: str) -> None:
    """A short post under a long comment thread holds under a fifth of the page's words; its
    container's classes name its subjects (social justice, the sharing economy), not a box."""
    body = "<div class='entry-content'>" if post_class == "post-share-wrap" else "<div>"
    page = (
        "<html><head><title>The essay</title></head><body><div id='content'>"
        f"<div id='post-12' class='{post_class}'><h2>The essay</h2>{body}"
        f"<p>{SENTENCE * 2}</p><p>{NEXT_TO_IT}</p></div></div>"
        f"<div id='comments'><ol class='commentlist'>{COMMENTS}</ol></div>"
        "</div></body></html>"
    )
    assert NEXT_TO_IT in extract_article(page, url=URL).text


def test_a_box_named_by_the_post_s_terms_alone_is_not_furniture() -> None:
    page = lxml.html.fromstring("<div class='category-social tag-related'><p>x</p></div>")
    assert not is_furniture_name(page)
    assert is_furniture_name(lxml.html.fromstring("<div class='category-news share-bar'></div>"))


@pytest.mark.parametrize(
    "sentence",
    [
        "Anyone can join the neighbourhood mailing list and ask for help when the rent is due.",
        "Written by Kropotkin in 1902.",
        "Published 1902, revised 1914.",
        "Related: the tenants' strike of 1915 ended the same way.",
    ],
)
def test_an_article_s_own_short_sentences_are_no_calls_to_action(sentence: str) -> None:
    assert not is_call_to_action(sentence)
    assert sentence in extract_article(article(f"<p>{sentence}</p>"), url=URL).text


@pytest.mark.parametrize(
    "line",
    ["Written by Jane Doe", "Published on 12 May 2026", "Published: 2026-05-01 at 10:30"],
)
def test_a_byline_or_date_alone_is_a_call_to_action(line: str) -> None:
    assert is_call_to_action(line)


def test_a_long_token_after_a_date_is_read_at_once() -> None:
    """No pattern backtracks over a long run of one token (it took seconds per block)."""
    assert not is_call_to_action("Published 1 " + "x" * 300 + " y y y y")


@pytest.mark.parametrize(
    "post_class",
    ["post type-post hentry series-social-movements", "node node--type-article issue-sharing"],
)
def test_a_post_in_a_custom_taxonomy_keeps_its_running_text(post_class: str) -> None:
    """Custom taxonomies make class names too (``series-social-movements``): whatever the
    container is called, the element holding the page's longest run of paragraphs stays."""
    page = (
        "<html><head><title>The essay</title></head><body><div id='content'>"
        f"<div class='{post_class}'><h2>The essay</h2><div class='article-text'>"
        f"<p>{SENTENCE * 2}</p><p>{NEXT_TO_IT}</p></div></div>"
        f"<div id='comments'><ol class='commentlist'>{COMMENTS}</ol></div>"
        "</div></body></html>"
    )
    assert NEXT_TO_IT in extract_article(page, url=URL).text


@pytest.mark.parametrize(
    "box",
    [
        "<div class='footnotes-modal'><ol><li id='fn1'>Kropotkin, Mutual Aid, 1902, chapter 7."
        "</li></ol></div>",
        "<div class='modal-notes' role='doc-endnotes'><p>1. Kropotkin, Mutual Aid, 1902.</p></div>",
    ],
)
def test_footnotes_stay_whatever_their_box_is_called(box: str) -> None:
    first_words = lxml.html.fromstring(box).text_content().split()[:4]
    assert " ".join(first_words) in extract_article(article(box), url=URL).text
