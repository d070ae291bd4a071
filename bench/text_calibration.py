"""How alike the archive benchmark's synthetic prose is to real prose, for text indexes.

``python -m bench.text_calibration [--postgres-url URL] [--count 300]`` reads that many article
bodies of 500 to 2,500 words from the development corpus (``../shared/corpus``) and as many
synthetic articles (``bench.archive_data``), stores each set in a scratch PostgreSQL table and
prints, per set: bytes per running word, the text's stored (compressed) size over its bytes, the
``english`` tsvector's size over the text's bytes, distinct stems per running word, and indexed
(non-stop) words per running word. The URL defaults to ``$MUTUALAID_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Sequence

import psycopg

from bench import archive_data

_STATS = """
SELECT avg(octet_length(body)), avg(pg_column_size(body)), avg(pg_column_size(vector)),
       avg(length(vector)), avg(array_length(regexp_split_to_array(body, '\\s+'), 1)),
       avg((SELECT sum(coalesce(array_length(positions, 1), 0)) FROM unnest(vector)))
FROM {table}
"""


def measure(url: str, texts: Sequence[str]) -> dict[str, float]:
    """The figures of ``texts`` (see the module's docstring), from a scratch table."""
    table = f"text_calibration_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {table} (body text, vector tsvector)")
        try:
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} (body) VALUES (%s)", [(t,) for t in texts])
            connection.execute(f"UPDATE {table} SET vector = to_tsvector('english', body)")
            row = connection.execute(_STATS.format(table=table)).fetchone()
        finally:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    assert row is not None
    size, stored, vector, stems, words, indexed = (float(value) for value in row)
    return {
        "bytes per word": size / words,
        "stored / bytes": stored / size,
        "tsvector / bytes": vector / size,
        "stems per word": stems / words,
        "indexed per word": indexed / words,
        "words": words,
    }


def real_texts(count: int) -> list[str]:
    from tests import shared_corpus

    if not shared_corpus.corpus_available():
        raise SystemExit(f"no corpus at {shared_corpus.ARCHIVE}")
    bodies = [
        page.body
        for page in shared_corpus.load_pages()
        if page.kind == "article" and 500 <= len(page.body.split()) <= 2500
    ]
    random.Random(1).shuffle(bodies)
    return bodies[:count]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.text_calibration", description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("MUTUALAID_TEST_POSTGRES_URL"))
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args(argv)
    if not args.postgres_url:
        raise SystemExit("needs PostgreSQL: --postgres-url or $MUTUALAID_TEST_POSTGRES_URL")
    synthetic = [archive_data.synthetic(number).text() for number in range(args.count)]
    for name, texts in (("real", real_texts(args.count)), ("synthetic", synthetic)):
        figures = measure(args.postgres_url, texts)
        print(f"{name}: " + ", ".join(f"{key} {value:.3f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
