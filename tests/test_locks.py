"""Cross-process locks: one holder at a time, released on exit and when the holder dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from aggregator.storage import open_database
from aggregator.storage.locks import LockBusyError, hold_lock, is_held
from tests.test_daemon import wait_for


@pytest.fixture
def two_handles(database_url):
    """Two independent handles on one database, as two processes would have."""
    first, second = open_database(database_url), open_database(database_url)
    yield first, second
    first.close()
    second.close()


def test_a_held_lock_is_busy_for_everyone_else(two_handles) -> None:
    first, second = two_handles
    with hold_lock(first, "source:news"):
        with (
            pytest.raises(LockBusyError, match="source:news is busy"),
            hold_lock(second, "source:news"),
        ):
            pass
        with hold_lock(second, "source:blog"):  # other names are independent
            pass
    with hold_lock(second, "source:news"):  # released on exit
        pass


def test_a_lock_held_by_a_killed_process_is_free_again(database_url, tmp_path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from aggregator.storage.locks import hold_lock
        from aggregator.storage import open_database
        database = open_database({database_url!r})
        with hold_lock(database, "daemon"):
            print("held", flush=True)
            sys.stdin.readline()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        database = open_database(database_url)
        with pytest.raises(LockBusyError), hold_lock(database, "daemon"):
            pass
        child.kill()
        child.wait(timeout=30)
        # PostgreSQL ends the killed client's session, and its locks, once the server reads
        # the closed socket: soon, but not at once on a busy machine.
        wait_for(lambda: not is_held(database, "daemon"), 60, "the dead holder's lock to go")
        with hold_lock(database, "daemon"):
            pass
        database.close()
    finally:
        child.kill()


def test_a_manual_poll_skips_a_source_another_process_is_polling(
    run_cli, write_config, blog_site
) -> None:
    import json

    from aggregator.config import load_config

    path = write_config(
        {"sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url}}}
    )
    database = open_database(load_config(path, environ={}).database.url)
    blog_site.clear_log()
    with hold_lock(database, "source:blog"):
        result = run_cli("-c", str(path), "poll", "--json")
    database.close()
    assert result.code == 0, result.err
    (source,) = json.loads(result.out)["sources"]
    assert source["status"] == "skipped"
    assert "another process" in source["error"]
    assert blog_site.fetched_paths() == []


@pytest.mark.postgres
def test_instances_in_two_schemas_of_one_postgres_database_do_not_block_each_other(
    postgres_url, another_postgres_url
) -> None:
    mine, neighbour, mine_again = (
        open_database(url) for url in (postgres_url, another_postgres_url, postgres_url)
    )
    try:
        with hold_lock(mine, "daemon"):
            with hold_lock(neighbour, "daemon"):  # another schema: another instance
                pass
            with pytest.raises(LockBusyError), hold_lock(mine_again, "daemon"):
                pass
    finally:
        for database in (mine, neighbour, mine_again):
            database.close()
