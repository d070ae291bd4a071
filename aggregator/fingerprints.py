"""What dedup compares: normalised text, exact and near-duplicate hashes, title and author keys.

The same essay reaches us from several sites with different typography, whitespace and bits of
page furniture around it. ``content_hash`` catches copies that differ only in typography;
``simhash`` with ``hamming`` catches copies that differ a little more, and ``simhash_bands``
with ``simhash_probes`` turn the distance test into equality lookups a database index answers.
``titles_agree`` and ``authors_agree`` are the cheap second opinion before two articles are
declared the same.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import partial

# The distance at or under which two SimHashes count as the same article, chosen by experiment on
# 131 essays of ~1,500 words (3 trials of each case per essay; % = share within distance 3 / 6):
#   same text, different page furniture at each end (the extraction differing between sites):
#     ~10-20 words a side: median 2 (78% / 99%); ~25-35: median 3 (57% / 95%); ~50-60: 4 (41% / 84%)
#   2 paragraphs edited: a sentence in each, median 3 (65% / 96%); both rewritten, 5 (18% / 70%)
#   different essays: 55 pairs of hand-written articles, min 24, median 34; essays composed from
#     one shared pool of sentences (about half their sentences in common), min 3, median 13 (2.5%
#     within 6)
# So 3 misses about half of the copies that differ only by furniture, while 6 catches nearly all
# of them, and only pairs that share most of their text fall that close. Dedup also asks
# ``titles_agree`` and ``authors_agree`` before merging.
NEAR_DUPLICATE_DISTANCE = 6
# Finding the stored hashes within that distance of a new one, with equality lookups an index
# answers. The 64 bits are cut into 4 bands of 16 bits, one row per band per article: two hashes
# within distance 7 differ by at most one bit in some band (4 bands of 2 or more would be 8), so
# looking up each band's value and its 16 one-bit neighbours (68 index probes) finds every stored
# hash within 6, and an unrelated hash with probability 68 / 2^16, about 0.1% of the archive.
# Measured (bench/dedup_candidates.py: rows read per lookup; rows stored per article):
#                                          random 100k   10k generated texts   test sites
#   7 bands of 9-10 bits, exact (to 0011)    1.27%, 7         1.33%               6.5%
#   28 keys of two 8-bit blocks (Manku)      0.043%, 28       0.045%              2.4%
#   4 bands of 16 bits, 1-bit probes (this)  0.104%, 4        0.108%              2.5%
# (the test sites' news articles are composed from shared pools of sentences, so they resemble
# each other far more than real articles do; every pair within 6 there was found by all three).
# The block pairs read less than half as many rows but store seven times as many. At 100k
# articles a lookup reads ~100 band rows; ``save_batch`` checks the distance on the narrow
# ``(id, simhash)`` index before it reads an article. Still linear in the archive: at millions of
# articles, bound the lookup by date or widen the bands.
SIMHASH_BANDS = 4
SIMHASH_BITS = 64

_MASK64 = (1 << SIMHASH_BITS) - 1
_SHINGLE_WORDS = 3
_BLAKE2B_64 = partial(hashlib.blake2b, digest_size=8)
_ONE_BIT_BYTES = tuple(bytes([1 << bit]) for bit in range(8))
_APOSTROPHES = frozenset("'’‘ʼ`´")
_SEPARATORS = "-‐‑‒–—―|¦:·•»"
_SITE_SUFFIX = re.compile(
    rf"\s+[{re.escape(_SEPARATORS)}]\s+(?P<suffix>[^{re.escape(_SEPARATORS)}]{{1,40}})$"
)
_SUFFIX_MAX_WORDS = 4
_TITLE_JACCARD = 0.6
_BYLINE = re.compile(r"^(?:(?:written|posted|words|text|story)\s+)?by\s+")
_AUTHOR_LIST = re.compile(r"\s+(?:and|&)\s+|\s*[;/]\s*")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "dr", "prof"})
_PLACEHOLDER_AUTHORS = frozenset(
    {"admin", "administrator", "editor", "editors", "staff", "guest", "anonymous", "unknown"}
)


class _PunctuationTable(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each character.

    Apostrophes and invisible format characters (soft hyphens, zero-width spaces) vanish, so
    "Kropotkin’s" and "Kropotkin's" agree; other punctuation and symbols become a space, so
    "word—word" and "word — word" agree; everything else maps to itself.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        category = unicodedata.category(char)
        if char in _APOSTROPHES or category == "Cf":
            value = ""
        elif category[0] in "PS":
            value = " "
        else:
            value = char
        self[code] = value
        return value


_PUNCTUATION = _PunctuationTable()


def text_for_hashing(text: str) -> str:
    """Casefolded NFKC words without punctuation, quotes or symbols, single-spaced."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_PUNCTUATION)
    # Normalise again: casefolding and dropped characters can leave uncomposed sequences.
    return " ".join(unicodedata.normalize("NFKC", folded).split())


def content_hash(text: str) -> str:
    """SHA-256 (hex) of ``text_for_hashing(text)``: equal for typographic variants."""
    return hashlib.sha256(text_for_hashing(text).encode()).hexdigest()


def simhash(text: str) -> int:
    """64-bit SimHash of the text's word 3-shingles, as a signed int (a PostgreSQL BIGINT).

    Texts of fewer than three words hash as one shingle; the empty text hashes to 0.
    """
    return _to_signed(_majority_bits(_shingle_digests(text_for_hashing(text))))


