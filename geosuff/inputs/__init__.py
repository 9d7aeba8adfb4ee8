"""Reading and validating the input tables (placements, sites, candidates, areas, exclusions, services), postcode lookups and boundaries. Every loader returns a :class:`Loaded` that accounts for every input row."""

from __future__ import annotations

from geosuff.inputs._base import (
    CANDIDATE_USES,
    DEFAULT_BOUNDARIES,
    DEMO_NETWORK,
    DEMO_POSTCODES,
    ENGLAND_TOLERANCE_M,
    ID_COLUMNS,
    LSOA_POINTS,
    LTLA_UTLA,
    MAX_CHILD_AGE_YEARS,
    MAX_HEADER_SCAN_ROWS,
    MAX_LINES_PER_VALUE,
    PACKAGE_DATA,
    PLACEMENT_CODES_FILE,
    PLACEMENT_GROUPS_FILE,
    POSTCODE_COORD_DISAGREE_M,
    POSTCODE_RE,
    SITE_TYPES_FILE,
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
    STATUSES,
    Issue,
    Loaded,
)
from geosuff.inputs.boundaries import (
    Boundaries,
)
from geosuff.inputs.candidates import (
    load_areas,
    load_candidates,
    load_exclusions,
    load_lsoa_points,
)
from geosuff.inputs.codes import (
    normalise_site_type,
    placement_codes,
    placement_groups,
    site_types,
)
from geosuff.inputs.dates import (
    EXCEL_EPOCH,
    default_reference_date,
    parse_uk_dates,
    parse_uk_dates_detail,
)
from geosuff.inputs.locations import (
    locate_points,
)
from geosuff.inputs.placements import (
    AGE_BANDS,
    CANDIDATE_COLUMNS,
    PLACEMENT_COLUMNS,
    SITE_COLUMNS,
    age_band,
    load_placements,
)
from geosuff.inputs.points import read_points
from geosuff.inputs.postcodes import (
    ONSPD_SOURCE,
    OnspdLetter,
    PostcodeLookup,
    default_lookup,
    normalise_postcode,
    normalise_postcode_detail,
    normalise_postcodes,
    utla_of_ltla,
)
from geosuff.inputs.reading import (
    RawTable,
    read_raw,
    read_table,
)
from geosuff.inputs.sites import (
    load_sites,
)

__all__ = [
    "read_points",
    "PACKAGE_DATA",
    "DEFAULT_BOUNDARIES",
    "DEMO_NETWORK",
    "DEMO_POSTCODES",
    "LSOA_POINTS",
    "LTLA_UTLA",
    "ENGLAND_TOLERANCE_M",
    "POSTCODE_COORD_DISAGREE_M",
    "MAX_HEADER_SCAN_ROWS",
    "MAX_LINES_PER_VALUE",
    "MAX_CHILD_AGE_YEARS",
    "POSTCODE_RE",
    "SITE_TYPES_FILE",
    "PLACEMENT_CODES_FILE",
    "PLACEMENT_GROUPS_FILE",
    "CANDIDATE_USES",
    "STATUS_USED",
    "STATUS_ESTIMATE",
    "STATUS_EXCLUDED",
    "STATUSES",
    "ID_COLUMNS",
    "Issue",
    "Loaded",
    "RawTable",
    "read_table",
    "read_raw",
    "normalise_postcode_detail",
    "normalise_postcode",
    "normalise_postcodes",
    "utla_of_ltla",
    "ONSPD_SOURCE",
    "OnspdLetter",
    "PostcodeLookup",
    "default_lookup",
    "Boundaries",
    "locate_points",
    "placement_codes",
    "placement_groups",
    "site_types",
    "normalise_site_type",
    "EXCEL_EPOCH",
    "parse_uk_dates_detail",
    "parse_uk_dates",
    "default_reference_date",
    "PLACEMENT_COLUMNS",
    "load_placements",
    "AGE_BANDS",
    "age_band",
    "SITE_COLUMNS",
    "CANDIDATE_COLUMNS",
    "load_sites",
    "load_candidates",
    "load_lsoa_points",
    "load_areas",
    "load_exclusions",
]
