"""Names that become file names and URL paths: tag slugs and source names.

A slug keeps only word characters (any script) joined by single hyphens, so ``/``, ``.``,
``..`` and every other separator are impossible in it; tags that differ only in case or
punctuation ("Mutual aid", "mutual-aid") share one slug and one feed.
"""

from __future__ import annotations

import re
import unicodedata

from aggregator.config import SOURCE_NAME
from aggregator.publish.entries import clean_tags, plain_text

SLUG_MAX = 80
# File names are limited in bytes (255 on most file systems), and the build writes a temporary
# ".SLUG.atom.XXXXXXXX.tmp" beside each feed: 80 characters of CJK (3 bytes each) are too many.
SLUG_MAX_BYTES = 200
_NOT_WORD = re.compile(r"[\W_]+")


def slugify_tag(tag: str) -> str:
    """``"Mutual Aid / Kropotkin"`` -> ``"mutual-aid-kropotkin"``; ``""`` when nothing is left.

    Markup is removed first (``plain_text``), so a tag's slug is made of what readers see.
    """
    folded = unicodedata.normalize("NFKC", plain_text(tag)).casefold()
    slug = _NOT_WORD.sub("-", folded).strip("-")[:SLUG_MAX]
    encoded = slug.encode("utf-8")
    if len(encoded) > SLUG_MAX_BYTES:  # cut at a character boundary
        slug = encoded[:SLUG_MAX_BYTES].decode("utf-8", errors="ignore")
    return slug.rstrip("-")


def is_slug(text: str) -> bool:
    """True when ``text`` is already a slug (what a feed path may name)."""
    return bool(text) and slugify_tag(text) == text


def is_source_name(name: str) -> bool:
    """True for names the config accepts (they are safe as file names)."""
    return SOURCE_NAME.fullmatch(name) is not None


def tag_slugs(tags: object) -> tuple[tuple[str, str], ...]:
    """(slug, label) of each tag of a stored tag list that has a slug, one per slug, in order.

    Anything but a list of strings (a damaged JSON value) has no tags.
    """
    strings = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
    pairs: dict[str, str] = {}
    for label in clean_tags(strings):
        slug = slugify_tag(label)
        if slug:
            pairs.setdefault(slug, label)
    return tuple(pairs.items())
