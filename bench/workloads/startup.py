"""Start-up: ``mutualaid --version``, ``--help`` and ``status``, each in a new process.

Subject: N runs of the command (``python -c`` calling ``aggregator.cli.main``, what the console
script does), wall time; floor: N runs of ``python -c pass`` with the same interpreter. The ratio
is what the command costs over a bare interpreter (the aim for ``--version`` and ``--help``: 10x).
``status`` runs on an empty database that is already current, so it is start-up, reading the
config, opening the database and one query.

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

from bench.harness import Workload

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


def _preparer(tree: str | None) -> Callable[[int], Inputs]:
    def prepare(runs: int) -> Inputs:
        folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
        config = folder / "config.yaml"
        settings = {"database": {"url": f"sqlite:///{folder / 'archive.db'}"}}
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        inputs = Inputs(folder, config, runs, _environ(tree))
        _run(inputs, "-c", str(config), "db", "upgrade")  # untimed: status finds it current
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


COMMANDS = {
    "version": (("--version",), 10.0),
    "help": (("--help",), 10.0),
    "status": (("-c", "{config}", "status"), None),
}


def _workloads(suffix: str, tree: str | None) -> tuple[Workload, ...]:
    return tuple(
        Workload(
            name=f"startup-{name}{suffix}",
            description=f"mutualaid {' '.join(args)} in a new process"
            + (f", the code in {tree}" if tree else ""),
            floor_name="python -c pass",
            prepare=_preparer(tree),
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
