"""Validation of inputs: the report of geosuff validate, network coverage, and every row's fate."""

from __future__ import annotations

from geosuff.inputs.validate.common import (
    HOME_IN_COUNCIL_MIN_SHARE,
    ISSUE_COLUMNS,
    NETWORK_FAR_M,
    NETWORK_MARGIN_M,
    NETWORK_MIN_COVER,
    RECONCILIATION_COLUMNS,
    REPORT_EXAMPLES,
    issues_frame,
)
from geosuff.inputs.validate.coverage import (
    check_network_extent,
    distance_outside_box,
    network_extent,
    require_network_coverage,
)
from geosuff.inputs.validate.fates import (
    REASON_NO_NETWORK,
    fate_lines,
    reconciliation,
    reconciliation_summary,
    row_fates,
)
from geosuff.inputs.validate.report import (
    ValidationReport,
    validate_scenario,
)

__all__ = [
    "ISSUE_COLUMNS",
    "RECONCILIATION_COLUMNS",
    "NETWORK_MARGIN_M",
    "NETWORK_FAR_M",
    "HOME_IN_COUNCIL_MIN_SHARE",
    "REPORT_EXAMPLES",
    "issues_frame",
    "NETWORK_MIN_COVER",
    "network_extent",
    "distance_outside_box",
    "check_network_extent",
    "require_network_coverage",
    "reconciliation",
    "reconciliation_summary",
    "REASON_NO_NETWORK",
    "row_fates",
    "fate_lines",
    "ValidationReport",
    "validate_scenario",
]
