"""Shared fixtures: configs in temporary folders, databases (SQLite always, PostgreSQL when asked),
the CLI run in-process, and the local test sites (tests/sites)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from aggregator.cli import main
from aggregator.storage.engine import make_engine
from tests.feedserver import ScriptedServer

pytest_plugins = ["tests.sites.fixtures"]

POSTGRES_ENV = "MUTUALAID_TEST_POSTGRES_URL"
REDIS_ENV = "MUTUALAID_TEST_REDIS_URL"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own config or database by accident."""
    monkeypatch.delenv("MUTUALAID_CONFIG", raising=False)
    monkeypatch.delenv("MUTUALAID_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'mutualaid.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    with _fresh_schema() as url:
        yield url


@pytest.fixture
def another_postgres_url() -> Iterator[str]:
    """A second fresh schema in the same PostgreSQL database (a second instance beside it)."""
    with _fresh_schema() as url:
        yield url


@contextmanager
def _fresh_schema() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        _unaccent_in_public(connection)
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _unaccent_in_public(connection: Connection) -> None:
    """The ``unaccent`` extension in ``public``, once for the database, so that migration 0021
    finds it there: created in a test's own schema, that schema's drop (CASCADE) would take it
    and, with it, the search configuration and column of every other test running beside it.
    A server without it leaves the migration to fall back (plain English)."""
    try:
        with connection.begin_nested():
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('unaccent'))"))
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"))
    except DBAPIError:
        pass


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite, and again on PostgreSQL when one is configured."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path, sqlite_url: str) -> WriteConfig:
    """Write a config file (a dict, or raw text) into the test's folder and return its path."""

    def write(content: dict[str, object] | str | None = None, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
            return path
        # The local test sites live on 127.0.0.1: fetching them needs the private-address opt-in.
        data = {"database": {"url": sqlite_url}, "network": {"allow_private": True}, "sources": {}}
        data.update(content or {})
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``mutualaid ARGS...`` in this process, as the console script would."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A local HTTP server the test scripts route by route (feeds, pages, errors)."""
    with ScriptedServer() as scripted:
        yield scripted
