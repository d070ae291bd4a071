"""Fixtures of the hostile-feed tests: a scripted feed server, a canary, a poll environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedserver import ScriptedServer
from tests.hostilefeeds import (
    SECRET,
)
from tests.pollkit import PollEnv, poll_env


@pytest.fixture
def canary() -> Iterator[ScriptedServer]:
    """A server nothing may ever ask: external entities and DTDs point at it."""
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return str(path)


@pytest.fixture
def env(write_config, sqlite_url, server: ScriptedServer) -> Iterator[PollEnv]:
    sources = {
        "site": {"feed": server.url("/feed/"), "relevance": "keep_all"},
        "other": {"feed": server.url("/other/"), "relevance": "keep_all"},
    }
    with poll_env(write_config, sqlite_url, sources) as environment:
        yield environment
