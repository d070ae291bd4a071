"""Explainable topic relevance: which profile terms an article uses, how often, and where.

A profile weighs terms ("mutual aid": 3, "solidarity": 1). Terms match whole words,
case-insensitively, across spaces, line breaks and hyphens ("Mutual  Aid", "mutual-aid"), and in
simple plural and possessive forms ("cooperatives", "Kropotkin’s", "workers' cooperatives"),
but never as other words: "anarchism" does not match "anarchist". Each term is counted on its
own, so "worker cooperative" counts for both "worker cooperative" and "cooperative".

Score: a term found n times in the body adds ``weight * (1 + ln n)``; found in the title, it adds
``title_weight * weight`` once more, and found in any tag, the same again. Negative weights
take back what a misleading phrase adds: "house of commons" at -1.5 cancels "commons" at 1.5.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_APOSTROPHES = ("’", "ʼ", "‘")
# A word with its apostrophes ("kropotkin's", "workers'"), or one punctuation mark. Marks stop a
# multi-word term ("solidarity. economy" is not "solidarity economy"); hyphens do not.
_TOKEN = re.compile(r"\w+(?:'\w+)*'?|[^\w\s\-‐‑]")
_TERM_WORD = re.compile(r"[^\W_]+")
_TERM_SHAPE = re.compile(r"[^\W_]+(?:[\s\-‐‑]+[^\W_]+)*")
_PROFILE_KEYS = frozenset({"terms", "threshold", "title_weight"})


@dataclass(frozen=True)
class Relevance:
    """A score with its explanation: each matched term and how often it occurs."""

    score: float
    matched: dict[str, int]
    relevant: bool


@dataclass(frozen=True)
class TopicProfile:
    """Weighted terms and the score an article needs to be on topic.

    Term keys are kept casefolded with single spaces; ``Relevance.matched`` uses them.
    """

    terms: Mapping[str, float]
    threshold: float
    title_weight: float = 3.0
    _matcher: _TermMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        terms = _normalise_terms(self.terms)
        threshold = _check_number("threshold", self.threshold, positive=True)
        title_weight = _check_number("title_weight", self.title_weight, positive=False)
        object.__setattr__(self, "terms", MappingProxyType(terms))
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "title_weight", title_weight)
        object.__setattr__(self, "_matcher", _TermMatcher(terms))

    def __hash__(self) -> int:
        return hash((frozenset(self.terms.items()), self.threshold, self.title_weight))

    def __reduce__(self) -> tuple[type[TopicProfile], tuple[dict[str, float], float, float]]:
        """Pickled as its terms (the matcher is rebuilt), to reach extraction processes."""
        return (TopicProfile, (dict(self.terms), self.threshold, self.title_weight))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TopicProfile:
        """A profile from parsed YAML: ``{"threshold": 6, "title_weight": 3, "terms": {...}}``.

        Raises ``ValueError`` naming the offending key.
        """
        unknown = sorted(set(data) - _PROFILE_KEYS)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; expected {_expected_keys()}")
        for key in ("terms", "threshold"):
            if key not in data:
                raise ValueError(f"{key}: missing")
        terms = data["terms"]
        if not isinstance(terms, Mapping):
            raise ValueError(f"terms: expected a mapping of term to weight, got {terms!r}")
        return cls(
            terms=dict(terms),
            threshold=data["threshold"],
            title_weight=data.get("title_weight", 3.0),
        )


def score_article(
    profile: TopicProfile, *, title: str | None, text: str, tags: Sequence[str] = ()
) -> Relevance:
    """Score one article against ``profile``; ``matched`` lists counts over title, text and tags."""
    matcher = profile._matcher
    body = matcher.count(text)
    in_title = matcher.count(title or "")
    in_tags: Counter[str] = Counter()
    for tag in tags:
        in_tags.update(matcher.count(tag))
    weights = profile.terms
    score = sum(weights[term] * (1 + math.log(n)) for term, n in body.items())
    headline = sum(weights[term] for term in in_title) + sum(weights[term] for term in in_tags)
    score += profile.title_weight * headline
    matched = body + in_title + in_tags
    ordered = dict(sorted(matched.items(), key=lambda item: (-item[1], item[0])))
    return Relevance(score=score, matched=ordered, relevant=score >= profile.threshold)


class _TermMatcher:
    """Counts every term of a profile in one pass over a text's words.

    ``_forms`` maps each accepted spelling of a term word ("cooperatives", "kropotkin's") to the
    word; ``_starts`` maps a spelling of a term's first word to the terms that start with it.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self._forms: dict[str, set[str]] = {}
        self._starts: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for term in terms:
            first, *rest = _TERM_WORD.findall(term)
            for form in self._add_forms(first):
                self._starts.setdefault(form, []).append((term, tuple(rest)))
            for word in rest:
                self._add_forms(word)

    def _add_forms(self, word: str) -> list[str]:
        forms = _inflections(word)
        for form in forms:
            self._forms.setdefault(form, set()).add(word)
        return forms

    def count(self, text: str) -> Counter[str]:
        tokens = _tokens(text)
        counts: Counter[str] = Counter()
        starts = self._starts
        for index in [i for i, token in enumerate(tokens) if token in starts]:
            for term, rest in starts[tokens[index]]:
                if self._continues(tokens, index + 1, rest):
                    counts[term] += 1
        return counts

    def _continues(self, tokens: list[str], index: int, words: tuple[str, ...]) -> bool:
        if index + len(words) > len(tokens):
            return False
        return all(
            word in self._forms.get(token, ())
            for word, token in zip(words, tokens[index:], strict=False)
        )


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    for apostrophe in _APOSTROPHES:  # str.replace is much faster than str.translate here
        folded = folded.replace(apostrophe, "'")
    return _TOKEN.findall(folded)


