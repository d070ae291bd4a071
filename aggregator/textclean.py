"""The characters no stored or published text keeps, named once, and the one way to drop them.

Controls: C0 but tab, line feed and carriage return; DEL; C1; and the non-characters U+FFFE and
U+FFFF. None of them is ever meaningful in an article, XML 1.0 cannot carry most of them and
PostgreSQL refuses NUL. Lone surrogates are a separate matter: they are not characters at all,
cannot be encoded as UTF-8 (so they can be neither stored nor parsed as HTML), and a JSON Feed
can still spell one (``"\\ud800"``); callers that may meet them ask for them to go as well.

Feeds, the sanitiser, ``normalize.clean_text`` and the published XML all use this module.
"""

from __future__ import annotations

import re

_KEPT_WHITESPACE = frozenset({0x09, 0x0A, 0x0D})
CONTROL_CODES: tuple[int, ...] = (
    *(code for code in range(0x20) if code not in _KEPT_WHITESPACE),
    *range(0x7F, 0xA0),
    0xFFFE,
    0xFFFF,
)
CONTROL_CHARACTERS = "".join(map(chr, CONTROL_CODES))

_CONTROL = re.compile(f"[{re.escape(CONTROL_CHARACTERS)}]")
_CONTROL_OR_SURROGATE = re.compile(f"[{re.escape(CONTROL_CHARACTERS)}\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# The same characters as UTF-8, for the quick check in ``without_controls``.
_C0_BYTES = bytes(code for code in range(0x20) if code not in _KEPT_WHITESPACE) + b"\x7f"
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080..U+009F
_NON_CHARACTER_UTF8 = re.compile(rb"\xef\xbf[\xbe\xbf]")  # U+FFFE, U+FFFF


def without_controls(text: str, surrogates: bool = False) -> str:
    """``text`` without control characters (and lone surrogates too, when ``surrogates``);
    ``text`` itself when it has none."""
    if surrogates:
        # ``isprintable`` (in C) is true of almost every string, and false of all we drop.
        return text if text.isprintable() else _CONTROL_OR_SURROGATE.sub("", text)
    if not _has_control(text):
        return text
    return _CONTROL.sub("", text)


def without_surrogates(text: str) -> str:
    """``text`` without lone surrogates, which no UTF-8 encoder or HTML parser takes."""
    return _SURROGATE.sub("", text)


def _has_control(text: str) -> bool:
    """Whether ``text`` holds a control character, settled on its UTF-8 form.

    Almost every string has none, and showing that on the bytes takes a third of the time of the
    regex scan: a byte translation finds C0 controls and DEL, and the rest can only be where a
    byte search finds their lead byte (0xC2 for C1 controls, 0xEF for U+FFFE and U+FFFF). A lead
    byte always starts a character in UTF-8, so a match is a whole character.
    """
    raw = text.encode("utf-8", "surrogatepass")
    return (
        len(raw.translate(None, _C0_BYTES)) != len(raw)
        or (b"\xc2" in raw and _C1_UTF8.search(raw) is not None)
        or (b"\xef" in raw and _NON_CHARACTER_UTF8.search(raw) is not None)
    )
