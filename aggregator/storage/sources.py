"""Keep the ``sources`` table in step with the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aggregator.config import SourceConfig
from aggregator.storage.models import Source
from aggregator.storage.upsert import upsert


def sync_sources(session: Session, sources: Mapping[str, SourceConfig], now: datetime) -> None:
    """Insert or update one row per configured source; disable rows no longer configured.

    Rows are never deleted: articles and runs keep pointing at the source they came from.
    """
    rows = [
        {
            "name": name,
            "title": source.title,
            "homepage": source.homepage,
            "feed_url": source.feed,
            "enabled": source.enabled,
            "created_at": now,
        }
        for name, source in sources.items()
    ]
    upsert(
        session,
        Source.__table__,  # type: ignore[arg-type]
        rows,
        key=["name"],
        update=["title", "homepage", "feed_url", "enabled"],
    )
    gone = update(Source).where(Source.name.not_in(list(sources))).values(enabled=False)
    session.execute(gone)


def source_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Source.name, Source.id)).all())
