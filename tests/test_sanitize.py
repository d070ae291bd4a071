"""The sanitiser keeps article structure and removes everything that could run or phone home."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from aggregator.sanitize import ALLOWED_TAGS, sanitize_html

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="https://x.example/a.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt&#58;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<form action="https://evil.example/"><input name="q"></form>',
    "<svg><script>alert(1)</script><circle onload=alert(1)></circle></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<iframe src="https://evil.example/"></iframe>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "<style>body{background:url(https://evil.example/)}</style>",
    '<p style="background:url(https://evil.example/)">styled</p>',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/">',
    '<a href="https://ok.example/" onclick="steal()">ok</a>',
    "<template><script>alert(1)</script></template>",
]
FORBIDDEN = ("<script", "onerror", "onclick", "onload", "javascript:", "data:", "<form",
             "<svg", "<math", "<iframe", "<base", "<meta", "<style", "style=", "<object",
             "<embed", "<template", "alert(1)")  # fmt: skip


@pytest.mark.parametrize("fragment", HOSTILE)
def test_hostile_markup_is_removed(fragment: str) -> None:
    cleaned = sanitize_html(f"<p>before</p>{fragment}<p>after</p>").lower()
    assert not [marker for marker in FORBIDDEN if marker in cleaned]
    assert "before" in cleaned and "after" in cleaned


def test_article_structure_survives() -> None:
    article = (
        "<h2>Heading</h2><p>A <em>para</em> with <a href='https://ok.example/x'>a link</a>"
        "<sup>[1]</sup></p><blockquote><p>Quote</p></blockquote><ul><li>one</li></ul>"
        "<figure><img src='https://ok.example/i.png' alt='pic'><figcaption>cap</figcaption>"
        "</figure><table><tr><td colspan='2'>cell</td></tr></table>"
    )
    cleaned = sanitize_html(article)
    tree = lxml_html.fragment_fromstring(cleaned, create_parent="div")
    tags = {element.tag for element in tree.iterdescendants()}
    assert {"h2", "p", "em", "a", "sup", "blockquote", "ul", "li", "figure", "img"} <= tags
    link = tree.find(".//a")
    assert link is not None
    assert link.get("href") == "https://ok.example/x"
    assert link.get("rel") == "noopener noreferrer"
    assert tree.find(".//td").get("colspan") == "2"  # type: ignore[union-attr]


def test_control_characters_are_removed_even_when_written_as_references() -> None:
    cleaned = sanitize_html("<p>a\x00b\x1bc&#x1b;d&#27;e\x7f</p>")
    assert cleaned == "<p>abcde</p>"


def test_c1_controls_and_non_characters_go_and_their_neighbours_stay() -> None:
    # U+00A0..U+00BF share the UTF-8 lead byte of the C1 controls, U+FFFD that of U+FFFE/U+FFFF.
    cleaned = sanitize_html("<p>\x80a\x85b\x9f \u00ab\u00bbc\u00bf\ufffd\ufffed\uffff</p>")
    assert cleaned == "<p>ab \u00ab\u00bbc\u00bf\ufffdd</p>"
    assert sanitize_html("<p>tab\tand\nnewline\r\n</p>") == "<p>tab\tand\nnewline\n</p>"


def test_relative_links_are_dropped_because_callers_resolve_them_first() -> None:
    cleaned = sanitize_html('<a href="/local">x</a><img src="relative.png">')
    assert "href" not in cleaned and "relative.png" not in cleaned


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(HOSTILE),
            st.sampled_from(sorted(ALLOWED_TAGS)).map(lambda tag: f"<{tag}>"),
            st.sampled_from(sorted(ALLOWED_TAGS)).map(lambda tag: f"</{tag}>"),
            st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
            st.sampled_from(["<", ">", "&", '"', "'", "=", "<!--", "-->", "<![CDATA[", "]]>"]),
        ),
        max_size=25,
    )
)
def test_fuzzed_markup_never_yields_anything_executable(pieces: list[str]) -> None:
    cleaned = sanitize_html("".join(pieces))
    tree = lxml_html.fragment_fromstring(cleaned or "<p></p>", create_parent="div")
    for element in tree.iterdescendants():
        assert isinstance(element.tag, str) is False or element.tag in ALLOWED_TAGS
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on")
            assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    assert sanitize_html(cleaned) == cleaned  # stable: sanitising twice changes nothing
