"""Runs left "running" by a killed process: the next start of a crawl, ``run --once`` or the
daemon marks them failed, "interrupted", and leaves alone the runs of processes still alive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aggregator.storage import open_database
from aggregator.storage.models import Run
from aggregator.storage.running import UNOWNED_AFTER, fail_orphans, owning_runs
from aggregator.storage.sources import source_ids, sync_sources
from tests.badserver import BadServer, hang
from tests.faultkit import process_alive, query
from tests.test_crawl import FAST, repo_crawl_block
from tests.test_daemon import holds_daemon_lock, wait_for
from tests.test_storage import configured

pytestmark = pytest.mark.slow


def _config(write_config, tmp_path: Path, sources: dict[str, Any], **schedule: str) -> Path:
    """A config on a migrated database (so a test can read it from the start)."""
    url = f"sqlite:///{tmp_path / 'state' / 'runs.db'}"
    open_database(url).close()
    return write_config(
        {
            "database": {"url": url},
            "output": {"dir": str(tmp_path / "public")},
            "network": {"allow_private": True, "total_timeout": "10s"},
            "crawling": FAST,
            "schedule": {"tick": "1s",
                         "poll_interval": "1h", "crawl_interval": "1h", "jitter": "1s",
                         **schedule},
            "sources": sources,
        }
    )  # fmt: skip


def _stuck(bad_server: BadServer, enabled: bool = True) -> dict[str, Any]:
    """A source whose crawl hangs on its first listing page: it stays running until killed."""
    bad_server.route("/essays/", hang())
    return {
        "homepage": bad_server.url("/"),
        "relevance": "keep_all",
        "enabled": enabled,
        "crawl": {"start_urls": [bad_server.url("/essays/")], "article_urls": ["/essays/"]},
    }


def _crawl_runs(tmp_path: Path, source: str) -> list[tuple[object, ...]]:
    return query(
        tmp_path / "state" / "runs.db",
        "SELECT runs.status, runs.error FROM runs JOIN sources ON sources.id = runs.source_id "
        "WHERE sources.name = ? AND runs.kind = 'crawl' ORDER BY runs.id",
        source,
    )


def _wait_stuck_crawl(tmp_path: Path, bad_server: BadServer) -> None:
    wait_for(lambda: _crawl_runs(tmp_path, "stuck") == [("running", None)], 90, "its run row")
    wait_for(lambda: bool(bad_server.hits_to("/essays/")), 90, "the crawl's first request")


def _last_failure(run_cli, config: Path, source: str) -> dict[str, Any]:
    status = run_cli("-c", str(config), "status", "--json")
    assert status.code == 0, status.err
    (found,) = [s for s in json.loads(status.out)["sources"] if s["name"] == source]
    return found["last_failure"] or {}


def test_a_killed_crawl_is_marked_at_the_next_start_and_a_live_one_never(
    write_config, tmp_path, bad_server, blog_site, daemons, run_cli
) -> None:
    other = {"homepage": f"{blog_site.base_url}/", "relevance": "keep_all",
             "crawl": repo_crawl_block("peterkropotkin", blog_site.base_url)}  # fmt: skip
    config = _config(write_config, tmp_path, {"stuck": _stuck(bad_server), "other": other})
    crawl = daemons(config, "crawl", "stuck")
    _wait_stuck_crawl(tmp_path, bad_server)
    children = crawl.children()  # the crawl process, and multiprocessing's resource tracker
    assert children
    # Another crawl starting beside the live one leaves its run alone.
    assert run_cli("-c", str(config), "crawl", "other").code == 0
    assert _crawl_runs(tmp_path, "stuck") == [("running", None)]
    assert _crawl_runs(tmp_path, "other") == [("ok", None)]
    crawl.kill()  # kill -9
    wait_for(lambda: not any(map(process_alive, children)), 120, "its crawl to end with it")
    assert _crawl_runs(tmp_path, "stuck") == [("running", None)]  # nobody finished it
    config = _config(write_config, tmp_path, {"stuck": _stuck(bad_server, enabled=False),
                                               "other": other})  # fmt: skip
    once = run_cli("-c", str(config), "run", "--once")
    assert once.code == 0, once.out + once.err
    assert _crawl_runs(tmp_path, "stuck") == [("failed", "interrupted")]
    assert _last_failure(run_cli, config, "stuck")["error"] == "interrupted"
    assert _last_failure(run_cli, config, "other") == {}


def test_a_daemon_killed_mid_crawl_is_marked_when_it_starts_again(
    write_config, tmp_path, bad_server, daemons, run_cli
) -> None:
    config = _config(write_config, tmp_path, {"stuck": _stuck(bad_server)})
    first = daemons(config)
    _wait_stuck_crawl(tmp_path, bad_server)
    children = first.children()
    assert children
    first.kill()  # kill -9
    wait_for(lambda: not any(map(process_alive, children)), 120, "its crawl to end with it")
    assert _crawl_runs(tmp_path, "stuck") == [("running", None)]
    config = _config(write_config, tmp_path, {"stuck": _stuck(bad_server, enabled=False)})
    second = daemons(config)
    database = tmp_path / "state" / "runs.db"
    wait_for(lambda: holds_daemon_lock(database, second.process), 60, "the second daemon")
    wait_for(lambda: _crawl_runs(tmp_path, "stuck") == [("failed", "interrupted")], 30,
             "the killed crawl marked interrupted")  # fmt: skip
    failure = _last_failure(run_cli, config, "stuck")
    assert (failure["status"], failure["error"]) == ("failed", "interrupted")
    assert second.stop() == 0


def test_only_runs_whose_owner_is_gone_are_failed(database_url) -> None:
    """Owners by lock, on SQLite (file locks) and PostgreSQL (advisory locks)."""
    database = open_database(database_url)
    now = datetime.now(UTC)
    with database.write_session() as session:
        sync_sources(session, configured("a"), now)
    source = source_ids_of(database)["a"]

    def running(owner: str | None, started: datetime = now) -> int:
        with database.write_session() as session:
            run = Run(source_id=source, kind="crawl", status="running", started_at=started,
                      owner=owner)  # fmt: skip
            session.add(run)
            session.flush()
            return run.id

    with owning_runs(database) as gone:
        dead = running(gone)
    old_unowned = running(None, now - UNOWNED_AFTER - timedelta(minutes=1))
    recent_unowned = running(None)
    with owning_runs(database) as alive:
        live = running(alive)
        with database.write_session() as session:
            failed = fail_orphans(session, database, now)
        assert sorted(failed) == sorted([dead, old_unowned])
        with database.session() as session:
            states = dict(session.execute(select(Run.id, Run.status)).all())
    database.close()
    assert states[live] == states[recent_unowned] == "running"
    assert states[dead] == states[old_unowned] == "failed"


def source_ids_of(database) -> dict[str, int]:
    with database.session() as session:
        return source_ids(session)
