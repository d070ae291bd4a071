"""Dedup fingerprints: normalised text, content hash, SimHash, its bands, title and author keys."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.fingerprints import (
    NEAR_DUPLICATE_DISTANCE,
    SIMHASH_BANDS,
    authors_agree,
    content_hash,
    hamming,
    simhash,
    simhash_bands,
    simhash_probes,
    text_for_hashing,
    title_key,
    titles_agree,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
WORDS = st.lists(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), min_size=1, max_size=40)


def reference_simhash(text: str) -> int:
    """SimHash the slow, obvious way: +1/-1 per bit for each shingle occurrence."""
    words = text_for_hashing(text).split()
    if len(words) < 3:
        shingles = Counter([" ".join(words)] if words else [])
    else:
        shingles = Counter(" ".join(words[i : i + 3]) for i in range(len(words) - 2))
    totals = [0] * 64
    for shingle, count in shingles.items():
        digest = hashlib.blake2b(shingle.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        for bit in range(64):
            totals[bit] += count if value >> bit & 1 else -count
    unsigned = sum(1 << bit for bit in range(64) if totals[bit] > 0)
    return unsigned - 2**64 if unsigned >= 2**63 else unsigned


def essay(seed: int, words: int = 1500) -> list[str]:
    """Deterministic word salad in paragraphs of 100 words."""
    rng = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(2000)] + ["the", "of", "and", "a", "to"] * 100
    text = [rng.choice(vocabulary) for _ in range(words)]
    return [" ".join(text[i : i + 100]) for i in range(0, words, 100)]


# --- text_for_hashing and content_hash --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Mutual   Aid\n\n", "mutual aid"),
        ("“Mutual aid,” he said—“not charity.”", "mutual aid he said not charity"),
        ("Kropotkin’s and Kropotkin's and Kropotkinʼs", "kropotkins and kropotkins and kropotkins"),
        ("STRASSE Straße", "strasse strasse"),
        ("ﬁne ｆｕｌｌ ①", "fine full 1"),
        ("co\u00adoperative\u200b", "cooperative"),
        ("mutual-aid … 50% → £5", "mutual aid 50 5"),
        ("Élisée Reclus", "élisée reclus"),
        ("", ""),
        ("— ! ?", ""),
    ],
)
def test_text_for_hashing(text: str, expected: str) -> None:
    assert text_for_hashing(text) == expected


def test_content_hash_is_sha256_of_the_normalised_text() -> None:
    assert content_hash("Mutual  AID!") == hashlib.sha256(b"mutual aid").hexdigest()


_SEPARATORS = st.sampled_from(
    [" ", "  ", "\n", "\n\n", "\t", " — ", ", ", "… ", " “", "” ", "\u00a0"]
)


@settings(max_examples=50)
@given(words=WORDS, data=st.data())
def test_hashes_ignore_typography(words: list[str], data: st.DataObject) -> None:
    plain = " ".join(words)
    pieces = []
    for word in words:
        casing = data.draw(st.sampled_from([str.lower, str.upper, str.title]))
        pieces.append(casing(word) + data.draw(_SEPARATORS))
    styled = data.draw(_SEPARATORS) + "".join(pieces)
    assert text_for_hashing(styled) == plain
    assert content_hash(styled) == content_hash(plain)
    assert simhash(styled) == simhash(plain)


@given(text=st.text())
def test_text_for_hashing_is_idempotent(text: str) -> None:
    once = text_for_hashing(text)
    assert text_for_hashing(once) == once


# --- simhash ----------------------------------------------------------------------------------


def test_simhash_golden_values() -> None:
    """Stored hashes must not change between versions: these pin the algorithm."""
    assert simhash("") == 0
    assert simhash("Mutual aid is a factor of evolution.") == reference_simhash(
        "mutual aid is a factor of evolution"
    )
    one_word = int.from_bytes(hashlib.blake2b(b"kropotkin", digest_size=8).digest(), "big")
    assert simhash("Kropotkin") == (one_word - 2**64 if one_word >= 2**63 else one_word)
    assert simhash("Mutual aid is a factor of evolution.") == 8136425175934971866


@settings(max_examples=50)
@given(text=st.text(max_size=400) | WORDS.map(" ".join))
def test_simhash_matches_the_reference(text: str) -> None:
    assert simhash(text) == reference_simhash(text)


@given(text=st.text(max_size=200))
def test_simhash_is_a_signed_64_bit_int(text: str) -> None:
    assert -(2**63) <= simhash(text) < 2**63


def test_repeated_shingles_weigh_by_count() -> None:
    assert simhash("a b c " * 5 + "d e f") == reference_simhash("a b c " * 5 + "d e f")
    assert simhash("a b c a b c a b c x") != simhash("a b c x")


def test_near_duplicates_fall_within_the_threshold() -> None:
    paragraphs = essay(1)
    site_a = ["Share this: Facebook Twitter Email", *paragraphs, "Related posts"]
    site_b = ["Home / Activism", *paragraphs, "Subscribe to our newsletter"]
    assert hamming(simhash("\n".join(site_a)), simhash("\n".join(site_b))) <= (
        NEAR_DUPLICATE_DISTANCE
    )
    for seed in range(2, 12):
        other = simhash("\n".join(essay(seed)))
        assert hamming(simhash("\n".join(paragraphs)), other) > 2 * NEAR_DUPLICATE_DISTANCE


# --- hamming and bands ------------------------------------------------------------------------


@given(a=INT64, b=INT64)
def test_hamming_is_a_metric_on_signed_values(a: int, b: int) -> None:
    assert hamming(a, a) == 0
    assert hamming(a, b) == hamming(b, a)
    assert 0 <= hamming(a, b) <= 64
    assert hamming(a, b) == hamming(a % 2**64, b % 2**64)
    assert (hamming(a, b) == 0) == (a == b)


@pytest.mark.parametrize(
    ("a", "b", "distance"), [(0, 0, 0), (0, 1, 1), (0, -1, 64), (-(2**63), 0, 1), (5, 6, 2)]
)
def test_hamming_examples(a: int, b: int, distance: int) -> None:
    assert hamming(a, b) == distance


@pytest.mark.parametrize(
    ("value", "bands", "expected"),
    [
        (-1, 4, (0xFFFF,) * 4),
        (0x0123_4567_89AB_CDEF, 4, (0x0123, 0x4567, 0x89AB, 0xCDEF)),
        (-1, 7, (2**10 - 1,) + (2**9 - 1,) * 6),
        (2**63, 1, (2**63,)),
        (-(2**63), 2, (2**31, 0)),
    ],
)
def test_simhash_bands_examples(value: int, bands: int, expected: tuple[int, ...]) -> None:
    assert simhash_bands(value, bands) == expected


def test_default_bands_are_four_of_sixteen_bits() -> None:
    assert SIMHASH_BANDS == 4
    assert simhash_bands(0x0123_4567_89AB_CDEF) == (0x0123, 0x4567, 0x89AB, 0xCDEF)


def test_probes_are_each_band_and_its_one_bit_neighbours() -> None:
    probes = simhash_probes(0x0123_4567_89AB_CDEF)
    assert len(probes) == len(set(probes)) == 4 * 17
    assert probes[:3] == ((0, 0x0123), (0, 0x0122), (0, 0x0121))
    assert (3, 0xCDEF ^ 0x8000) in probes and (3, 0xCDEF ^ 0x0003) not in probes


def _with_flips(value: int, flips: set[int]) -> int:
    other = value ^ sum(1 << bit for bit in flips)
    return other - 2**64 if other >= 2**63 else other


@given(value=INT64, data=st.data())
def test_probes_find_every_hash_within_the_distance(value: int, data: st.DataObject) -> None:
    """4 bands each 2 or more bits apart make 8: within 7, some band is at most 1 bit away."""
    flips = data.draw(st.sets(st.integers(0, 63), max_size=NEAR_DUPLICATE_DISTANCE + 1))
    other = _with_flips(value, flips)
    assert hamming(value, other) == len(flips) <= 7
    stored = set(enumerate(simhash_bands(other)))
    assert stored & set(simhash_probes(value))


def test_probes_miss_a_hash_two_bits_off_in_every_band() -> None:
    """What the probes cannot see: eight bits, two in each band (beyond the distance)."""
    other = _with_flips(0, {0, 1, 16, 17, 32, 33, 48, 49})
    assert not set(enumerate(simhash_bands(other))) & set(simhash_probes(0))


@pytest.mark.parametrize("bands", [0, 65, -1])
def test_simhash_bands_rejects_impossible_counts(bands: int) -> None:
    with pytest.raises(ValueError, match="bands"):
        simhash_bands(0, bands)


@given(value=INT64, bands=st.integers(min_value=1, max_value=64))
def test_bands_are_non_negative_and_rebuild_the_value(value: int, bands: int) -> None:
    parts = simhash_bands(value, bands)
    assert len(parts) == bands and all(part >= 0 for part in parts)
    widths = [64 // bands + (i < 64 % bands) for i in range(bands)]
    rebuilt = 0
    for part, width in zip(parts, widths, strict=True):
        assert part < 2**width
        rebuilt = rebuilt << width | part
    assert rebuilt == value % 2**64


@given(
    value=INT64,
    bands=st.sampled_from([4, 7, 8, 16]),
    data=st.data(),
)
def test_close_hashes_share_a_band(value: int, bands: int, data: st.DataObject) -> None:
    """Pigeonhole: flipping fewer bits than there are bands leaves one band untouched."""
    flips = data.draw(st.sets(st.integers(0, 63), max_size=bands - 1))
    other = value ^ sum(1 << bit for bit in flips)
    other = other - 2**64 if other >= 2**63 else other
    assert hamming(value, other) == len(flips)
    assert any(
        x == y
        for x, y in zip(simhash_bands(value, bands), simhash_bands(other, bands), strict=True)
    )


# --- titles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("Mutual Aid in Wayanad – Countercurrents", "mutual aid in wayanad"),
        ("What Kropotkin Saw | Peter Kropotkin", "what kropotkin saw"),
        ("Flood Kitchens - The Site", "flood kitchens"),
        ("Solidarity, Not Charity : Freedom News", "solidarity not charity"),
        ("Mutual Aid: A Factor of Evolution", "mutual aid a factor of evolution"),
        (
            "Kropotkin - The Prince Who Became an Anarchist",
            "kropotkin the prince who became an anarchist",
        ),
        ("Co-ops — a long history of workers' control", "co ops a long history of workers control"),
        ("  “Mutual  Aid” Isn’t Charity ", "mutual aid isnt charity"),
        ("– Countercurrents", "countercurrents"),
        (None, ""),
        ("", ""),
    ],
)
def test_title_key(title: str | None, key: str) -> None:
    assert title_key(title) == key


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("Mutual Aid in Wayanad – Countercurrents", "Mutual aid in Wayanad", True),
        ("The Flood Kitchens of Wayanad", "Flood kitchens of Wayanad | Freedom", True),
        (
            "Flood kitchens of Wayanad",
            "The flood kitchens of Wayanad, Kerala, after the rains",
            True,
        ),
        ("What Kropotkin saw in Siberia", "What Kropotkin Really Saw in Siberia", True),
        ("What Kropotkin saw in Siberia", "What Kropotkin Saw in the Siberian Winter", False),
        ("Mutual aid roundup: week 12", "Mutual aid roundup: week 13", False),
        ("Rent strikes and tenant unions", "Seed libraries and the village commons", False),
        ("Mutual aid", "Kropotkin", False),
        ("", "", False),
        (None, "Mutual aid", False),
        ("— | —", "— | —", False),
    ],
)
def test_titles_agree(a: str | None, b: str | None, agree: bool) -> None:
    assert titles_agree(a, b) is agree
    assert titles_agree(b, a) is agree


@given(title=st.text(max_size=80))
def test_a_title_agrees_with_itself_unless_empty(title: str) -> None:
    assert titles_agree(title, title) is bool(title_key(title))


# --- authors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("By Milan Djurasovic", "Milan Djurasovic", True),
        ("M. Djurasovic", "DJURASOVIC, Milan", True),
        ("by milan djurasović", "Milan Djurasovic (Countercurrents)", True),
        ("Written by Ursula K. Le Guin", "Le Guin, Ursula K.", True),
        ("Alice Smith and Bob Jones", "Jones, Bob", True),
        ("Alice Smith, Bob Jones & Carol Wu", "C. Wu", True),
        ("Martin Luther King Jr.", "M. L. King", True),
        ("By Milan Djurasovic", "Leila Haddad", False),
        ("Peter Kropotkin", "Pyotr Kropotkine", False),
        (None, "Leila Haddad", True),
        ("", "Leila Haddad", True),
        ("admin", "Leila Haddad", True),
        ("By Staff", "Leila Haddad", True),
    ],
)
def test_authors_agree(a: str | None, b: str | None, agree: bool) -> None:
    assert authors_agree(a, b) is agree
    assert authors_agree(b, a) is agree
