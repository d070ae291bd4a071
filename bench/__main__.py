"""``python -m bench [WORKLOAD ...]``: run benchmarks and print ratios against their floors."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict

from bench.harness import Result, measure
from bench.workloads import WORKLOADS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = WORKLOADS[argv[0]].command if argv and argv[0] in WORKLOADS else None
    if command is not None:  # a workload with its own command line
        return command(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "workloads", nargs="*", help=f"which to run (default: all): {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--rounds", type=int, default=7, help="rounds per workload (median taken)")
    parser.add_argument("--quick", action="store_true", help="small inputs, to check it runs")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--list", action="store_true", help="list workloads and exit")
    args = parser.parse_args(argv)
    if args.list:
        for workload in WORKLOADS.values():
            print(f"{workload.name}: {workload.description} (floor: {workload.floor_name})")
        return 0
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not args.json:
        print(f"# python {platform.python_version()}, {platform.machine()}, rounds={args.rounds}")
    for name in args.workloads or list(WORKLOADS):
        result = measure(WORKLOADS[name], rounds=args.rounds, quick=args.quick)
        print(json.dumps({**asdict(result), "ratio": result.ratio}) if args.json else _line(result))
        sys.stdout.flush()
    return 0


def _line(result: Result) -> str:
    verdict = ""
    if result.target is not None:
        verdict = f"  target <= {result.target:.2f}x: {'ok' if result.within_target else 'OVER'}"
    rate = result.size / result.subject_seconds if result.subject_seconds else float("inf")
    return (
        f"{result.name} (n={result.size}, {result.clock} clock, {rate:,.0f}/s): "
        f"{result.ratio:.2f}x "
        f"{result.floor_name} [{result.subject_seconds * 1000:.1f} ms vs "
        f"{result.floor_seconds * 1000:.1f} ms, median of {result.rounds}]{verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())
