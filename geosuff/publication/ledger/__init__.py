"""The disclosure ledger: every published figure of a run registered, suppressed together and filled into the Published tables."""

from __future__ import annotations

from geosuff.publication.ledger.build import (
    build,
)
from geosuff.publication.ledger.core import (
    BREAKDOWNS,
    DISTANCE_NOT_KNOWN,
    FLOW_BANDS,
    INDICATOR_BLOCKS,
    INDICATOR_PUBLISHED,
    MILE_BANDS,
    NOT_APPLICABLE,
    SUPPRESSED,
    TABLE_PRIORITY,
    Ledger,
    Published,
    Withheld,
    band_label,
    distance_bands,
    table_priority,
)
from geosuff.publication.ledger.figures import (
    candidate_columns,
    flow_band,
    published_gaps,
)

__all__ = [
    "SUPPRESSED",
    "NOT_APPLICABLE",
    "MILE_BANDS",
    "DISTANCE_NOT_KNOWN",
    "FLOW_BANDS",
    "INDICATOR_BLOCKS",
    "INDICATOR_PUBLISHED",
    "BREAKDOWNS",
    "TABLE_PRIORITY",
    "table_priority",
    "Withheld",
    "Ledger",
    "Published",
    "distance_bands",
    "band_label",
    "build",
    "flow_band",
    "candidate_columns",
    "published_gaps",
]
