"""The README's main install has no extras: everything but the features that need one works.

Each test runs ``mutualaid`` in a child process in which the extras' packages (redis,
scrapy-redis, psycopg) cannot be imported, as on a bare install (``tests.bare``). ``.ci/run``
checks the same on a real virtualenv with exactly the README's install.
"""

from __future__ import annotations

import pkgutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import aggregator
import spiders
from aggregator.config import load_config
from tests.bare import extra_modules
from tests.sites.localconfig import local_config

REPO = Path(__file__).resolve().parent.parent
# The one module whose whole job is an extra's (a Redis crawl); it is imported only for that.
NEEDS_AN_EXTRA = {"spiders.shared"}


def run_bare(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.bare", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_blocked_packages_are_the_extras() -> None:
    assert {"redis", "scrapy_redis", "psycopg"} <= extra_modules()


def test_every_module_imports_without_the_extras() -> None:
    names = sorted(
        module.name
        for package in (aggregator, spiders)
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        if module.name not in NEEDS_AN_EXTRA
    )
    program = (
        "import sys, importlib; from tests.bare import BlockExtras, extra_modules;"
        "sys.meta_path.insert(0, BlockExtras(extra_modules()));"
        f"[importlib.import_module(name) for name in {names!r}]"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert len(names) > 50  # the walk found the tree


def test_help_works_without_the_extras() -> None:
    completed = run_bare("--help")
    assert completed.returncode == 0, completed.stderr
    assert "crawl" in completed.stdout and "worker" in completed.stdout


def test_a_postgresql_url_names_the_extra_to_install(write_config) -> None:
    config = write_config({"database": {"url": "postgresql://someone@127.0.0.1:1/nothing"}})
    completed = run_bare("-c", str(config), "status")
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "error: a PostgreSQL database needs the 'postgres' extra: pip install 'mutualaid[postgres]'"
    )


@pytest.mark.parametrize("command", [("crawl", "blog", "--backend", "redis"), ("worker",)])
def test_a_redis_crawl_names_the_extra_to_install(write_config, command) -> None:
    config = write_config(
        {
            "crawling": {"redis_url": "redis://127.0.0.1:1/0"},
            "sources": {
                "blog": {
                    "homepage": "https://blog.example/",
                    "crawl": {
                        "start_urls": ["https://blog.example/"],
                        "article_links": ["a.more-link"],
                        "backend": "redis",
                    },
                }
            },
        }
    )
    completed = run_bare("-c", str(config), *command)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.strip() == (
        "error: a shared crawl (crawl.backend: redis) needs the 'redis' extra: "
        "pip install 'mutualaid[redis]'"
    )


@pytest.mark.slow
def test_run_once_collects_and_publishes_without_the_extras(write_config, tmp_path, blog_site):
    config = write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'bare.db'}"},
            "output": {"dir": str(tmp_path / "public")},
            "crawling": {"download_delay": 0, "autothrottle": False},
            "sources": {
                "blog": {
                    "homepage": f"{blog_site.base_url}/",
                    "feed": blog_site.feed_url,
                    "relevance": "keep_all",
                    "crawl": {
                        "start_urls": [f"{blog_site.base_url}/kropotkin-today/"],
                        "article_links": ["a.more-link", ".entry-title a"],
                    },
                }
            },
        }
    )
    completed = run_bare("-c", str(config), "run", "--once")
    assert completed.returncode == 0, completed.stderr
    with sqlite3.connect(tmp_path / "bare.db") as connection:
        stored = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert stored > 0
    assert (tmp_path / "public" / "feed.atom").read_text(encoding="utf-8").count("<entry>") > 0


def test_the_repository_config_points_at_the_local_sites(tmp_path) -> None:
    """What ``.ci/run`` gives the README's main command: a valid config on loopback only."""
    path = local_config(
        {"news": "http://127.0.0.1:8001", "blog": "http://127.0.0.1:8002"}, tmp_path
    )
    config = load_config(path, environ={})
    assert config.network.allow_private
    assert config.database.url.endswith(str(tmp_path / "data" / "mutualaid.db"))
    for source in config.sources.values():
        urls = [source.homepage, source.feed, *(source.crawl.start_urls if source.crawl else [])]
        assert all(str(url).startswith("http://127.0.0.1:800") for url in urls if url), urls
