"""Faults that cut work short: PostgreSQL restarting mid-run, kill -9 during a migration or a
feed build; and status saying what happened."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import event, select, text
from sqlalchemy.exc import ProgrammingError

from aggregator.config import load_config
from aggregator.daemon.work import poll_source
from aggregator.ingest import Ingestor
from aggregator.publish.manifest import ARCHIVE_MANIFEST, SHARDS
from aggregator.publish.write import MANIFEST
from aggregator.storage import migrate, open_database
from aggregator.storage.engine import make_engine
from aggregator.storage.locks import LockBusyError, advisory_key, hold_lock
from aggregator.storage.models import Article, Run
from tests.faultkit import (
    assert_well_formed,
    built_then_retitled,
    count_steps,
    integrity,
    kill_at_step,
    posts,
    query,
    snapshot,
)
from tests.feedserver import feed_response, rss_feed
from tests.pollkit import Clock, PollEnv
from tests.test_daemon import feed_size, wait_for

# --- 6. PostgreSQL restarting mid-run ------------------------------------------------------------

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def terminate_backends(admin_url: str, application_name: str) -> set[int]:
    """What a server restart does to our sessions: every one of them is cut off. Their pids."""
    admin = make_engine(admin_url)
    try:
        with admin.begin() as connection:
            ours = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :name"
                ),
                {"name": application_name},
            ).scalars()
            pids = set(ours)
            for pid in pids:  # one by one: never anyone else's session, and each one gone
                # before the next step (the timeout makes PostgreSQL wait for it to exit)
                connection.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
            return pids
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("cut_at", ["INSERT INTO articles", "INSERT INTO runs"])
def test_postgres_restarting_mid_poll_fails_the_job_and_the_next_run_recovers(
    pg_app, postgres_url, write_config, server, cut_at
) -> None:
    url, app_name = pg_app
    path = write_config(
        {
            "database": {"url": url},
            "extraction": {"learn_boilerplate": False},
            "sources": {"site": {"homepage": server.url("/"), "feed": server.url("/feed/"),
                                 "relevance": "keep_all"}},
        }
    )  # fmt: skip
    config = load_config(path, environ={})
    env = PollEnv(config, open_database(url))
    server.route("/feed/", feed_response(rss_feed(posts("first", 2), base=server.base_url)))
    assert poll_source(env.database, config, "site", due_only=False).status == "ok"
    server.route("/feed/", feed_response(rss_feed(posts("first", 2) + posts("second", 5),
                                                  base=server.base_url)))  # fmt: skip
    armed = [True]

    @event.listens_for(env.database.engine, "before_cursor_execute")
    def restart_server(_conn, _cursor, statement, *_args) -> None:
        if armed and statement.startswith(cut_at):
            armed.clear()
            assert terminate_backends(postgres_url, app_name)

    result = poll_source(env.database, config, "site", due_only=False)
    assert not armed, "the statement to cut at never ran"
    assert result.status == "failed"
    assert "terminating connection" in (result.error or "") or "closed" in (result.error or "")
    assert env.count(Article) in (2, 7)  # the batch is all or nothing; the first two stay
    later = Clock(datetime.now(UTC) + DAY)  # past any backoff
    again = env.one("site", clock=later)
    assert again.status == "ok", again.error
    with env.database.session() as session:
        urls = list(session.scalars(select(Article.canonical_url)))
    env.database.close()
    assert len(urls) == len(set(urls)) == 7  # nothing lost, nothing twice


@pytest.mark.postgres
def test_a_held_advisory_lock_is_taken_back_after_a_restart_unless_someone_was_quicker(
    pg_app, postgres_url
) -> None:
    url, app_name = pg_app
    mine, other = open_database(url), open_database(postgres_url)
    with hold_lock(mine, "daemon") as lock:
        assert terminate_backends(postgres_url, app_name)
        assert lock.check()  # taken back on a new session
        with pytest.raises(LockBusyError), hold_lock(other, "daemon"):
            pass
        assert terminate_backends(postgres_url, app_name)
        with hold_lock(other, "daemon"), pytest.raises(LockBusyError):  # quicker this time
            lock.check()
    mine.close(), other.close()


def daemon_lock_holders(url: str) -> set[int]:
    """The sessions holding the daemon's advisory lock (pg_locks shows a key as two halves)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = advisory_key("daemon", schema) & 0xFFFFFFFFFFFFFFFF
            pids = connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = :high AND objid = :low"
                ),
                {"high": key >> 32, "low": key & 0xFFFFFFFF},
            ).scalars()
            return set(pids)
    finally:
        engine.dispose()


