"""The ingest core: fetched items in, deduplicated articles stored once."""

from aggregator.ingest.pipeline import Ingestor, IngestReport
from aggregator.ingest.prepare import Candidate, SourceContext, prepare_item
from aggregator.ingest.store import Outcome

__all__ = ["Candidate", "IngestReport", "Ingestor", "Outcome", "SourceContext", "prepare_item"]
