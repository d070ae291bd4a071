"""The ingest core: fetched items in, deduplicated articles stored once.

Front ends (the poller, the crawl pipeline) use only the names below.
"""

from aggregator.ingest.dedup import Outcome
from aggregator.ingest.fields import TextFields, derive_text_fields
from aggregator.ingest.pipeline import Ingestor, IngestReport
from aggregator.ingest.prepare import (
    Candidate,
    SourceContext,
    prepare_item,
    strip_stale_boilerplate,
)
from aggregator.ingest.workers import ExtractionPool, Prepared, Refusal, prepare, shared_pool

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
    "prepare",
    "prepare_item",
    "shared_pool",
    "strip_stale_boilerplate",
]