def count_rows(url: str, sql: str, **params: object) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql), params).scalar() or 0)
    except ProgrammingError:
        return 0  # no tables yet
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restarting_under_the_daemon(
    pg_app, postgres_url, write_config, tmp_path, blog_site, daemons
) -> None:
    url, app_name = pg_app
    config = write_config(
        {
            "database": {"url": url},
            "output": {"dir": str(tmp_path / "public")},
            "schedule": {"tick": "1s",
                         "poll_interval": "2s", "crawl_interval": "1h", "jitter": "1s"},
            "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
                                 "relevance": "keep_all"}},
        }
    )  # fmt: skip
    daemon = daemons(config)
    expected = feed_size(blog_site.feed_url)
    articles = "SELECT count(DISTINCT canonical_url) FROM articles"
    wait_for(lambda: count_rows(postgres_url, articles) == expected, 90, "the blog's essays")
    cut = terminate_backends(postgres_url, app_name)
    assert cut  # the daemon's lock and pooled sessions, at least
    for _ in range(4):  # and again, whatever the daemon is doing when it reconnects
        time.sleep(1.3)
        cut |= terminate_backends(postgres_url, app_name)
    cut_at = datetime.now(UTC)
    daemon.wait_log("lock daemon was lost with its database session; taken again", 30)
    wait_for(lambda: bool(daemon_lock_holders(postgres_url) - cut), 30, "the lock held again")
    good_polls = (
        "SELECT count(*) FROM runs WHERE kind = 'poll' AND status = 'ok' AND started_at > :t"
    )
    wait_for(lambda: count_rows(postgres_url, good_polls, t=cut_at) > 0, 30, "a good poll after")
    second = daemons(config)
    assert second.process.wait(timeout=60) == 1 and "daemon is busy" in second.log
    assert daemon.alive()
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log
    assert count_rows(postgres_url, articles) == expected
    assert count_rows(postgres_url, "SELECT count(*) FROM articles") == expected


# --- 7. kill -9 mid-migration and mid-feed-write -------------------------------------------------


ARTICLE_ROWS = "SELECT id, canonical_url, content_hash, title FROM articles ORDER BY id"


def _downgrade(url: str, revision: str) -> None:
    database = open_database(url, upgrade=False)
    config = migrate.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    database.close()


def _fresh_copy(template: Path, target: Path) -> None:
    for leftover in target.parent.glob(target.name + "*"):
        if leftover.is_file():
            leftover.unlink()
    shutil.copyfile(template, target)


