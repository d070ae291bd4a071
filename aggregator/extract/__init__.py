"""Extraction: one HTML page in, one clean article (or a reason it is not one) out.

The names below are imported on first use (``lazy_exports``): the extractor pulls in lxml.html,
cssselect and large tables, which a module needing only ``extract.limits`` should not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aggregator.errors import NotAnArticleError
from aggregator.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from aggregator.extract.article import (
        Block,
        Extracted,
        ExtractOptions,
        block_fingerprint,
        extract_article,
        parse_html,
    )
    from aggregator.extract.rules import NO_RULES, RuleError, SiteRules

# Each public name (but the error) with the module of this package that defines it.
_HOMES = {
    "Block": "article",
    "ExtractOptions": "article",
    "Extracted": "article",
    "NO_RULES": "rules",
    "RuleError": "rules",
    "SiteRules": "rules",
    "block_fingerprint": "article",
    "extract_article": "article",
    "parse_html": "article",
}

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

__getattr__ = lazy_exports(__name__, _HOMES)
