"""The scheduled daemon: polls, crawls and rebuilds, unattended, for months."""

from aggregator.daemon.metrics import Metrics
from aggregator.daemon.report import CycleReport
from aggregator.daemon.service import Daemon
from aggregator.daemon.work import WorkResult

__all__ = ["CycleReport", "Daemon", "Metrics", "WorkResult"]
