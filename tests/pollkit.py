"""Helpers the feed poller tests share: config and database for some sources, a quiet poller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from aggregator.config import Config, load_config
from aggregator.poll import Poller, PollSettings, SourceResult
from aggregator.poll.collect import CollectSettings
from aggregator.storage import Database, open_database
from aggregator.storage.models import FetchState, Run, Source

WriteConfig = Callable[..., Path]
Now = Callable[[], datetime]


class Clock:
    """A settable clock: tests move it on instead of waiting."""

    def __init__(self, now: datetime = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advanced(self, by: timedelta) -> Clock:
        return Clock(self.now + by)


@dataclass
class PollEnv:
    config: Config
    database: Database

    def poller(
        self, clock: Now | None = None, client: httpx.Client | None = None, **settings: Any
    ) -> Poller:
        """A poller with no pause between requests and no jitter (tests check exact times)."""
        collect = settings.pop("collect", CollectSettings())
        options = PollSettings(**{"host_delay": 0.0, "workers": 2, "collect": collect, **settings})
        return Poller(
            self.database,
            self.config,
            settings=options,
            client=client,
            clock=clock,
            jitter=lambda: timedelta(0),
        )

    def poll(self, *names: str, clock: Now | None = None, **options: Any) -> list[SourceResult]:
        with self.poller(clock) as poller:
            return poller.poll(names, **options)

    def one(self, name: str, **options: Any) -> SourceResult:
        """Poll one source; its (poll) result."""
        return self.poll(name, **options)[0]

    def count(self, model: type, *where: Any) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def state(self, name: str) -> FetchState:
        with self.database.session() as session:
            query = select(FetchState).join(Source).where(Source.name == name)
            return session.scalars(query).one()

    def runs(self, name: str) -> list[Run]:
        with self.database.session() as session:
            query = select(Run).join(Source).where(Source.name == name).order_by(Run.id)
            return list(session.scalars(query))


@contextmanager
def poll_env(
    write_config: WriteConfig, database_url: str, sources: dict[str, dict[str, Any]]
) -> Iterator[PollEnv]:
    """Config with these sources (``homepage`` defaults to the feed's site) and its database."""
    for source in sources.values():
        if "homepage" not in source:
            feed = source["feed"]
            source["homepage"] = feed.split("/", 3)[0] + "//" + feed.split("/", 3)[2] + "/"
    path = write_config({"database": {"url": database_url}, "sources": sources})
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    try:
        yield PollEnv(config, database)
    finally:
        database.close()
