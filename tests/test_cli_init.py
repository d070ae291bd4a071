"""A first run with no configuration: one line on how to start, nothing created; ``init``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aggregator.config import load_config

MUTUALAID = str(Path(sys.executable).parent / "mutualaid")


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mutualaid ARGS`` in ``folder``, with no configuration named by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUALAID_")}
    return subprocess.run(
        [MUTUALAID, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "command", [("status",), ("feed", "build"), ("db", "upgrade"), ("db", "purge", "--days", "9")]
)
def test_without_a_configuration_nothing_is_created(tmp_path, command) -> None:
    result = run_in(tmp_path, *command)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no configuration: none found (./config.yaml, --config, $MUTUALAID_CONFIG); "
        "run 'mutualaid init' to write a starter config.yaml"
    )
    assert list(tmp_path.iterdir()) == []


def test_init_writes_a_starter_that_checks_out_and_never_overwrites(tmp_path) -> None:
    first = run_in(tmp_path, "init", "reader")
    assert first.returncode == 0, first.stderr
    path = tmp_path / "reader" / "config.yaml"
    assert f"wrote {Path('reader') / 'config.yaml'}" in first.stdout
    text = path.read_text(encoding="utf-8")
    assert "FILL IN" in text and "base_url: null" in text and "id_domain:" in text
    config = load_config(path, environ={})
    assert config.sources and config.output.base_url is None
    path.write_text(text + "# mine\n", encoding="utf-8")
    again = run_in(tmp_path, "init", "reader")
    assert again.returncode == 1 and "exists already" in again.stderr
    assert path.read_text(encoding="utf-8").endswith("# mine\n")
    forced = run_in(tmp_path, "init", "reader", "--force")
    assert forced.returncode == 0 and path.read_text(encoding="utf-8") == text
    listed = run_in(tmp_path / "reader", "sources", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert yaml.safe_load(listed.stdout)[0]["name"] == "peterkropotkin"
