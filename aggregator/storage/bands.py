"""SimHash bands are kept only while their article can still be found as a near-duplicate.

Every probe reads the stored bands equal to it, about N / 65,536 rows (``aggregator.fingerprints``),
so over the whole archive each new article read more rows the larger it grew (about 100 at 100k).
Copies of an article are published within days of it: the bands of articles first seen more than
``extraction.near_duplicate_window_days`` ago are forgotten as each batch is stored (with the
aged block sightings), and the rows a probe reads stop growing with the archive. Exact copies (the
content hash) and the same item again (its GUID or URL) are still found at any age.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from aggregator.storage.horizon import forget_aged
from aggregator.storage.models import SimhashBand


def forget_old_bands(session: Session, now: datetime, window: timedelta) -> int:
    """Forget the bands of articles first seen more than ``window`` before ``now``: a range of
    the primary key, which leads with ``article_id``. Returns how many rows went."""
    return forget_aged(session, SimhashBand.article_id, now, window)
