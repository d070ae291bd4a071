"""Column types shared by the models."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL keeps it as ``timestamptz``; SQLite, which has no time zones, gets naive UTC text.
    Naive datetimes are refused on the way in: they are a bug in whoever made them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# zlib's level for stored HTML: see ``CompressedText``.
HTML_COMPRESSION_LEVEL = 6


class CompressedText(TypeDecorator[str]):
    """Text that SQLite keeps zlib-compressed, as a BLOB in its TEXT column (``articles.html``).

    SQLite stores any value in any column and never compresses; PostgreSQL compresses long
    values itself (TOAST), so it gets the text as it is. A value whose compressed form is not
    smaller (a short one) stays text. Reading takes either: a TEXT value (stored before
    migration 0023, or by hand) comes back as it is, a BLOB decompressed, so the column may hold
    both at once. SQL that reads the column must read it through this type (the ORM, or Core
    with the model's column), never as raw text.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        if value is None or dialect.name != "sqlite":
            return value
        return compress_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decompress_text(value)


def compress_text(value: str) -> str | bytes:
    """``value`` zlib-compressed, or itself when that is not smaller."""
    encoded = value.encode("utf-8")
    packed = zlib.compress(encoded, HTML_COMPRESSION_LEVEL)
    return packed if len(packed) < len(encoded) else value


def decompress_text(value: str | bytes) -> str:
    """A value ``compress_text`` made, as text (one it left as text is returned as it is)."""
    return zlib.decompress(value).decode("utf-8") if isinstance(value, bytes) else value
