"""Start-up: a command imports only what it uses (README, "Command line").

The module checks run ``mutualaid`` in a child process, whose ``sys.modules`` is its own; how
long start-up takes is measured in ``bench/workloads/startup.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import ModuleType

import click
import pytest
from click.testing import CliRunner

from aggregator import extract, ingest
from aggregator.cli import COMMANDS, cli
from aggregator.cli.lazy import LazyCommand, LazyGroup
from aggregator.cli.sources import EDITING
from aggregator.storage import migrate
from aggregator.storage.revisions import newest_known_revision
from tests.feedserver import ScriptedServer, feed_response, rss_feed

# What no command needs just to start (and --version and --help never).
HEAVY = (
    "scrapy",
    "twisted",
    "trafilatura",
    "sqlalchemy",
    "alembic",
    "feedparser",
    "lxml",
    "httpx",
    "rich.progress",
    "apscheduler",
    "waitress",
    "psycopg",
    "redis",
)
# What a poll of feeds that all answer 304 never needs: no parsing, extracting, storing
# articles, crawling, migrating, and (with --json) nothing of rich.
NOT_FOR_UNCHANGED_FEEDS = (
    "scrapy",
    "twisted",
    "trafilatura",
    "feedparser",
    "alembic",
    "lxml",
    "cssselect",
    "rich",
    "pygments",
    "multiprocessing",
    "aggregator.extract",
    "aggregator.ingest.pipeline",
    "aggregator.ingest.prepare",
    "aggregator.ingest.workers",
    "aggregator.poll.feeds",
    "aggregator.storage.articles",
)
# Run ``main`` with the arguments given, then print the heavy modules loaded, as JSON (a None
# entry in ``sys.modules`` is an import blocked, not a module loaded).
PROGRAM = """
import json, sys
from aggregator.cli import main
heavy = json.loads(sys.argv[1])
code = main(sys.argv[2:])
modules = [name for name, module in sys.modules.items() if module is not None]
loaded = sorted(h for h in heavy if any(m == h or m.startswith(h + ".") for m in modules))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def loaded_by(*args: str, heavy: tuple[str, ...] = HEAVY) -> tuple[int, list[str]]:
    """Run ``mutualaid ARGS`` in a child process: its exit code and the heavy modules it loaded."""
    code, loaded, _ = run_child(*args, heavy=heavy)
    return code, loaded


def run_child(*args: str, heavy: tuple[str, ...]) -> tuple[int, list[str], str]:
    """``loaded_by``, and what the command printed on standard output."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(heavy), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["loaded"], done.stdout


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [((), 2), (("--version",), 0), (("--help",), 0), (("sources", "--help"), 0)],
)
def test_starting_loads_no_heavy_module(args: tuple[str, ...], exit_code: int) -> None:
    """Bare ``mutualaid`` shows the usage and exits 2, as click does for a missing command."""
    code, loaded = loaded_by(*args)
    assert code == exit_code
    assert loaded == []


def _lazy_tables() -> list[tuple[LazyGroup, str, LazyCommand]]:
    rows = [(cli, name, entry) for name, entry in COMMANDS.items()]
    sources = cli.get_command(click.Context(cli), "sources")
    assert isinstance(sources, LazyGroup)
    return rows + [(sources, name, entry) for name, entry in EDITING.items()]


@pytest.mark.parametrize(
    ("group", "name", "entry"),
    _lazy_tables(),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_lazy_command_is_the_one_listed(
    group: LazyGroup, name: str, entry: LazyCommand
) -> None:
    command = entry.load()
    assert command.name == name
    # The help listed without importing the command is the command's own first line.
    assert entry.placeholder(name).get_short_help_str(500) == command.get_short_help_str(500)
    assert group.get_command(click.Context(group), name) is command
    path = [name] if group is cli else ["sources", name]
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="mutualaid")
    assert result.exit_code == 0, result.output
    assert f"Usage: mutualaid {' '.join(path)}" in result.output


def test_the_help_lists_every_command_with_its_first_line() -> None:
    result = CliRunner().invoke(cli, ["--help"], prog_name="mutualaid", terminal_width=200)
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        assert f"{name}  " in result.output
        assert entry.help.split(". ")[0] in " ".join(result.output.split())


def test_the_head_found_without_alembic_is_alembics() -> None:
    assert newest_known_revision(migrate.migrations_dir() / "versions") == migrate.head_revision()


def test_polling_unchanged_feeds_loads_no_extractor(run_cli, write_config) -> None:
    """The second poll gets a 304 for each feed: nothing to parse, extract, crawl or migrate."""
    with ScriptedServer() as server:
        body = rss_feed([("one", "First post"), ("two", "Second post")], base=server.base_url)
        sources = {
            name: {
                "homepage": server.url("/"),
                "feed": server.route(f"/{name}.xml", feed_response(body, etag=f'"{name}"')),
                "kind": "feed",
                "relevance": "keep_all",
            }
            for name in ("alpha", "beta")
        }
        path = str(write_config({"sources": sources}))
        assert run_cli("-c", path, "poll", "--json").code == 0
        server.clear_log()
        code, loaded, output = run_child(
            "-c", path, "poll", "--json", heavy=NOT_FOR_UNCHANGED_FEEDS
        )
        conditional = [r for r in server.requests if "if-none-match" in r.headers]
        assert sorted(r.path for r in conditional) == ["/alpha.xml", "/beta.xml"]
    assert code == 0
    assert [s["status"] for s in json.loads(output)["sources"]] == ["not_modified"] * 2
    assert loaded == []


def test_a_revision_line_not_in_the_usual_form_leaves_the_answer_to_alembic(tmp_path) -> None:
    """Only the assignment lines are read: one spread over lines answers None, not a guess."""
    (tmp_path / "a.py").write_text('"""A."""\nrevision: str = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text(
        'revision = "b"\ndown_revision = "a"\n\ndef upgrade():\n    revision = "z"\n'
    )
    assert newest_known_revision(tmp_path) == "b"
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = (\n    "a",\n    "b",\n)\n')
    assert newest_known_revision(tmp_path) is None


@pytest.mark.parametrize("package", [extract, ingest], ids=lambda p: p.__name__)
def test_each_lazy_name_of_a_package_is_listed_and_found(package: ModuleType) -> None:
    """``__all__`` (what linters and type checkers read) and the table of homes name the same
    things, and each name is found (a home that moved would fail only on first use)."""
    homes = package._HOMES
    assert set(package.__all__) - set(homes) <= {"NotAnArticleError"}
    assert set(homes) <= set(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018
