"""Benchmarks: each workload timed against a floor measured in the same run.

Run ``python -m bench --help``. Figures are ratios (workload time / floor time), medians over
rounds, because this machine's absolute speed varies by ±20% from one minute to the next.
"""