def _inflections(word: str) -> list[str]:
    """The word, its plural (-s, -es, -y to -ies) and the possessives of both."""
    plurals = [word, word + "s", word + "es"]
    if len(word) > 2 and word.endswith("y") and word[-2] not in "aeiou":
        plurals.append(word[:-1] + "ies")
    return [form + ending for form in plurals for ending in ("", "'s", "'")]


def _normalise_terms(terms: Mapping[str, float]) -> dict[str, float]:
    """Casefolded, single-spaced terms with checked weights; one positive weight at least."""
    if not terms:
        raise ValueError("terms: at least one term is required")
    normalised: dict[str, float] = {}
    seen: dict[tuple[str, ...], str] = {}
    for raw, weight in terms.items():
        term = _normalise_term(raw)
        words = tuple(_TERM_WORD.findall(term))
        if words in seen:
            raise ValueError(f"terms: {raw!r} repeats {seen[words]!r}")
        seen[words] = raw
        _check_weight(raw, weight)
        normalised[term] = float(weight)
    if all(weight < 0 for weight in normalised.values()):
        raise ValueError("terms: no term has a positive weight, so nothing could be relevant")
    return normalised


def _normalise_term(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"terms: {raw!r} is not a string")
    term = " ".join(unicodedata.normalize("NFKC", raw).casefold().split())
    if not _TERM_SHAPE.fullmatch(term):
        raise ValueError(f"terms: {raw!r} must be words separated by spaces or hyphens")
    return term


def _check_weight(term: str, weight: object) -> None:
    number = _finite_number(weight)
    if number is None or number == 0:
        raise ValueError(f"terms: {term!r}: weight must be finite and non-zero, got {weight!r}")


def _check_number(key: str, value: object, *, positive: bool) -> float:
    """``threshold`` must be > 0, ``title_weight`` >= 0; both finite numbers."""
    number = _finite_number(value)
    if number is not None and (number > 0 or (number == 0 and not positive)):
        return number
    bound = "> 0" if positive else ">= 0"
    raise ValueError(f"{key}: must be a finite number {bound}, got {value!r}")


def _finite_number(value: object) -> float | None:
    """The value as a float if it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _expected_keys() -> str:
    return ", ".join(sorted(_PROFILE_KEYS))