def _shingle_digests(normalised: str) -> bytes:
    """The 8-byte BLAKE2b digest of every shingle occurrence, concatenated.

    A shingle that occurs n times contributes n digests, which weights it by its count.
    """
    words = normalised.encode().split()
    if len(words) < _SHINGLE_WORDS:
        return _BLAKE2B_64(b" ".join(words)).digest() if words else b""
    shingles = map(b" ".join, zip(words, words[1:], words[2:], strict=False))
    return b"".join([_BLAKE2B_64(shingle).digest() for shingle in shingles])


def _majority_bits(digests: bytes) -> int:
    """The big-endian 64-bit value whose bit is set where most digests have it set.

    Byte k of every digest, read as one big int, holds a whole column; masking one bit of each
    byte and calling ``int.bit_count`` tallies that bit over all digests at C speed.
    """
    count = len(digests) // 8
    lanes = [int.from_bytes(bit * count, "big") for bit in _ONE_BIT_BYTES]
    value = 0
    for byte in range(8):
        column = int.from_bytes(digests[byte::8], "big")
        for bit, lane in enumerate(lanes):
            if 2 * (column & lane).bit_count() > count:
                value |= 1 << (8 * (7 - byte) + bit)
    return value


def _to_signed(value: int) -> int:
    return value - (1 << SIMHASH_BITS) if value >> (SIMHASH_BITS - 1) else value


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ; takes signed or unsigned values alike."""
    return ((a ^ b) & _MASK64).bit_count()


def simhash_bands(value: int, bands: int = SIMHASH_BANDS) -> tuple[int, ...]:
    """The 64 bits cut into ``bands`` non-negative ints, most significant first.

    Band widths differ by at most one bit (4 bands: 16 bits each; 7 bands: 10 bits, then 9).
    """
    if not 1 <= bands <= SIMHASH_BITS:
        raise ValueError(f"bands must be between 1 and {SIMHASH_BITS}, got {bands}")
    unsigned = value & _MASK64
    width, wider = divmod(SIMHASH_BITS, bands)
    parts = []
    shift = SIMHASH_BITS
    for index in range(bands):
        size = width + (index < wider)
        shift -= size
        parts.append((unsigned >> shift) & ((1 << size) - 1))
    return tuple(parts)


def simhash_probes(value: int) -> tuple[tuple[int, int], ...]:
    """The (band, band value) pairs to look up for the stored hashes near ``value``.

    Each band's own value and the values one bit away from it: every stored hash within
    ``NEAR_DUPLICATE_DISTANCE`` (indeed within 7) has one of its ``simhash_bands`` among them.
    """
    width = SIMHASH_BITS // SIMHASH_BANDS
    return tuple(
        (band, part ^ flip)
        for band, part in enumerate(simhash_bands(value))
        for flip in (0, *(1 << bit for bit in range(width)))
    )


def title_key(title: str | None) -> str:
    """The title casefolded, without a short trailing " – Site Name" and without punctuation."""
    if not title:
        return ""
    folded = unicodedata.normalize("NFKC", title).casefold().strip()
    return text_for_hashing(_strip_site_suffix(folded))


def _strip_site_suffix(title: str) -> str:
    match = _SITE_SUFFIX.search(title)
    if match is None or len(match["suffix"].split()) > _SUFFIX_MAX_WORDS:
        return title
    head = title[: match.start()]
    return head if any(char.isalnum() for char in head) else title


def titles_agree(a: str | None, b: str | None) -> bool:
    """Whether two titles name the same article: equal keys, one inside the other (as whole
    words), or token Jaccard of at least 0.6.

    An empty title agrees with nothing, and titles with different numbers ("Part 1", "Part 2")
    disagree however much else they share.
    """
    key_a, key_b = title_key(a), title_key(b)
    if not key_a or not key_b:
        return False
    tokens_a, tokens_b = set(key_a.split()), set(key_b.split())
    numbers_a, numbers_b = _numbers(tokens_a), _numbers(tokens_b)
    if numbers_a and numbers_b and numbers_a != numbers_b:
        return False
    if f" {key_a} " in f" {key_b} " or f" {key_b} " in f" {key_a} ":
        return True
    return len(tokens_a & tokens_b) >= _TITLE_JACCARD * len(tokens_a | tokens_b)


def _numbers(tokens: set[str]) -> set[str]:
    return {token for token in tokens if token.isdigit()}


def authors_agree(a: str | None, b: str | None) -> bool:
    """Whether two bylines share a surname. A missing byline (or "admin") never disagrees."""
    surnames_a, surnames_b = _surnames(a), _surnames(b)
    if not surnames_a or not surnames_b:
        return True
    return not surnames_a.isdisjoint(surnames_b)


def _surnames(byline: str | None) -> frozenset[str]:
    """Surnames in "By Milan Djurasovic", "M. Djurasovic", "DJURASOVIC, Milan", "A and B"."""
    if not byline:
        return frozenset()
    text = _strip_accents(byline).casefold().strip()
    text = _BYLINE.sub("", re.sub(r"\([^)]*\)", " ", text))
    if text in _PLACEHOLDER_AUTHORS:
        return frozenset()
    names: list[list[str]] = []
    for piece in _AUTHOR_LIST.split(text):
        names.extend(_names_in(piece))
    return frozenset(name[-1] for name in names if name)


def _names_in(piece: str) -> list[list[str]]:
    """The names in one piece of a byline, each a list of words, surname last.

    One comma after a single word is "Surname, Given"; other commas separate names.
    """
    parts = [_name_words(part) for part in piece.split(",")]
    if len(parts) == 2 and len(parts[0]) == 1:
        return [parts[0]]
    return parts


def _name_words(name: str) -> list[str]:
    """Words of a name without initials and suffixes such as "Jr." or "PhD"."""
    words = _NAME_WORD.findall(name)
    return [word for word in words if len(word) > 1 and word not in _NAME_SUFFIXES]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
