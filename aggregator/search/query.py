"""The search query language: words, quoted phrases, exclusions and filters, parsed and compiled.

``tenant union``       both words, anywhere in the title, author or text
``"mutual aid"``       the words next to each other, in that order
``-police -"state aid"`` none of these
``source:NAME``        seen at that source; ``tag:SLUG`` (or ``tag:"Mutual aid"``) tagged so

A word is a run of letters and digits (any script), as the full-text indexes cut text into
words; anything else separates words, so a bare ``well-known`` is the phrase "well known".
Nothing a user types reaches an engine's own syntax: the FTS5 expression quotes every word, and
PostgreSQL gets each phrase as a bound parameter of ``phraseto_tsquery``. Pure functions; a bad
query is a ``QueryError`` whose message is one line saying why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from aggregator.errors import MutualAidError
from aggregator.publish.names import is_source_name, slugify_tag

MAX_QUERY_CHARS = 500
# Words and phrases to look for or exclude, together; a phrase counts once.
MAX_CLAUSES = 12
MAX_PHRASE_WORDS = 12
FILTERS = ("source", "tag")

_WORD = re.compile(r"[^\W_]+")
_FILTER = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


class QueryError(MutualAidError):
    """A search query that cannot be run; the message says why in one line."""

    exit_code = 2


Clause = tuple[str, ...]  # the words of a term (one) or a phrase (several), lowercase


@dataclass(frozen=True)
class SearchQuery:
    """What to look for: every clause of ``include``, none of ``exclude``, and the filters."""

    include: tuple[Clause, ...]
    exclude: tuple[Clause, ...] = ()
    source: str | None = None
    tag: str | None = None  # a slug

    def fts5(self) -> str:
        """The SQLite FTS5 MATCH expression: every clause a quoted string, so no operator,
        column filter, prefix or NEAR group can come from the user."""
        wanted = " AND ".join(_fts5_string(clause) for clause in self.include)
        unwanted = "".join(f" NOT {_fts5_string(clause)}" for clause in self.exclude)
        return f"({wanted}){unwanted}"

    def tsquery_parts(self) -> list[tuple[str, bool]]:
        """(phrase text, excluded) for PostgreSQL: each becomes ``phraseto_tsquery(:text)``,
        combined with ``&&`` and ``!!``, the text always a bound parameter."""
        return [(" ".join(clause), False) for clause in self.include] + [
            (" ".join(clause), True) for clause in self.exclude
        ]

    def words(self) -> list[str]:
        """The words looked for, for highlighting."""
        return [word for clause in self.include for word in clause]

    def text(self) -> str:
        """The query written back in its own syntax (what a link to it carries)."""
        parts = [_written(clause) for clause in self.include]
        parts += [f"-{_written(clause)}" for clause in self.exclude]
        if self.source:
            parts.append(f"source:{self.source}")
        if self.tag:
            parts.append(f"tag:{self.tag}")
        return " ".join(parts)


def parse_query(text: str) -> SearchQuery:
    """Parse what a user typed; raise ``QueryError`` for anything that cannot be searched."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    include: list[Clause] = []
    exclude: list[Clause] = []
    filters: dict[str, str] = {}
    for negated, quoted, token in _tokens(text):
        if not quoted and (matched := _FILTER.fullmatch(token)):
            _add_filter(filters, matched[1].lower(), matched[2], negated)
            continue
        clause = tuple(word.casefold() for word in _WORD.findall(token))
        if len(clause) > MAX_PHRASE_WORDS:
            raise QueryError(f"a phrase may have at most {MAX_PHRASE_WORDS} words")
        if clause:
            (exclude if negated else include).append(clause)
    _check(include, exclude)
    return SearchQuery(
        tuple(dict.fromkeys(include)),
        tuple(dict.fromkeys(exclude)),
        filters.get("source"),
        filters.get("tag"),
    )


def _tokens(text: str) -> list[tuple[bool, bool, str]]:
    """(negated, quoted, text) of each token: a quoted phrase, or a run without spaces; a
    filter's quoted value (``tag:"mutual aid"``) stays part of its token."""
    tokens: list[tuple[bool, bool, str]] = []
    position, end = 0, len(text)
    while position < end:
        if text[position].isspace() or not text[position].isprintable():
            position += 1
            continue
        negated = text[position] == "-"
        start = position + negated
        if start < end and text[start] == '"':
            closing = _closing_quote(text, start)
            tokens.append((negated, True, text[start + 1 : closing]))
            position = closing + 1
            continue
        position = start
        while position < end and not text[position].isspace() and text[position] != '"':
            position += 1
        token = text[start:position]
        if token.endswith(":") and position < end and text[position] == '"':
            closing = _closing_quote(text, position)
            token += text[position + 1 : closing]
            position = closing + 1
        tokens.append((negated, False, token))
    return tokens


def _closing_quote(text: str, opening: int) -> int:
    closing = text.find('"', opening + 1)
    if closing < 0:
        raise QueryError('a quotation mark (") is not closed')
    return closing


def _add_filter(filters: dict[str, str], name: str, value: str, negated: bool) -> None:
    if name not in FILTERS:
        known = ", ".join(f"{known}:" for known in FILTERS)
        raise QueryError(f"unknown filter {name!r}: (known: {known}; quote text with a colon)")
    if negated:
        raise QueryError(f"{name}: cannot be excluded")
    if name in filters:
        raise QueryError(f"{name}: given more than once")
    if name == "source":
        if not is_source_name(value):
            raise QueryError("source: needs a source name (lowercase letters, digits, - and _)")
        filters[name] = value
        return
    slug = slugify_tag(value) if len(value) <= MAX_QUERY_CHARS else ""
    if not slug:
        raise QueryError("tag: needs a tag")
    filters[name] = slug


def _check(include: list[Clause], exclude: list[Clause]) -> None:
    if not include:
        if exclude:
            raise QueryError("a query needs a word to look for, not only words to exclude")
        raise QueryError("the query has no word to look for")
    if len(include) + len(exclude) > MAX_CLAUSES:
        raise QueryError(f"a query may have at most {MAX_CLAUSES} words and phrases")


def _fts5_string(clause: Clause) -> str:
    """An FTS5 string: double quotes around, any inside doubled (words have none: belt and
    braces)."""
    return '"' + " ".join(clause).replace('"', '""') + '"'


def _written(clause: Clause) -> str:
    return clause[0] if len(clause) == 1 else '"' + " ".join(clause) + '"'
