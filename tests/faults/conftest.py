"""Fixtures of the fault tests: sites, pollers and daemons to break."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aggregator.config import load_config
from aggregator.storage import open_database
from tests.badserver import BadServer
from tests.faultkit import (
    LoggedDaemon,
)
from tests.pollkit import PollEnv


@pytest.fixture
def counter_db(sqlite_url: str) -> str:
    """A migrated SQLite file with a table of numbers that must count up without gaps."""
    database = open_database(sqlite_url)
    with database.write_session() as session:
        session.execute(text("CREATE TABLE counter (n INTEGER PRIMARY KEY)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))
    database.close()
    return sqlite_url


@pytest.fixture
def blog_daemon_config(write_config, tmp_path, blog_site) -> Path:
    """The blog polled every 3 s, writers giving up after 1 s of waiting for the lock."""
    return write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'state' / 'daemon.db'}?timeout=1"},
            "output": {"dir": str(tmp_path / "public")},
            "schedule": {
                "tick": "1s",
                "poll_interval": "3s",
                "crawl_interval": "1h",
                "jitter": "1s",
            },
            "sources": {
                "blog": {
                    "homepage": f"{blog_site.base_url}/",
                    "feed": blog_site.feed_url,
                    "relevance": "keep_all",
                }
            },
        }
    )


@pytest.fixture
def daemons(tmp_path) -> Iterator[Callable[..., LoggedDaemon]]:
    started: list[LoggedDaemon] = []

    def start(config: Path, *command: str, **env: str) -> LoggedDaemon:
        """``mutualaid -c CONFIG -v COMMAND...`` (default: ``run``), killed at teardown."""
        log = tmp_path / f"daemon-{len(started)}.log"
        daemon = LoggedDaemon(config, log, env, command or ("run",))
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


@pytest.fixture
def bad_server() -> Iterator[BadServer]:
    """A raw server whose paths hang, drip or misbehave as each test routes them."""
    with BadServer() as bad:
        yield bad


@pytest.fixture
def site_env(write_config, sqlite_url, server) -> Iterator[PollEnv]:
    """One source, "site", at the scripted server; its posts share paragraphs, so no learning."""
    path = write_config(
        {
            "database": {"url": sqlite_url},
            "extraction": {"learn_boilerplate": False},
            "sources": {
                "site": {
                    "homepage": server.url("/"),
                    "feed": server.url("/feed/"),
                    "relevance": "keep_all",
                }
            },
        }
    )
    database = open_database(load_config(path, environ={}).database.url)
    yield PollEnv(load_config(path, environ={}), database)
    database.close()


@pytest.fixture
def pg_app(postgres_url: str) -> tuple[str, str]:
    """A PostgreSQL URL whose connections carry an application name of their own, and the name:
    "restarting the server" terminates those connections only, not other tests' sessions."""
    name = f"mutualaid-fault-{uuid.uuid4().hex[:8]}"
    return f"{postgres_url}&application_name={name}", name
