"""Extraction: one HTML page in, one clean article (or a reason it is not one) out."""

from aggregator.errors import NotAnArticleError
from aggregator.extract.article import (
    Block,
    Extracted,
    ExtractOptions,
    block_fingerprint,
    extract_article,
    parse_html,
)
from aggregator.extract.rules import NO_RULES, RuleError, SiteRules

__all__ = [
    "NO_RULES",
    "Block",
    "ExtractOptions",
    "Extracted",
    "NotAnArticleError",
    "RuleError",
    "SiteRules",
    "block_fingerprint",
    "extract_article",
    "parse_html",
]
