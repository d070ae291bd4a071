"""Extraction on the local test sites: the article stays, the banners go, listings are refused."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html

from aggregator.config import load_config
from aggregator.dates import normalize_date
from aggregator.errors import ConfigError, NotAnArticleError
from aggregator.extract import SiteRules, extract_article
from aggregator.extract.article import block_fingerprint, stored_blocks, strip_blocks

REPO = Path(__file__).resolve().parent.parent
BANNERS = (
    "Support Countercurrents",
    "Become a Patron at Patreon",
    "Join Our Newsletter",
    "WhatsApp",
    "Telegram",
    "Related Posts",
    "Annual Subscription",
    "Latest News",
)
NOW = datetime(2026, 11, 30, tzinfo=UTC)
SEED_SLUG = "reconciling-mutual-aid-with-revolutionary-violence-the-case-of-peter-kropotkin"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def countercurrents_rules() -> SiteRules:
    return load_config(REPO / "config.yaml", environ={}).sources["countercurrents"].rules.compile()


def squash(text: str) -> str:
    return " ".join(text.split())


def test_seed_essay_keeps_body_bio_and_footnotes_and_drops_every_banner(news_site) -> None:
    article = news_site.article(SEED_SLUG)
    result = extract_article(fetch(article.url), article.url, rules=countercurrents_rules())
    text = squash(result.text)
    for paragraph in article.paragraphs:
        assert squash(paragraph) in text
    assert article.author_bio and squash(article.author_bio) in text
    for note in article.footnotes:
        assert squash(note) in text
    for banner in BANNERS:
        assert banner not in result.text, banner
    assert result.title == article.title
    assert result.author == article.author
    published, estimated = normalize_date(result.date, now=NOW, first_seen=NOW)
    assert (published, estimated) == (article.published, False)
    assert result.language == "en"
    assert {"kropotkin", "mutual aid"} <= {tag.casefold() for tag in result.tags}


@pytest.mark.parametrize("slug_index", range(0, 40, 3))
def test_every_news_article_is_clean_with_the_configured_rules(news_site, slug_index) -> None:
    article = news_site.articles[slug_index]
    result = extract_article(fetch(article.url), article.url, rules=countercurrents_rules())
    text = squash(result.text)
    assert all(squash(paragraph) in text for paragraph in article.paragraphs)
    assert not [banner for banner in BANNERS if banner in result.text]


def test_without_rules_the_banner_leaks_which_is_why_rules_exist(news_site) -> None:
    article = news_site.article(SEED_SLUG)
    result = extract_article(fetch(article.url), article.url)
    assert [banner for banner in BANNERS if banner in result.text]


def test_blog_essays_lose_sidebar_and_navigation(blog_site) -> None:
    for article in blog_site.articles:
        result = extract_article(fetch(article.url), article.url)
        text = squash(result.text)
        assert all(squash(paragraph) in text for paragraph in article.paragraphs), article.slug
        assert "Call out for submissions" not in result.text
        assert "Leave a Reply" not in result.text
        assert result.title == article.title


def test_listing_pages_are_never_articles(news_site, blog_site) -> None:
    for url in [*news_site.listing_urls, *blog_site.listing_urls]:
        with pytest.raises(NotAnArticleError, match="listing"):
            extract_article(fetch(url), url)


def test_search_results_are_a_listing(news_site) -> None:
    url = news_site.search_url("kropotkin")
    with pytest.raises(NotAnArticleError):
        extract_article(fetch(url), url)


def test_html_output_keeps_structure_with_absolute_links_and_nothing_unsafe(news_site) -> None:
    article = news_site.article(SEED_SLUG)
    result = extract_article(fetch(article.url), article.url, rules=countercurrents_rules())
    tree = lxml_html.fragment_fromstring(result.html, create_parent="div")
    assert tree.findall(".//p") and tree.findall(".//blockquote")
    for element in tree.iterdescendants():
        assert element.tag not in {"script", "style", "iframe", "form", "div"}
        assert not any(name.startswith("on") for name in element.attrib)
    for link in tree.iter("a"):
        if link.get("href"):
            assert link.get("href", "").startswith(("http://", "https://", "mailto:"))
            assert link.get("rel") == "noopener noreferrer"


def test_structure_survives_in_html(news_site) -> None:
    """Articles with headings, lists, quotes and captioned images keep them."""
    kinds = {"h2": "h2", "ul": "ul", "quote": "blockquote", "img": "img"}
    found: set[str] = set()
    for article in news_site.articles:
        block_kinds = {block.kind for block in article.blocks}
        wanted = {kind for kind in kinds if kind in block_kinds} - found
        if not wanted:
            continue
        result = extract_article(fetch(article.url), article.url, rules=countercurrents_rules())
        tree = lxml_html.fragment_fromstring(result.html, create_parent="div")
        found |= {kind for kind in wanted if tree.find(f".//{kinds[kind]}") is not None}
    assert found >= {"h2", "quote"}


def test_a_phrase_rule_never_removes_the_essay(news_site) -> None:
    """'Kropotkin' occurs all through the essay: its blocks are too big to drop."""
    article = news_site.article(SEED_SLUG)
    page = fetch(article.url)
    plain = extract_article(page, article.url)
    greedy = extract_article(
        page, article.url, rules=SiteRules.compile(drop_phrases=("Kropotkin",))
    )
    assert greedy.word_count >= 0.9 * plain.word_count


def test_container_rule_and_a_container_that_matches_nothing(news_site) -> None:
    article = news_site.article(SEED_SLUG)
    page = fetch(article.url)
    inside = extract_article(page, article.url, rules=SiteRules.compile(container=".entry-content"))
    assert all(squash(p) in squash(inside.text) for p in article.paragraphs)
    assert inside.title == article.title  # metadata still read from the whole page
    missing = extract_article(page, article.url, rules=SiteRules.compile(container="#nope"))
    assert missing.text == extract_article(page, article.url).text


def test_xpath_selectors_work_like_css(news_site) -> None:
    article = news_site.article(SEED_SLUG)
    page = fetch(article.url)
    css = extract_article(page, article.url, rules=SiteRules.compile(drop=("div.code-block",)))
    xpath = extract_article(
        page,
        article.url,
        rules=SiteRules.compile(
            drop=("//div[contains(concat(' ', @class, ' '), ' code-block ')]",)
        ),
    )
    assert css.text == xpath.text
    assert "Support Countercurrents" not in css.text


@pytest.mark.parametrize(
    ("rules", "key"),
    [
        ({"drop": ["div[unclosed"]}, "sources.s.rules.drop"),
        ({"container": "//div[@"}, "sources.s.rules.container"),
        ({"drop_phrase": ["x"]}, "sources.s.rules.drop_phrase"),
    ],
)
def test_bad_rules_are_config_errors(write_config, rules, key) -> None:
    path = write_config({"sources": {"s": {"homepage": "https://s.example/", "rules": rules}}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key == key


@pytest.mark.parametrize(
    "page",
    ["", "<html></html>", "<html><body><p>Too short to be an essay.</p></body></html>"],
)
def test_empty_and_tiny_pages_are_not_articles(page: str) -> None:
    with pytest.raises(NotAnArticleError):
        extract_article(page, "https://example.org/x")


def test_learned_blocks_are_dropped_and_can_be_stripped_later(news_site) -> None:
    article = news_site.article(SEED_SLUG)
    page = fetch(article.url)
    appeal = (
        "Countercurrents is answerable only to our readers. "
        "Support honest journalism because we have no PLANET B."
    )
    learned = {block_fingerprint(appeal)}
    cleaned = extract_article(page, article.url, boilerplate=learned)
    assert "PLANET B" not in cleaned.text
    plain = extract_article(page, article.url)
    html, text = strip_blocks(plain.html, learned)
    assert "PLANET B" not in text and "PLANET B" not in html
    assert squash(article.paragraphs[0]) in squash(text)


def test_a_block_without_text_is_known_by_where_it_points() -> None:
    """Sharing icons stored by an earlier version: the same row under every article, learned
    by its link and image targets (the query differs per article) and stripped like a banner."""
    row = (
        '<p><a href="https://wa.me/?text={0}"><img src="https://www.example.org/img/wa.png"></a>'
        '<a href="https://t.me/share/url?url={0}"><img src="https://example.org/img/tg.png"></a></p>'
    )
    stored = [
        f"<p>Essay {n} on the seed library and the lending shelf.</p>{row.format(n)}"
        for n in range(2)
    ]
    blocks = [stored_blocks(html) for html in stored]
    icons = [found[-1] for found in blocks]
    assert [block.text for block in icons] == ["", ""]
    assert icons[0].targets == "example.org/img/tg.png example.org/img/wa.png t.me/share/url wa.me"
    assert icons[0].fingerprint == icons[1].fingerprint != blocks[0][0].fingerprint
    assert icons[0].learnable and icons[0].label.startswith("(no text) links to ")
    html, text = strip_blocks(stored[1], {icons[0].fingerprint})
    assert "wa.me" not in html and "img" not in html
    assert text == "Essay 1 on the seed library and the lending shelf."
    # A figure of its own points elsewhere: another fingerprint, kept.
    figure = '<p><img src="https://example.org/img/orchard.png"></p>'
    assert stored_blocks(figure)[0].fingerprint != icons[0].fingerprint
    kept, _ = strip_blocks(stored[0] + figure, {icons[0].fingerprint})
    assert "orchard.png" in kept and "wa.png" not in kept