@pytest.mark.slow
def test_kill_9_during_a_migration_leaves_the_old_schema_or_the_new_and_every_row(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    template, work = tmp_path / "template.db", tmp_path / "work.db"
    blog = {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
            "relevance": "keep_all"}  # fmt: skip
    filled = write_config({"database": {"url": f"sqlite:///{template}"}, "sources": {"blog": blog}},
                          name="template.yaml")  # fmt: skip
    assert run_cli("-c", str(filled), "poll").code == 0
    _downgrade(f"sqlite:///{template}", "0003")  # a database written by an older version
    rows = query(template, ARTICLE_ROWS)
    assert rows
    config = write_config({"database": {"url": f"sqlite:///{work}"}, "sources": {"blog": blog}})
    upgrade = ["-c", str(config), "db", "upgrade"]
    _fresh_copy(template, work)
    steps = count_steps(upgrade)
    head = migrate.head_revision()
    for step in sorted({max(1, steps * n // 8) for n in range(1, 8)} | {steps - 1}):
        _fresh_copy(template, work)
        assert kill_at_step(upgrade, step), f"the upgrade finished before step {step}"
        assert integrity(work) == "ok", step
        (revision,) = query(work, "SELECT version_num FROM alembic_version")[0]
        assert revision in ("0003", head), step  # one transaction: all of it or none
        assert query(work, ARTICLE_ROWS) == rows, step
        assert run_cli(*upgrade).code == 0, step  # and it completes afterwards
        assert query(work, "SELECT version_num FROM alembic_version") == [(head,)]
        assert query(work, ARTICLE_ROWS) == rows, step
        assert integrity(work) == "ok", step


def _restore(folder: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(folder)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


@pytest.mark.slow
def test_kill_9_during_a_feed_build_leaves_every_file_old_or_new_and_whole(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    public, config, old = built_then_retitled(write_config, tmp_path, blog_site, run_cli)
    build = ["-c", str(config), "feed", "build"]
    steps = count_steps(build)
    new = snapshot(public)
    assert new.keys() == old.keys() and new != old
    killed = 0
    records = (MANIFEST, ARCHIVE_MANIFEST)  # the build's own, written last
    for step in sorted({max(1, steps * n // 10) for n in range(1, 10)}):
        _restore(public, old)
        killed += kill_at_step(build, step)
        after = {name: data for name, data in snapshot(public).items()
                 if name in records or not Path(name).name.startswith(".")}  # fmt: skip
        assert after.keys() == old.keys(), step
        for name, data in after.items():
            if name.startswith(f"{SHARDS}/"):  # a shard of the archive's manifest: whole
                json.loads(data)
                continue
            assert data in (old[name], new[name]), (step, name)  # whole, old or new
            if name not in records:
                assert_well_formed(name, data)
    assert killed >= 5
    assert run_cli(*build).code == 0  # the next build completes the job, and tidies up
    final = snapshot(public)
    assert final.keys() == new.keys()  # no temporary file of a killed build is left

    # The manifests differ by the token tying one to the other, drawn anew by each build.
    def own(name: str) -> bool:  # the manifests and their shards, each naming its token
        return name in records or name.startswith(f"{SHARDS}/")

    assert {name: final[name] for name in final if not own(name)} == {
        name: new[name] for name in new if not own(name)
    }


# --- 8. status says what happened ----------------------------------------------------------------


def test_status_shows_the_last_failed_run_of_each_source_and_of_the_daemon(
    write_config, sqlite_url, run_cli
) -> None:
    config = write_config({"sources": {"blog": {"homepage": "https://blog.example/",
                                                "feed": "https://blog.example/feed"}}})  # fmt: skip
    database = open_database(sqlite_url)
    ids = Ingestor(database, load_config(config, environ={})).source_ids
    now = datetime.now(UTC)
    with database.write_session() as session:
        session.add_all(
            [
                Run(source_id=ids["blog"], kind="poll", status="ok", started_at=now - 3 * HOUR),
                Run(source_id=ids["blog"], kind="crawl", status="failed",
                    started_at=now - 2 * HOUR, error="database or disk is full"),
                Run(source_id=ids["blog"], kind="poll", status="ok", started_at=now - HOUR),
                Run(source_id=None, kind="rebuild", status="ok", started_at=now - 2 * HOUR),
                Run(source_id=None, kind="rebuild", status="failed", started_at=now - HOUR,
                    error="cannot write public/feed.atom: No space left on device"),
            ]
        )  # fmt: skip
    database.close()
    report = json.loads(run_cli("-c", str(config), "status", "--json").out)
    (blog,) = report["sources"]
    assert blog["last_failure"]["kind"] == "crawl"
    assert blog["last_failure"]["error"] == "database or disk is full"
    assert blog["failing_since"] is None  # its polls are fine
    assert report["daemon"]["last_rebuild"]["error"].endswith("No space left on device")
    text_out = run_cli("-c", str(config), "status").out
    assert "crawl:" in text_out  # the newest failure, a crawl's, is the last error shown
    assert "last feed rebuild failed 1h ago: cannot write public/feed.atom: No space" in text_out
