"""Licences as pages declare them: a short identifier for the known ones, and which allow
republishing an article in full.

A declaration is a URL (``rel="license"``, a Creative Commons link or badge, JSON-LD
``license``) or a text (JSON-LD ``license`` as a name, ``<meta name="copyright">``,
``dc.rights``). Creative Commons licences and the public-domain tools are named as SPDX does
(``CC-BY-SA-4.0``, ``CC0-1.0``), the Public Domain Mark ``PDM``; a copyright notice that names
no licence is ``all-rights-reserved``, and any other declaration ``other``. The declaration
itself is kept beside the identifier, cut to ``MAX_DECLARED`` characters.

Republishing in full, unchanged and attributed, is what every Creative Commons licence allows
except for its terms on commercial use (this tool publishes without charge) and on adapted
material: the NoDerivatives (ND) licences allow verbatim copies, but extraction drops parts of
the page (navigation, boilerplate, images) and ends it with our attribution, which is a
modification, so ND does not count. CC0 and the Public Domain Mark carry no conditions. A
copyright notice, an unknown licence or none at all does not allow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DECLARED = 500
ALL_RIGHTS_RESERVED = "all-rights-reserved"
OTHER = "other"
PUBLIC_DOMAIN_MARK = "PDM"

# The licence elements of a Creative Commons licence URL (by, by-sa, by-nc, by-nc-sa, by-nd,
# by-nc-nd), the version, and the public-domain tools.
_CC_LICENCE_URL = re.compile(
    r"creativecommons\.org/licen[cs]es/(?P<code>by(?:-(?:nc|nd|sa))*)(?:/(?P<version>\d\.\d))?",
    re.I,
)
_CC_BADGE = re.compile(
    r"(?:i\.creativecommons\.org|licensebuttons\.net)/l/(?P<code>by(?:-(?:nc|nd|sa))*)"
    r"(?:/(?P<version>\d\.\d))?",
    re.I,
)
_CC_PRESSKIT = re.compile(
    r"creativecommons\.org/presskit/buttons/[^\"'\s]*/(?P<code>by(?:-(?:nc|nd|sa))*)\.(?:png|svg)",
    re.I,
)
_CC_ZERO = re.compile(
    r"creativecommons\.org/(?:publicdomain|p)/zero/(?P<version>\d\.\d)|"
    r"(?:licensebuttons\.net|creativecommons\.org)/p/zero/(?P<badge>\d\.\d)",
    re.I,
)
_CC_MARK = re.compile(
    r"creativecommons\.org/(?:publicdomain|p)/mark/|licensebuttons\.net/p/mark/", re.I
)

# Licences named in words: "CC BY-NC-SA 4.0", "Creative Commons Attribution-ShareAlike 4.0".
_CC_SHORT_TEXT = re.compile(
    r"\bCC[\s-]+(?P<code>BY(?:[\s-]+(?:NC|ND|SA))*)(?:[\s-]+(?P<version>\d\.\d))?\b", re.I
)
_CC_LONG_TEXT = re.compile(
    r"creative\s+commons\s+(?P<words>attribution(?:[\s-]+(?:non-?commercial|no-?derivs|"
    r"no-?derivatives|share-?alike))*)(?:[^\d]{0,40}?(?P<version>\d\.\d))?",
    re.I,
)
_WORD_CODES = (("noncommercial", "nc"), ("noderiv", "nd"), ("sharealike", "sa"))
_ZERO_TEXT = re.compile(r"\bCC0\b|creative\s+commons\s+zero|public\s+domain\s+dedication", re.I)
# Only the mark itself: "in the public domain" is as often said of a picture as of the text.
_MARK_TEXT = re.compile(r"public\s+domain\s+mark", re.I)
_COPYRIGHT_TEXT = re.compile(r"©|\(c\)|copyright|all\s+rights\s+reserved", re.I)

# The elements of a CC licence, in the order SPDX writes them.
_ELEMENT_ORDER = ("by", "nc", "nd", "sa")
DEFAULT_CC_VERSION = "4.0"  # a badge or name without a version: the current licences


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence a page declares: its identifier, and the URL or text that declared it."""

    id: str
    declared: str


def allows_full_republication(licence_id: str | None) -> bool:
    """Whether the licence ``licence_id`` lets an article be republished in full (see above)."""
    if not licence_id:
        return False
    if licence_id in (PUBLIC_DOMAIN_MARK, "CC0-1.0"):
        return True
    parts = licence_id.split("-")
    return parts[:2] == ["CC", "BY"] and "ND" not in parts


def licence_from_url(url: str) -> Licence | None:
    """The Creative Commons licence or public-domain tool a URL (a link or a badge image)
    names; None when it names none of them."""
    identifier = _cc_url_id(url)
    return Licence(identifier, _cap(url)) if identifier else None


def declared_url(url: str) -> Licence:
    """A ``rel="license"`` target: the licence it names, else ``other`` with the URL kept."""
    return licence_from_url(url) or Licence(OTHER, _cap(url))


def licence_from_text(text: str, *, notice: bool = False) -> Licence | None:
    """The licence a rights statement names; ``all-rights-reserved`` for a plain copyright
    notice (any text that names no licence, when ``notice`` says the text is one), ``other``
    for any other text, None for blank text."""
    cleaned = " ".join(text.split())
    if not cleaned:
        return None
    identifier = _cc_text_id(cleaned) or _cc_url_id(cleaned)
    if identifier is None:
        plain_notice = notice or _COPYRIGHT_TEXT.search(cleaned)
        identifier = ALL_RIGHTS_RESERVED if plain_notice else OTHER
    return Licence(identifier, _cap(cleaned))


def _cc_url_id(url: str) -> str | None:
    if _CC_MARK.search(url):
        return PUBLIC_DOMAIN_MARK
    if zero := _CC_ZERO.search(url):
        return f"CC0-{zero['version'] or zero['badge']}"
    for pattern in (_CC_LICENCE_URL, _CC_BADGE, _CC_PRESSKIT):
        if found := pattern.search(url):
            return _cc_id(found["code"].split("-"), found.groupdict().get("version"))
    return None


def _cc_text_id(text: str) -> str | None:
    if _MARK_TEXT.search(text):
        return PUBLIC_DOMAIN_MARK
    if _ZERO_TEXT.search(text):
        return "CC0-1.0"
    if short := _CC_SHORT_TEXT.search(text):
        return _cc_id(re.split(r"[\s-]+", short["code"]), short["version"])
    if long := _CC_LONG_TEXT.search(text):
        words = re.sub(r"[\s-]+", "", long["words"].lower())
        elements = ["by", *(code for word, code in _WORD_CODES if word in words)]
        return _cc_id(elements, long["version"])
    return None


def _cc_id(elements: list[str], version: str | None) -> str:
    present = {element.lower() for element in elements}
    ordered = [element.upper() for element in _ELEMENT_ORDER if element in present]
    return "-".join(["CC", *ordered, version or DEFAULT_CC_VERSION])


def _cap(value: str) -> str:
    return value.strip()[:MAX_DECLARED]
