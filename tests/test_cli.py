"""The command line: help everywhere, JSON for scripts, one-line errors with the right exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from aggregator import __version__
from aggregator.cli import cli
from aggregator.storage import open_database
from aggregator.storage.models import FetchState, Source

SOURCES = {
    "alpha": {"homepage": "https://alpha.example/", "feed": "https://alpha.example/feed/"},
    "beta": {
        "homepage": "https://beta.example/",
        "listings": ["https://beta.example/essays/"],
        "relevance": "keep_all",
        "poll_interval": "10m",
    },
}


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    context = click.Context(group)
    for name in group.list_commands(context):  # the lazy group imports each command here
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("path", _command_paths(cli), ids=" ".join)
def test_every_command_has_help(run_cli, path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert result.code == 0
    assert "Usage: mutualaid" in result.out
    assert result.err == ""


def test_version(run_cli) -> None:
    result = run_cli("--version")
    assert (result.code, result.out.strip()) == (0, f"mutualaid {__version__}")


def test_sources_list_json(run_cli, write_config) -> None:
    path = write_config({"sources": SOURCES})
    result = run_cli("--config", str(path), "sources", "list", "--json")
    assert result.code == 0, result.err
    listed = {entry["name"]: entry for entry in json.loads(result.out)}
    assert set(listed) == {"alpha", "beta"}
    assert listed["alpha"]["feed"] == "https://alpha.example/feed/"
    assert listed["alpha"]["poll_interval"] == 3600
    assert listed["beta"]["poll_interval"] == 600
    assert listed["beta"]["listings"] == ["https://beta.example/essays/"]
    # Each source's terms, its own or output.republish's.
    assert (listed["alpha"]["republish"], listed["alpha"]["opt_out"]) == ("full", False)


def test_sources_list_table(run_cli, write_config) -> None:
    result = run_cli("-c", str(write_config({"sources": SOURCES})), "sources", "list")
    assert result.code == 0
    assert "alpha" in result.out and "keep_all" in result.out


def test_db_upgrade_twice_then_status(run_cli, write_config, sqlite_url: str) -> None:
    path = str(write_config({"sources": SOURCES}))
    first = run_cli("-c", path, "db", "upgrade", "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["before"] is None
    second = run_cli("-c", path, "db", "upgrade")
    assert second.code == 0 and "nothing to do" in second.out
    current = json.loads(run_cli("-c", path, "db", "current", "--json").out)
    assert current["current"] == current["head"]
    status = run_cli("-c", path, "status", "--json")
    assert status.code == 0, status.err
    report = {entry["name"]: entry for entry in json.loads(status.out)["sources"]}
    assert set(report) == {"alpha", "beta"}
    assert report["alpha"]["known"] is True
    assert report["alpha"]["last_success_at"] is None
    assert report["beta"]["articles"] == 0


def test_status_upgrades_a_fresh_database_by_itself(run_cli, write_config, sqlite_url) -> None:
    result = run_cli("-c", str(write_config({"sources": SOURCES})), "status")
    assert result.code == 0, result.err
    assert "alpha" in result.out and "never" in result.out
    assert Path(sqlite_url.removeprefix("sqlite:///")).is_file()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"surprise": 1}, "surprise: unknown key"),
        ({"sources": {"x": {"homepage": "nope"}}}, "sources.x.homepage: not an http(s) URL"),
        ({"schedule": {"poll_interval": "-1h"}}, "schedule.poll_interval: must be a positive"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(run_cli, write_config, content, expected) -> None:
    path = write_config(content)
    result = run_cli("-c", str(path), "sources", "list")
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert lines == [f"error: {path}: {expected}" + lines[0].split(expected, 1)[1]]
    assert "Traceback" not in result.err


def test_missing_config_file_is_exit_2(run_cli, tmp_path: Path) -> None:
    result = run_cli("-c", str(tmp_path / "absent.yaml"), "status")
    assert result.code == 2
    assert result.err.strip() == f"error: {tmp_path / 'absent.yaml'}: no such file"


def test_unknown_command_is_a_usage_error(run_cli) -> None:
    result = run_cli("frobnicate")
    assert result.code == 2
    assert "No such command" in result.err


def test_real_console_script_exits_cleanly_on_bad_config(write_config) -> None:
    """The installed entry point, in a subprocess: exit code and no traceback."""
    path = write_config({"surprise": 1})
    script = Path(sys.executable).parent / "mutualaid"
    completed = subprocess.run(
        [str(script), "--config", str(path), "status"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    line = path.read_text(encoding="utf-8").splitlines().index("surprise: 1") + 1
    assert completed.stderr.strip() == f"error: {path}: surprise: unknown key (line {line})"


def test_status_shows_a_servers_error_text_literally(run_cli, write_config, sqlite_url) -> None:
    # Error text comes from the outside world: square brackets in it are not Rich markup.
    path = str(write_config({"sources": SOURCES}))
    assert run_cli("-c", path, "status").code == 0
    hostile = "HTTP 500 [b] boom [/b] [i] x"
    database = open_database(sqlite_url)
    try:
        with database.session() as session:
            now = datetime.now(UTC)
            alpha = Source(name="alpha", homepage="https://alpha.example/", created_at=now)
            session.add(alpha)
            session.flush()
            session.add(
                FetchState(
                    source_id=alpha.id,
                    url=SOURCES["alpha"]["feed"],
                    consecutive_failures=1,
                    last_error=hostile,
                    last_error_at=now,
                )
            )
            session.commit()
    finally:
        database.close()
    result = run_cli("-c", path, "status")
    assert result.code == 0, result.err
    for token in ("[b]", "[/b]", "[i]"):  # short words: the folded cell never splits them
        assert token in result.out
