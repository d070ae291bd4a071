"""Consistency checks for the labelled extraction corpus in tests/corpus/.

The corpus is data for extraction-quality tests: each page in ``pages/`` has the text a reader
would want stored in ``expected/`` (empty for listing pages) and an entry in ``index.json``.
These tests only check that the labels are coherent with the pages; they do not run an extractor.
"""

import json
import re
import unicodedata
from datetime import date
from functools import cache
from pathlib import Path

import lxml.html
import pytest

CORPUS = Path(__file__).parent / "corpus"
PAGES = CORPUS / "pages"
EXPECTED = CORPUS / "expected"

KINDS = {"article", "listing"}
FIELDS = {"id", "kind", "platform", "url", "title", "author", "published", "language", "notes"}
MIN_ARTICLE_WORDS = 100

# Elements whose boundaries separate words when a browser renders them.
BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip

INDEX = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
ENTRIES = {entry["id"]: entry for entry in INDEX}
ARTICLES = [entry["id"] for entry in INDEX if entry["kind"] == "article"]
LISTINGS = [entry["id"] for entry in INDEX if entry["kind"] == "listing"]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", text).strip()


@cache
def visible_text(page_id: str) -> str:
    """The page's text as a reader sees it: no scripts or styles, whitespace collapsed."""
    html = (PAGES / f"{page_id}.html").read_bytes()
    doc = lxml.html.document_fromstring(html)
    for element in doc.xpath("//script | //style"):
        element.drop_tree()
    for element in doc.iter(BLOCK_TAGS):
        element.text = " " + (element.text or "")
        element.tail = " " + (element.tail or "")
    return normalise(doc.text_content())


def expected_lines(page_id: str) -> list[str]:
    text = (EXPECTED / f"{page_id}.txt").read_text(encoding="utf-8")
    return [normalise(line) for line in text.splitlines() if line.strip()]


def test_index_ids_are_unique():
    assert len(ENTRIES) == len(INDEX)


@pytest.mark.parametrize("entry", INDEX, ids=lambda entry: entry["id"])
def test_index_entry_is_well_formed(entry):
    assert set(entry) == FIELDS
    assert entry["kind"] in KINDS
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry["id"])
    assert entry["url"].startswith("https://")
    assert entry["title"].strip()
    assert entry["language"] in {"en", "es", "fr", "de"}
    assert entry["notes"].strip()
    if entry["published"] is not None:
        date.fromisoformat(entry["published"])


def test_every_indexed_page_has_files_and_no_file_is_unindexed():
    pages = {path.stem for path in PAGES.glob("*.html")}
    expected = {path.stem for path in EXPECTED.glob("*.txt")}
    assert pages == set(ENTRIES)
    assert expected == set(ENTRIES)


def test_corpus_covers_the_intended_mix():
    languages = {entry["language"] for entry in INDEX}
    assert len(INDEX) >= 45
    assert len(LISTINGS) >= 6
    assert len(languages) >= 3
    assert len({entry["platform"] for entry in INDEX}) >= 15


@pytest.mark.parametrize("page_id", list(ENTRIES))
def test_title_appears_in_page(page_id):
    assert normalise(ENTRIES[page_id]["title"]) in visible_text(page_id)


@pytest.mark.parametrize("page_id", ARTICLES)
def test_every_expected_line_is_visible_in_page(page_id):
    text = visible_text(page_id)
    missing = [line for line in expected_lines(page_id) if line not in text]
    assert not missing, f"{len(missing)} expected lines not in page, first: {missing[0]!r}"


@pytest.mark.parametrize("page_id", ARTICLES)
def test_article_has_enough_expected_text(page_id):
    words = sum(len(line.split()) for line in expected_lines(page_id))
    assert words >= MIN_ARTICLE_WORDS


@pytest.mark.parametrize("page_id", ARTICLES)
def test_expected_text_excludes_title(page_id):
    assert normalise(ENTRIES[page_id]["title"]) not in expected_lines(page_id)


@pytest.mark.parametrize("page_id", LISTINGS)
def test_listing_has_empty_expected_text(page_id):
    assert (EXPECTED / f"{page_id}.txt").read_text(encoding="utf-8") == ""
