"""The small text helpers the feeds are written with: escaping, dates, summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.publish.entries import SUMMARY_CHARS, plain_text, summarize
from aggregator.publish.feed import rfc822, rfc3339
from aggregator.publish.xmltext import attribute, text

# Characters XML 1.0 can carry (the renderers' inputs are cleaned to these before escaping).
XML_CHARS = st.characters(
    codec="utf-8", exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"
).filter(lambda c: c in "\t\n\r" or c >= " ")


@given(st.text(st.one_of(st.sampled_from("\t\n\r &<>\"']]>"), XML_CHARS)))
def test_escaped_text_and_attributes_read_back_as_written(value: str) -> None:
    document = f'<a b="{attribute(value)}">{text(value)}</a>'.encode()
    element = etree.fromstring(document, etree.XMLParser(recover=False))
    assert element.get("b") == value
    assert (element.text or "") == value


def test_escaping_leaves_no_markup_behind() -> None:
    hostile = '"><script>alert(1)</script>&amp;'
    element = etree.fromstring(f'<a b="{attribute(hostile)}">{text(hostile)}</a>')
    assert len(element) == 0
    assert element.get("b") == element.text == hostile


MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=13))]),
)


@given(MOMENTS)
def test_dates_read_as_the_standard_library_writes_them(moment: datetime) -> None:
    utc = moment.astimezone(UTC).replace(microsecond=0)
    assert rfc822(moment) == format_datetime(utc, usegmt=True)
    assert rfc3339(moment) == utc.isoformat().replace("+00:00", "Z")


def summary_by_definition(value: str, limit: int = SUMMARY_CHARS) -> str:
    """What ``summarize`` promises: plain text of the start, cut at a word near ``limit``."""
    plain = plain_text(value[: limit * 3])
    if len(plain) <= limit:
        return plain
    cut = plain[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


PIECES = st.sampled_from(
    ["mutual", "aid", " ", "  ", "\n\n", "\t", "—", "é", "&amp;", "<b>", "x" * 90, "\x01", "."]
)


@settings(max_examples=300)
@given(st.lists(PIECES, max_size=300).map("".join), st.integers(1, SUMMARY_CHARS))
def test_summaries_are_what_their_definition_says(value: str, limit: int) -> None:
    assert summarize(value, limit) == summary_by_definition(value, limit)


def test_a_long_plain_text_is_cut_at_a_word() -> None:
    words = " ".join(f"word{number}" for number in range(200))
    summary = summarize(words)
    assert summary.endswith("…") and len(summary) <= SUMMARY_CHARS + 1
    assert words.startswith(summary[:-1] + " ")


def test_markup_with_a_lone_surrogate_is_still_made_plain() -> None:
    assert plain_text("<b>bold</b> \ud800text") == "bold text"
