"""Every workload the benchmark knows, by name. Later stages add theirs here."""

from __future__ import annotations

from bench.harness import Workload
from bench.workloads import extraction, storage

WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        storage.BATCH_INSERT,
        extraction.EXTRACT,
        extraction.INGEST,
    )
}
