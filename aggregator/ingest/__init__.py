"""The ingest core: fetched items in, deduplicated articles stored once.

Front ends (the poller, the crawl pipeline) use only the names below. Each is imported on first
use (``lazy_exports``): the extraction machinery behind most of them costs a good part of a
second to import, and a poll of unchanged feeds, which extracts nothing, needs only
``IngestReport``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aggregator.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from aggregator.ingest.fields import TextFields, derive_text_fields
    from aggregator.ingest.pipeline import Ingestor
    from aggregator.ingest.prepare import (
        Candidate,
        SourceContext,
        prepare_item,
        strip_stale_boilerplate,
    )
    from aggregator.ingest.report import IngestReport, Outcome
    from aggregator.ingest.workers import ExtractionPool, Prepared, Refusal, shared_pool

# Each public name and the module of this package that defines it. ``workers.prepare`` is not
# among them: once the ``prepare`` module is imported, the package's ``prepare`` is that module.
_HOMES = {
    "Candidate": "prepare",
    "ExtractionPool": "workers",
    "IngestReport": "report",
    "Ingestor": "pipeline",
    "Outcome": "report",
    "Prepared": "workers",
    "Refusal": "workers",
    "SourceContext": "prepare",
    "TextFields": "fields",
    "derive_text_fields": "fields",
    "prepare_item": "prepare",
    "shared_pool": "workers",
    "strip_stale_boilerplate": "prepare",
}

__all__ = [
    "Candidate",
    "ExtractionPool",
    "IngestReport",
    "Ingestor",
    "Outcome",
    "Prepared",
    "Refusal",
    "SourceContext",
    "TextFields",
    "derive_text_fields",
    "prepare_item",
    "shared_pool",
    "strip_stale_boilerplate",
]

__getattr__ = lazy_exports(__name__, _HOMES)
