"""How many stored rows a near-duplicate lookup reads, for the banding in use and its rivals.

A stored article leaves ``keys`` rows (band, value) in ``simhash_bands``; a new one looks up
``probes``; every stored row equal to a probe is read, and its article becomes a suspect whose
distance ``save_batch`` checks. For random hashes (a fair model of unrelated texts), for real
SimHashes of generated texts, and for the local test sites (whose news articles are composed from
shared pools of sentences, so they resemble each other more than real ones do), this reports
the rows read per lookup and the rows stored per article, so the choice in
``aggregator.fingerprints`` can be checked against the archive sizes that matter:

    python -m bench.dedup_candidates --sizes 10000 100000 --texts 10000 [--json]

``rows_read`` is reusable by the archive benchmark: give it the stored SimHashes and the new
ones.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from aggregator.fingerprints import NEAR_DUPLICATE_DISTANCE, hamming, simhash, simhash_probes
from aggregator.fingerprints import simhash_bands as simhash_bands_in_use

Key = tuple[int, int]


@dataclass(frozen=True)
class Scheme:
    name: str
    keys: Callable[[int], Iterable[Key]]  # the rows a stored hash leaves
    probes: Callable[[int], Iterable[Key]]  # the rows a new hash looks up


def _exact_bands(count: int) -> Callable[[int], tuple[Key, ...]]:
    def keys(value: int) -> tuple[Key, ...]:
        return tuple(enumerate(simhash_bands_in_use(value, count)))

    return keys


def _block_pairs(value: int) -> tuple[Key, ...]:
    """Manku's scheme for distance 6: 8 blocks of 8 bits, any two of them as one 16-bit key."""
    blocks = simhash_bands_in_use(value, 8)
    pairs = itertools.combinations(range(8), 2)
    return tuple((key, blocks[i] << 8 | blocks[j]) for key, (i, j) in enumerate(pairs))


def _in_use_keys(value: int) -> tuple[Key, ...]:
    return tuple(enumerate(simhash_bands_in_use(value)))


SCHEMES = (
    Scheme("7 bands exact (before 0011)", _exact_bands(7), _exact_bands(7)),
    Scheme("28 block pairs exact", _block_pairs, _block_pairs),
    Scheme("4 bands, 1-bit probes (in use)", _in_use_keys, simhash_probes),
)


@dataclass(frozen=True)
class Figures:
    archive: str
    stored: int
    scheme: str
    rows_per_article: int
    probes_per_lookup: int
    rows_read_mean: float
    rows_read_median: float
    rows_read_max: int
    share_of_archive: float  # rows read per lookup / articles stored
    near_found: int  # stored hashes within the distance of a lookup, found by its probes
    near_total: int  # stored hashes within the distance of a lookup, by brute force


def rows_read(scheme: Scheme, stored: Sequence[int], lookups: Sequence[int]) -> list[int]:
    """For each of ``lookups``, how many stored rows its probes match."""
    counts = Counter(key for value in stored for key in scheme.keys(value))
    return [sum(counts[probe] for probe in set(scheme.probes(value))) for value in lookups]


def measure(archive: str, scheme: Scheme, stored: Sequence[int], lookups: Sequence[int]) -> Figures:
    read = rows_read(scheme, stored, lookups)
    found, total = _recall(scheme, stored, lookups[:200])
    return Figures(
        archive=archive,
        stored=len(stored),
        scheme=scheme.name,
        rows_per_article=len(tuple(scheme.keys(0))),
        probes_per_lookup=len(set(scheme.probes(0))),
        rows_read_mean=round(statistics.fmean(read), 2),
        rows_read_median=statistics.median(read),
        rows_read_max=max(read),
        share_of_archive=round(statistics.fmean(read) / len(stored), 6),
        near_found=found,
        near_total=total,
    )


def _recall(scheme: Scheme, stored: Sequence[int], lookups: Sequence[int]) -> tuple[int, int]:
    """Near pairs (within the distance) among ``lookups`` x ``stored``, and how many share a
    probe."""
    keys = {value: set(scheme.keys(value)) for value in stored}
    found = total = 0
    for value in lookups:
        probes = set(scheme.probes(value))
        for other in stored:
            if other != value and hamming(value, other) <= NEAR_DUPLICATE_DISTANCE:
                total += 1
                found += bool(probes & keys[other])
    return found, total


