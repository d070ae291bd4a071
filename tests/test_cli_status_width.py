"""``status`` at 80 columns (a terminal, cron mail, a pipe): one row per source, names whole,
reasons under the table on one line each, the full text in ``--json``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

MUTUALAID = str(Path(sys.executable).parent / "mutualaid")
NAME = "countercurrents-mutual-aid"  # longer than the old table let a name be
REASON = "DNS lookup failed for www.countercurrents.org: " + "no answer from any server " * 6


def test_status_reads_at_80_columns(write_config, tmp_path) -> None:
    down = "http://127.0.0.1:1/"  # nothing listens: every poll fails with a long reason
    config = write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'status.db'}"},
            "sources": {NAME: {"homepage": down, "feed": f"{down}feed/"}},
        }
    )
    env = {**os.environ, "COLUMNS": "80"}
    poll = subprocess.run([MUTUALAID, "-c", str(config), "poll"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)  # fmt: skip
    assert poll.returncode == 1
    with sqlite3.connect(tmp_path / "status.db") as connection:  # a reason longer than a line
        connection.execute("UPDATE fetch_states SET last_error = ?", (REASON,))
    shown = subprocess.run([MUTUALAID, "-c", str(config), "status"], capture_output=True,
                           text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()[1:]  # under the title line (the database's URL)
    assert max(len(line) for line in lines) <= 80
    assert sum(NAME in line for line in lines) == 2  # its row, whole, and its error line
    assert f"│ {NAME} │" in shown.stdout
    (error,) = [line for line in lines if line.startswith(f"error: {NAME}: ")]
    assert error.endswith("…") and len(error) == 80
    full = subprocess.run([MUTUALAID, "-c", str(config), "status", "--json"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)  # fmt: skip
    (source,) = json.loads(full.stdout)["sources"]
    assert source["last_error"] == REASON
