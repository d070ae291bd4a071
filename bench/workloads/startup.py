"""Start-up: ``mutualaid --version``, ``--help`` and ``status``, each in a new process.

Subject: N runs of the command (``python -c`` calling ``aggregator.cli.main``, what the console
script does), wall time; floor: N runs of ``python -c pass`` with the same interpreter. The ratio
is what the command costs over a bare interpreter (the aim for ``--version`` and ``--help``: 10x).
``status`` runs on an empty database that is already current, so it is start-up, reading the
config, opening the database and one query.

``startup-poll``: ``mutualaid poll`` of N local feeds that all answer 304 (``poll-twice``'s feed
farm, no pause between requests), against the same second poll made in-process by ``Poller``:
the ratio is the command's whole cost over the requests and their bookkeeping alone.

``MUTUALAID_BENCH_BASELINE=DIR`` (a source tree, e.g. ``git archive main | tar -x -C DIR``) adds
the same three workloads with ``-baseline`` names, run with DIR first on ``sys.path``: before and
after in one run of ``python -m bench startup-version startup-version-baseline ...``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from aggregator.config import load_config
from aggregator.poll import Poller, PollSettings
from aggregator.storage import open_database
from bench.feedfarm import FarmProcess
from bench.harness import Workload
from bench.workloads.polling import poll_all

PROGRAM = "import sys; from aggregator.cli import main; sys.exit(main())"
BASELINE_ENV = "MUTUALAID_BENCH_BASELINE"


@dataclass
class Inputs:
    folder: Path
    config: Path
    runs: int
    environ: dict[str, str]


def _environ(tree: str | None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MUTUALAID_")}
    if tree:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, environ.get("PYTHONPATH")]))
    return environ


def _preparer(tree: str | None, database: bool) -> Callable[[int], Inputs]:
    def prepare(runs: int) -> Inputs:
        folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
        config = folder / "config.yaml"
        settings = {"database": {"url": f"sqlite:///{folder / 'archive.db'}"}}
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        inputs = Inputs(folder, config, runs, _environ(tree))
        if database:  # untimed: status finds it current
            _run(inputs, "-c", str(config), "db", "upgrade")
        return inputs

    return prepare


def _run(inputs: Inputs, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", PROGRAM, *args],
        env=inputs.environ,
        cwd=inputs.folder,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def bare_interpreter(inputs: Inputs) -> None:
    for _ in range(inputs.runs):
        subprocess.run([sys.executable, "-c", "pass"], env=inputs.environ, check=True)


def _command(*args: str) -> Callable[[Inputs], None]:
    def run(inputs: Inputs) -> None:
        for _ in range(inputs.runs):
            _run(inputs, *[str(inputs.config) if arg == "{config}" else arg for arg in args])

    return run


def teardown(inputs: Inputs) -> None:
    shutil.rmtree(inputs.folder, ignore_errors=True)


@dataclass
class PollInputs:
    folder: Path
    farm: FarmProcess
    config: Path
    polled: Path
    environ: dict[str, str]
    copies: int = 0


def _poll_preparer(tree: str | None) -> Callable[[int], PollInputs]:
    def prepare(size: int) -> PollInputs:
        folder = Path(tempfile.mkdtemp(prefix="bench-startup-poll-"))
        farm = FarmProcess(size)
        polled = folder / "polled.db"
        sources = {
            f"feed{n}": {"homepage": farm.feed_url(n), "feed": farm.feed_url(n), "kind": "feed"}
            for n in range(size)
        }
        settings = {
            "database": {"url": f"sqlite:///{polled}"},
            "network": {"allow_private": True},  # the feed farm is on loopback
            "polling": {"host_delay": 0.0},
            "sources": sources,
        }
        config = folder / "config.yaml"
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        poll_all(load_config(config, environ={}), f"sqlite:///{polled}")  # the first poll
        return PollInputs(folder, farm, config, polled, _environ(tree))

    return prepare


def fresh_copy(inputs: PollInputs) -> tuple[PollInputs, str]:
    inputs.copies += 1
    copy = inputs.folder / f"polled-{inputs.copies}.db"
    shutil.copy(inputs.polled, copy)
    return inputs, f"sqlite:///{copy}"


def poll_in_process(round_: tuple[PollInputs, str]) -> None:
    inputs, url = round_
    config = load_config(inputs.config, environ={})
    database = open_database(url)
    try:
        with Poller(database, config, settings=PollSettings.from_config(config)) as poller:
            failed = [r for r in poller.poll() if r.status == "failed"]
    finally:
        database.close()
    if failed:
        raise RuntimeError(f"{len(failed)} feeds failed, e.g. {failed[0].error}")


def poll_command(round_: tuple[PollInputs, str]) -> None:
    inputs, url = round_
    subprocess.run(
        [sys.executable, "-c", PROGRAM, "-c", str(inputs.config), "poll", "--json"],
        env={**inputs.environ, "MUTUALAID_DATABASE_URL": url},
        cwd=inputs.folder,
        stdout=subprocess.DEVNULL,
        check=True,  # exit 1: a feed failed
    )


def teardown_poll(inputs: PollInputs) -> None:
    inputs.farm.close()
    shutil.rmtree(inputs.folder, ignore_errors=True)


COMMANDS = {
    "version": (("--version",), 10.0),
    "help": (("--help",), 10.0),
    "status": (("-c", "{config}", "status"), None),
}


def _workloads(suffix: str, tree: str | None) -> tuple[Workload, ...]:
    poll = Workload(
        name=f"startup-poll{suffix}",
        description="mutualaid poll of N local feeds all answering 304, in a new process"
        + (f", the code in {tree}" if tree else ""),
        floor_name="the same poll in-process (Poller)",
        prepare=_poll_preparer(tree),
        floor=poll_in_process,
        subject=poll_command,
        size=100,
        quick_size=3,
        before_each=fresh_copy,
        teardown=teardown_poll,
    )
    return (*_commands(suffix, tree), poll)


def _commands(suffix: str, tree: str | None) -> tuple[Workload, ...]:
    return tuple(
        Workload(
            name=f"startup-{name}{suffix}",
            description=f"mutualaid {' '.join(args)} in a new process"
            + (f", the code in {tree}" if tree else ""),
            floor_name="python -c pass",
            prepare=_preparer(tree, database="{config}" in args),
            floor=bare_interpreter,
            subject=_command(*args),
            size=3,
            quick_size=1,
            target=target,
            teardown=teardown,
        )
        for name, (args, target) in COMMANDS.items()
    )


_baseline = os.environ.get(BASELINE_ENV)
WORKLOADS = _workloads("", None) + (_workloads("-baseline", _baseline) if _baseline else ())