def random_hashes(count: int, seed: int) -> list[int]:
    draw = random.Random(seed)
    return [draw.getrandbits(64) for _ in range(count)]


def _flipped(value: int, bits: int, seed: int) -> int:
    """``value`` with ``bits`` distinct random bits flipped."""
    for bit in random.Random(seed).sample(range(64), bits):
        value ^= 1 << bit
    return value


def generated_texts(count: int, seed: int) -> Iterable[str]:
    """Texts of 500 to 2,000 words, from one vocabulary with a Zipf-like spread of word use,
    and sentences drawn from a shared pool (as texts on one topic repeat phrases)."""
    draw = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(20_000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    sentences = [
        " ".join(draw.choices(vocabulary, weights, k=draw.randrange(8, 25))) for _ in range(20_000)
    ]
    for _ in range(count):
        words: list[str] = []
        target = draw.randrange(500, 2001)
        while len(words) < target:
            words.extend(draw.choice(sentences).split())
        yield " ".join(words)


def site_texts() -> list[str]:
    """The body texts of the local test sites (tests/sites), with 2,000 extra news articles."""
    from tests.sites.content import load_drafts
    from tests.sites.synth import base_synthetic_news, extra_news

    taken: set[str] = set()
    articles = [*load_drafts("blog"), *load_drafts("news"), *base_synthetic_news(taken)]
    articles.extend(extra_news(2000, seed=16, taken=taken))
    return [article.text for article in articles]


def _leave_one_out(archive: str, texts: Sequence[str]) -> list[Figures]:
    """Each text looked up among all of them; its own rows are not counted."""
    hashes = [simhash(text) for text in texts]
    figures = []
    for scheme in SCHEMES:
        read = rows_read(scheme, hashes, hashes)
        own = len(set(scheme.probes(0)) & set(scheme.keys(0)))  # a hash matches its own rows
        stats = measure(archive, scheme, hashes, hashes)
        mean = statistics.fmean(value - own for value in read)
        figures.append(
            Figures(**{**asdict(stats), "rows_read_mean": round(mean, 2),
                       "rows_read_median": statistics.median(v - own for v in read),
                       "rows_read_max": max(read) - own,
                       "share_of_archive": round(mean / len(hashes), 6)})
        )  # fmt: skip
    return figures


def run(sizes: Sequence[int], texts: int, lookups: int) -> list[Figures]:
    figures = []
    for size in sizes:
        stored = random_hashes(size, seed=size)
        new = random_hashes(lookups, seed=size + 1)
        figures.extend(measure(f"random {size}", scheme, stored, new) for scheme in SCHEMES)
    if sizes:  # copies of stored hashes with up to the distance's bits flipped: all found?
        stored = random_hashes(sizes[0], seed=7)
        copies = [_flipped(value, index % (NEAR_DUPLICATE_DISTANCE + 1), seed=index)
                  for index, value in enumerate(stored[:lookups])]  # fmt: skip
        figures.extend(measure("near copies", scheme, stored, copies) for scheme in SCHEMES)
    if texts:
        hashes = [simhash(text) for text in generated_texts(texts + lookups, seed=16)]
        stored, new = hashes[:texts], hashes[texts:]
        figures.extend(measure(f"texts {texts}", scheme, stored, new) for scheme in SCHEMES)
    figures.extend(_leave_one_out("test sites", site_texts()))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--texts", type=int, default=10_000, help="stored generated texts")
    parser.add_argument("--lookups", type=int, default=1_000, help="new hashes looked up")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    for figure in run(args.sizes, args.texts, args.lookups):
        if args.json:
            print(json.dumps(asdict(figure)))
        else:
            print(
                f"{figure.archive:>14} {figure.scheme:<32}"
                f" rows/article {figure.rows_per_article:>2}"
                f"  probes {figure.probes_per_lookup:>3}  read mean {figure.rows_read_mean:>9}"
                f"  max {figure.rows_read_max:>6}  ({figure.share_of_archive:.4%} of archive)"
                f"  near found {figure.near_found}/{figure.near_total}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
