"""The committee report (report.html): headlines, tables, charts and method, from published figures only."""

from __future__ import annotations

from geosuff.publication.report.figures import (
    withheld_sentence,
)
from geosuff.publication.report.format import (
    CAT_COLOURS,
    NOT_AVAILABLE,
    Headline,
    escape,
)
from geosuff.publication.report.format import _breakable as _breakable  # noqa: F401 (used by other packages)
from geosuff.publication.report.method import (
    to_toml,
)
from geosuff.publication.report.page import (
    headlines,
    render_report,
    report_context,
    write_report,
)
from geosuff.publication.report.tables import _dfe_table as _dfe_table  # noqa: F401 (used by other packages)
from geosuff.publication.report.tables import _gap_not_shown as _gap_not_shown
from geosuff.publication.report.tables import _indicator_table as _indicator_table
from geosuff.publication.report.tables import _scenario_table as _scenario_table
from geosuff.publication.report.tables import _sensitivity_table as _sensitivity_table

__all__ = [
    "write_report",
    "render_report",
    "headlines",
    "report_context",
    "withheld_sentence",
    "to_toml",
    "CAT_COLOURS",
    "NOT_AVAILABLE",
    "Headline",
    "escape",
]
