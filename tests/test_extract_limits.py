"""HTML past the extraction limits is refused before lxml parses it, with a one-line reason
naming the setting; the attribute count reads tags as libxml2 does, so no tag hides from it."""

from __future__ import annotations

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import NotAnArticleError
from aggregator.extract import ExtractOptions, extract_article
from aggregator.extract.limits import DEFAULT_LIMITS, HtmlLimits, markup_problem, tree_problem
from aggregator.extract.tagscan import has_crowded_tag
from tests.feedserver import ARTICLE_WORDS

URL = "https://example.org/essay/"
ARTICLE = "".join(f"<p>{n}. {ARTICLE_WORDS}</p>" for n in range(4))


def page(body: str) -> str:
    return f"<html><head><title>Essay</title></head><body><article>{body}</article></body></html>"


def refusal(html: str | bytes, limits: HtmlLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(NotAnArticleError) as caught:
        extract_article(html, URL, options=ExtractOptions(limits=limits))
    return caught.value.reason


def test_an_article_within_the_limits_is_extracted() -> None:
    assert extract_article(page(ARTICLE), URL).word_count > 100


@pytest.mark.parametrize(
    ("html", "limits", "reason"),
    [
        (page(ARTICLE), HtmlLimits(max_size=1000), "characters of HTML (extraction.max_html_size)"),
        (
            page(ARTICLE),
            HtmlLimits(max_elements=5),
            "more than 5 elements (extraction.max_elements)",
        ),
        (
            page("<p " + " ".join(f"a{n}" for n in range(1001)) + ">x</p>" + ARTICLE),
            HtmlLimits(),
            "an element with more than 1,000 attributes (extraction.max_attributes)",
        ),
        (
            page("<div>" * 250 + ARTICLE + "</div>" * 250),
            HtmlLimits(),
            "elements nested more than 200 deep (extraction.max_depth)",
        ),
        (
            page("<div>" * 30 + ARTICLE + "</div>" * 30),
            HtmlLimits(max_depth=20),
            "elements nested more than 20 deep (extraction.max_depth)",
        ),
    ],
    ids=["size", "elements", "attributes", "depth", "depth-setting"],
)
def test_html_past_a_limit_is_refused_with_the_setting_named(
    html: str, limits: HtmlLimits, reason: str
) -> None:
    refused = refusal(html, limits)
    assert refused.startswith("beyond the extraction limits: ") and refused.endswith(reason)
    assert "\n" not in refused


def test_bytes_are_checked_once_decoded() -> None:
    crowded = page("<p " + " ".join(f"a{n}" for n in range(1001)) + ">x</p>" + ARTICLE)
    assert "attributes" in refusal(crowded.encode("utf-8"))
    assert extract_article(page(ARTICLE).encode(), URL).word_count > 100


@pytest.mark.parametrize(
    "html",
    [
        '<p a"="x>" {attrs}>t</p>',  # a quote opens a value only after =
        '<p a=">" {attrs}>t</p>',
        "<p a='>'{attrs}>t</p>",
        "<p/{attrs}>t</p>",
        "<script><!--<script></script>\"<a b='</script><p {attrs}>t</p>",  # double-escaped
        "<style>'<a b=\"</style><p {attrs}>t</p>",
        "<title>'<a b=\"</title ><p {attrs}>t</p>",
        "<script/>x<p {attrs}>t</p>",
        "<!-- <a b=' --><p {attrs}>t</p>",
        "<!--><p {attrs}>t</p>",
        "</x a='>'><p {attrs}>t</p>",
    ],
)
def test_no_tokenising_trick_hides_a_crowded_tag(html: str) -> None:
    crowded = html.replace("{attrs}", " ".join(f"a{n}" for n in range(12)))
    tree = lxml.html.fromstring(f"<html><body>{crowded}</body></html>")
    assert max(len(element.attrib) for element in tree.iter("p")) >= 12  # libxml2 agrees
    assert has_crowded_tag(crowded, 10)


def test_attributes_hidden_from_libxml2_are_not_counted() -> None:
    assert not has_crowded_tag("<script>" + "<p " + "a " * 50 + "></script><p a b>", 10)
    assert not has_crowded_tag("<!--<p " + "a " * 50 + "> -->", 10)
    assert not has_crowded_tag("<p title='" + "a " * 50 + "'>x</p>", 10)


TOKENS = [
    "<", ">", '"', "'", "=", "/", " ", "\t", "\n", "\r", "\x0b", "a", "b", "-", "!", "é",
    "<p ", "<a ", "</p>", "<b", "<!--", "-->", "--!>", "<!", "<?", "</ ", "</x ", "<br/>", "/>",
    "<script>", "</script>", "<script ", "</script ", "<SCRIPT>", "<style>", "</style>",
    "<title>", "</title>", "<textarea>", "</textarea>", "<plaintext>", "<noscript>", "<xmp>",
    "</xmp>", "<iframe>", "</iframe>", "<svg>", "<![CDATA[", "]]>", "<!DOCTYPE ", "=x/",
    '="x"/', "<script a=x/>", "<style/>", "<title />",
]  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_the_scan_never_counts_fewer_attributes_than_libxml2_reads(tokens: list[str]) -> None:
    html = "<html><body>" + "".join(tokens) + "</body></html>"
    tree = lxml.html.fromstring(html)
    most = max((len(e.attrib) for e in tree.iter() if isinstance(e.tag, str)), default=0)
    if most > 3:
        assert has_crowded_tag(html, 3)


def test_a_parsed_tree_is_checked_for_depth() -> None:
    shallow = lxml.html.fromstring(page(ARTICLE))
    deep = lxml.html.fromstring(page("<div>" * 300 + "x" + "</div>" * 300))
    assert tree_problem(shallow) is None
    assert "nested more than 200 deep" in (tree_problem(deep) or "")
    assert markup_problem(page(ARTICLE)) is None
