"""Report tables of the extra breakdowns: excluding UASC, district and sub-area of the home, need, disability."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geosuff.analysis.subgroups import EXTRA_BREAKDOWNS
from geosuff.publication import disclosure as dc
from geosuff.publication.ledger import Published
from geosuff.publication.report.tables import _indicator_table

if TYPE_CHECKING:
    from geosuff.results import Results

#: Section title of each breakdown's table in the report.
BREAKDOWN_TITLES: dict[str, str] = {
    "excluding_uasc": "Excluding unaccompanied asylum-seeking children (UASC)",
    "district": "By district of the child's home",
    "subarea": "By sub-area of the child's home",
    "need": "By the child's needs",
    "disabled": "Disabled children",
}
_NOTES: dict[str, str] = {
    "excluding_uasc": "As councils and the DfE also publish the measures: children who are not UASC (a blank UASC flag counts as not UASC).",
    "district": "District (lower-tier council) of the child's home postcode, from the postcode lookup; a home given by coordinates has no district.",
    "subarea": "Sub-area of the child's home point, from the [inputs] subareas layer.",
    "need": "From the placements' NEED and DISABLED columns; a child with several needs is counted under each of them, so the rows add up to more than all children.",
    "disabled": "From the placements' DISABLED column (Y/N); blank or other values are not known.",
}


def excluding_uasc_sentence(pub: Published, results: Results) -> str:
    """The first two headlines for children who are not UASC, as a sentence ("" if not made)."""
    h = (pub.headline or {}).get("excluding_uasc")
    if not h:
        return ""
    a = results.scenario.analysis
    if dc.SUPPRESSED in (h["n"], h["far"], h["inside"]):
        return "Excluding UASC, the headline figures are withheld (too few UASC children: they could be worked out by difference)."
    return (
        f"Excluding UASC: {h['far']} of {h['n']} children ({h['far_pct']}%) are placed more than "
        f"{a.far_miles:g} miles from home and {h['inside']} ({h['inside_pct']}%) inside "
        f"{results.council_name}."
    )


def breakdown_tables(pub: Published, results: Results) -> list[tuple[str, dict[str, Any]]]:
    """(title, table) of every extra breakdown this run published, in report order."""
    out = []
    for key in EXTRA_BREAKDOWNS:
        t = _indicator_table(pub, key, results)
        if t is None:
            continue
        note = _NOTES.get(key, "")
        if key == "excluding_uasc":
            note = f"{note} {excluding_uasc_sentence(pub, results)}".strip()
        t["note"] = f"{note} {t['note']}".strip()
        out.append((BREAKDOWN_TITLES[key], t))
    return out
