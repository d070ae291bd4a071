"""The search query language: what it parses, what it refuses, and that nothing a user types
reaches an engine's syntax (checked against a real FTS5 table)."""

from __future__ import annotations

import random
import sqlite3

import pytest

from aggregator.errors import MutualAidError
from aggregator.search.query import (
    MAX_CLAUSES,
    MAX_QUERY_CHARS,
    QueryError,
    SearchQuery,
    parse_query,
)


def test_words_phrases_exclusions_and_filters() -> None:
    query = parse_query('Tenant "Mutual  Aid" -police -"state aid" source:leeds-news tag:"Co-ops"')
    assert query == SearchQuery(
        include=(("tenant",), ("mutual", "aid")),
        exclude=(("police",), ("state", "aid")),
        source="leeds-news",
        tag="co-ops",
    )
    assert query.text() == 'tenant "mutual aid" -police -"state aid" source:leeds-news tag:co-ops'
    assert parse_query(query.text()) == query


def test_joined_words_are_a_phrase_and_punctuation_separates() -> None:
    assert parse_query("well-known").include == (("well", "known"),)
    assert parse_query("don't").include == (("don", "t"),)
    assert parse_query("12:30 a_b").include == (("12", "30"), ("a", "b"))


def test_curly_quotes_unicode_and_duplicates() -> None:
    query = parse_query("“entraide mutuelle” Kropotkine KROPOTKINE 互助 ＡＢＣ")
    assert query.include == (("entraide", "mutuelle"), ("kropotkine",), ("互助",), ("abc",))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no word"),
        ("   \t\n", "no word"),
        ("*** ^ : ()", "no word"),
        ("-police", "not only words to exclude"),
        ('-"state aid" -x', "not only words to exclude"),
        ('"unclosed phrase', "not closed"),
        ('tenant "', "not closed"),
        ('tag:"mutual', "not closed"),
        ("x" * (MAX_QUERY_CHARS + 1), "longer than"),
        (" ".join(f"w{n}" for n in range(MAX_CLAUSES + 1)), "at most"),
        ('"' + " ".join("w" * 20) + '"', "at most"),
        ("author:kropotkin", "unknown filter 'author'"),
        ("http://example.org", "unknown filter 'http'"),
        ("commune -source:x", "cannot be excluded"),
        ("commune source:a source:b", "more than once"),
        ("commune source:Bad/Name", "source name"),
        ("commune source:", "source name"),
        ("commune tag:***", "needs a tag"),
        ("source:leeds", "no word"),
    ],
)
def test_bad_queries_say_why_in_one_line(text: str, reason: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_query(text)
    message = str(raised.value)
    assert reason in message
    assert "\n" not in message
    assert isinstance(raised.value, MutualAidError)
    assert raised.value.exit_code == 2


HOSTILE = [
    "NEAR(tenant union, 2)",
    "tenant NEAR union",
    "tenant AND union OR NOT x",
    "tenant*",
    "^tenant",
    "title:tenant",
    "{title author}: tenant",
    "- tenant",
    '"" tenant',
    'tenant "" ""',
    '"a""b"',
    "tenant\x00\x01\x02\x1b[31m union",
    "tenant\u202e\u200b union",
    "'; DROP TABLE articles; --",
    "tenant) OR (1=1",
    "te\u0301nant",
    "x" * MAX_QUERY_CHARS,
    '-"-"-"" tenant',
    'tenant\\" union',
    "\U0001f600 tenant",
]


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(title, text)")
    connection.execute("INSERT INTO t VALUES ('Tenant union', 'near and or not tenant')")
    return connection


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_only_words_to_fts5(fts: sqlite3.Connection, text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        return
    for clause in (*query.include, *query.exclude):
        assert all(word.isalnum() for word in clause), clause
    fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.fts5(),)).fetchall()


def test_operator_words_are_searched_as_words(fts: sqlite3.Connection) -> None:
    query = parse_query("NEAR AND NOT")
    assert query.fts5() == '("near" AND "and" AND "not")'
    assert fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.fts5(),)).fetchall() == [(1,)]
    assert parse_query("tenant -union").fts5() == '("tenant") NOT "union"'
    assert parse_query('"a b" -"c d"').tsquery_parts() == [("a b", False), ("c d", True)]


def test_random_queries_parse_or_fail_with_a_query_error(fts: sqlite3.Connection) -> None:
    alphabet = 'ab "-:*^()NEAR\x00é互 \t{}+'
    chance = random.Random(17)
    for _ in range(2000):
        text = "".join(chance.choice(alphabet) for _ in range(chance.randrange(0, 40)))
        try:
            query = parse_query(text)
        except QueryError:
            continue
        fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.fts5(),)).fetchall()
        assert parse_query(query.text()) == query  # what a link carries means the same
