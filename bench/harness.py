"""Time a workload against its floor, interleaved round by round, and report the median ratio."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Clock = Literal["wall", "cpu"]
CLOCKS: dict[Clock, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


@dataclass(frozen=True)
class Workload:
    """A thing to measure and the floor it is measured against.

    ``prepare(size)`` builds the inputs once; ``floor`` and ``subject`` each take those inputs and
    do the same amount of work, the floor with the plainest tool for the job (a bare lxml parse,
    raw sqlite3). ``before_each(inputs)``, untimed, runs before every timed call and its result
    is what that call gets (a fresh copy of a database file, say). ``target`` is the ratio we
    aim to stay under, if there is one. ``command``, if set, is the workload's own command
    line: ``python -m bench NAME ARGS...`` hands it ``ARGS`` (a workload with more to report
    than one ratio, such as the archive's table).
    """

    name: str
    description: str
    floor_name: str
    prepare: Callable[[int], Any]
    floor: Callable[[Any], object]
    subject: Callable[[Any], object]
    size: int
    quick_size: int
    target: float | None = None
    clock: Clock = "wall"
    teardown: Callable[[Any], object] = field(default=lambda _inputs: None)
    before_each: Callable[[Any], Any] = field(default=lambda inputs: inputs)
    command: Callable[[list[str]], int] | None = None


@dataclass(frozen=True)
class Result:
    name: str
    floor_name: str
    size: int
    rounds: int
    clock: Clock
    floor_seconds: float
    subject_seconds: float
    target: float | None

    @property
    def ratio(self) -> float:
        return self.subject_seconds / self.floor_seconds if self.floor_seconds else float("inf")

    @property
    def within_target(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


def measure(workload: Workload, rounds: int, quick: bool = False) -> Result:
    """Run floor and subject alternately ``rounds`` times; medians of each, and their ratio."""
    size = workload.quick_size if quick else workload.size
    clock = CLOCKS[workload.clock]
    inputs = workload.prepare(size)
    floors: list[float] = []
    subjects: list[float] = []
    try:
        for round_number in range(rounds):
            # Alternate which goes first so warm caches favour neither side.
            order = [(workload.floor, floors), (workload.subject, subjects)]
            if round_number % 2:
                order.reverse()
            for function, timings in order:
                timings.append(_time_once(function, workload.before_each(inputs), clock))
    finally:
        workload.teardown(inputs)
    return Result(
        name=workload.name,
        floor_name=workload.floor_name,
        size=size,
        rounds=rounds,
        clock=workload.clock,
        floor_seconds=statistics.median(floors),
        subject_seconds=statistics.median(subjects),
        target=workload.target,
    )


def _time_once(function: Callable[[Any], object], inputs: Any, clock: Callable[[], float]) -> float:
    gc.collect()
    start = clock()
    function(inputs)
    return clock() - start
