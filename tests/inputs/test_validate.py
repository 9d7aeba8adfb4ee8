"""Scenario validation, the reconciliation of every input row, and the messy-cohort generator.

A messy 10 000-row cohort built from real Rutland postcodes (Code-Point Open 2014) and real
postcodes elsewhere (ONSPD Nov 2025) runs through loading and validation; every row must come
out with the status its fault calls for, and the reconciliation must add up.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff._errors import InputFileError
from geosuff.config import Scenario, scenario_from_dict
from geosuff.inputs import DEMO_NETWORK, DEMO_POSTCODES, STATUSES, Loaded
from geosuff.inputs.validate import (
    ValidationReport,
    distance_outside_box,
    network_extent,
    reconciliation,
    reconciliation_summary,
    validate_scenario,
)
from geosuff.testing import MESSY_FAULTS, MESSY_REFERENCE_DATE, make_messy_cohort

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
LEEDS_PBF = REPO / "tests" / "data" / "its-example-leeds.osm.pbf"

SITES = """site_id,name,type,places,available_places,postcode,easting,northing
S1,Home A,childrens_home,4,1,,486000,308900
S2,Foster cluster 1,foster_cluster,3,0,LE15 9AE,,
S3,Supported flats,supported_accommodation,5,2,,485500,300100
S4,Near neighbour,childrens_home,3,0,,466700,318700
S5,Typo far away,childrens_home,3,0,,386000,308900
"""
CANDIDATES = """candidate_id,name,postcode,bedrooms,uses
P1,Property 1,LE15 6AA,3,small_home
P2,Property 2,PE9 4AA,2,care_leaver_unit
"""


def _scenario(
    folder: Path,
    *,
    placements: Path,
    council: str = "E06000017",
    network: Path = DEMO_NETWORK,
    **inputs: object,
) -> Scenario:
    (folder / "sites.csv").write_text(SITES, encoding="utf-8")
    (folder / "candidates.csv").write_text(CANDIDATES, encoding="utf-8")
    data = {
        "council": council,
        "inputs": {
            "placements": str(placements),
            "sites": str(folder / "sites.csv"),
            "candidates": str(folder / "candidates.csv"),
            "postcodes": str(DEMO_POSTCODES),
            "network": str(network),
            **inputs,
        },
        "analysis": {"reference_date": MESSY_REFERENCE_DATE},
    }
    return scenario_from_dict(data, base_dir=folder)


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, ValidationReport]:
    folder = tmp_path_factory.mktemp("messy")
    df = make_messy_cohort(10_000, 2026)
    path = folder / "placements.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    return df, validate_scenario(_scenario(folder, placements=path))


def test_messy_cohort_is_deterministic_and_has_every_fault() -> None:
    a = make_messy_cohort(3000, 5)
    b = make_messy_cohort(3000, 5)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    assert not a.equals(make_messy_cohort(3000, 6))
    assert set(a.attrs["fault"]) == set(MESSY_FAULTS)
    assert len(a) == 3000 and a.map(lambda v: isinstance(v, str)).all().all()


def test_messy_10k_cohort_reconciles_row_by_row(
    messy: tuple[pd.DataFrame, ValidationReport],
) -> None:
    df, rep = messy
    rec = rep.reconciliation
    assert rec is not None
    pl = rec[rec["table"] == "placements"]
    assert len(pl) == 10_000
    assert pl["row"].tolist() == list(range(1, 10_001))
    # every row has exactly the status its fault calls for (the loader's) ...
    got = rep.loaded["placements"].table["status"].tolist()
    want = df.attrs["expected_status"]
    wrong = [
        (i + 1, df.attrs["fault"][i], got[i], want[i]) for i in range(len(df)) if got[i] != want[i]
    ]
    assert wrong == []
    # ... and its fate is that, or estimated because a point is outside the Rutland extract
    fate = pl["status"].to_numpy()
    moved = fate != np.array(got, dtype=object)
    assert moved.any() and set(fate[moved]) == {"used-with-estimate"}
    assert pl["reason"][moved].str.contains("outside the road network rutland-latest").all()
    # counts add up, and every row that is not plainly used says why
    summ = reconciliation_summary(rec).set_index("table")
    for table, n in (("placements", 10_000), ("sites", 5), ("candidates", 2)):
        r = summ.loc[table]
        assert r["rows"] == n == r["used"] + r["used-with-estimate"] + r["excluded"]
    assert (rec.loc[rec["status"] != "used", "reason"].str.len() > 0).all()
    n_excluded = sum(1 for s in want if s == "excluded")
    assert summ.loc["placements", "excluded"] == n_excluded > 100


def test_messy_cohort_issue_counts_match_the_faults(
    messy: tuple[pd.DataFrame, ValidationReport],
) -> None:
    df, rep = messy
    iss = rep.issues[rep.issues["file"] == "placements.csv"]
    faults = pd.Series(df.attrs["fault"]).value_counts()
    by_code = iss["code"].value_counts()
    # one issue per faulty row for faults that touch one cell and nothing else
    for fault, code in (
        ("postcode_pseudo", "postcode.pseudo"),
        ("postcode_incomplete", "postcode.incomplete"),
        ("postcode_placeholder", "postcode.placeholder"),
        ("place_unknown", "place.unknown"),
        ("place_blank", "place.missing"),
        ("child_missing", "child.missing"),
        ("duplicate_exact", "child.duplicate_row"),
        ("duplicate_earlier_episode", "child.earlier_episode"),
        ("duplicate_conflict", "child.duplicate_id"),
        ("dob_us", "date.us_format"),
        ("dob_excel_serial", "date.excel_serial"),
        ("dob_too_old", "dob.too_old"),
        ("uasc_invalid", "uasc.invalid"),
        ("blank_row", "row.blank"),
        ("postcode_excel_error", "excel.error_value"),
    ):
        assert by_code.get(code, 0) == faults.get(fault, 0) > 0, (fault, code)
    # silent normalisations give no issue at all
    rows_ok = {
        i + 1
        for i, f in enumerate(df.attrs["fault"])
        if f
        in {
            "clean",
            "postcode_case_space",
            "postcode_nbsp",
            "place_lowercase",
            "dob_iso",
            "dob_two_digit_year",
        }
    }
    dup_sources = set()
    for r in iss.loc[
        iss["code"].isin(["child.duplicate_row", "child.earlier_episode", "child.duplicate_id"]),
        "problem",
    ]:
        dup_sources |= {int(x) for x in re.findall(r"row (\d+)", r)}
    noisy = iss[iss["row"].isin(rows_ok - dup_sources) & ~iss["code"].isin(["date.before_birth"])]
    assert noisy.empty, noisy.head()


def test_messy_report_text(messy: tuple[pd.DataFrame, ValidationReport]) -> None:
    _, rep = messy
    assert rep.errors > 0 and rep.warnings > rep.errors
    assert not rep.ok  # duplicate-id and blank-row errors
    text = rep.to_text()
    assert "NOT OK - " in text and "row(s) would be excluded" in text
    assert "placements: 10000 rows = " in text
    assert "... and " in text  # long groups are summarised
    assert len(text.splitlines()) < 600
    assert "S5" not in text or "km outside" in text
    short = rep.to_text(show_values=False)
    assert "ZZ99 3VZ'" not in short and "= '" not in short
    with pytest.raises(InputFileError, match="error"):
        rep.raise_for_errors()


def test_sites_far_outside_the_network(messy: tuple[pd.DataFrame, ValidationReport]) -> None:
    _, rep = messy
    sites = rep.loaded["sites"].table.set_index("site_id")
    assert sites.loc["S4", "status"] == "used"  # 13 km outside the Rutland extract: estimated later
    assert sites.loc["S5", "status"] == "excluded"  # 100 km west: wrong coordinates
    iss = rep.issues[rep.issues["file"] == "sites.csv"].set_index("row")
    assert iss.loc[4, "code"] == "location.outside_network" and iss.loc[4, "severity"] == "warning"
    assert (
        iss.loc[5, "code"] == "location.far_outside_network" and iss.loc[5, "severity"] == "error"
    )
    assert "km outside the road network rutland-latest.osm.pbf" in iss.loc[5, "problem"]


def test_network_extent_and_distance() -> None:
    box = network_extent(DEMO_NETWORK)
    assert box is not None
    # the Geofabrik Rutland extract's header box, in BNG metres
    assert 479_000 < box[0] < 480_000 and 506_000 < box[2] < 507_500
    assert 292_000 < box[1] < 293_000 and 319_000 < box[3] < 320_000
    d = distance_outside_box(
        np.array([485_000.0, box[2] + 3000, np.nan]), np.array([300_000.0, box[3] + 4000, 1.0]), box
    )
    assert d[0] == 0 and d[1] == pytest.approx(5000) and np.isnan(d[2])
    leeds = network_extent(LEEDS_PBF)  # no header box: scanned from the nodes
    assert leeds is not None and 428_000 < leeds[0] < leeds[2] < 431_000
    with pytest.raises(InputFileError, match="could not be read as OpenStreetMap data"):
        network_extent(CORPUS / "pl_pdf_report.csv")


def test_every_problem_of_every_file_in_one_report(tmp_path: Path) -> None:
    """A broken placements file, a network elsewhere, an unknown council: one report, all listed."""
    sc = _scenario(
        tmp_path,
        placements=CORPUS / "pl_unclosed_quote.csv",
        council="E06999999",
        network=LEEDS_PBF,
    )
    rep = validate_scenario(sc)
    assert not rep.ok
    fatal = rep.fatal
    assert "pl_unclosed_quote.csv" in set(fatal["file"])
    assert any("E06999999 is not in the boundaries" in p for p in fatal["problem"])
    # the sites were still checked row by row
    assert "sites" in rep.loaded and len(rep.loaded["sites"].table) == 5
    text = rep.to_text()
    assert "opened on line 3" in text and "E06999999" in text
    assert "the run cannot start" in text


def test_network_that_does_not_cover_the_council(tmp_path: Path) -> None:
    sc = _scenario(tmp_path, placements=CORPUS / "pl_utf8_bom.csv", network=LEEDS_PBF)
    rep = validate_scenario(sc)
    codes = set(rep.issues["code"])
    assert "network.wrong_area" in codes
    # every site is then far outside the network
    assert (rep.loaded["sites"].table["status"] == "excluded").all()
    assert not rep.ok


def test_council_code_queried_when_homes_are_elsewhere(tmp_path: Path) -> None:
    df = make_messy_cohort(60, 1, fault_share=0.0)
    p = tmp_path / "pl.csv"
    df.to_csv(p, index=False)
    rep = validate_scenario(
        _scenario(tmp_path, placements=p, council="E10000018")
    )  # Leicestershire
    hit = rep.issues[rep.issues["code"] == "council.homes_elsewhere"]
    assert len(hit) == 1 and "most are in E06000017" in hit["problem"].iloc[0]
    # a warning, not an error (the only error is site S5, 100 km away)
    assert set(rep.issues.loc[rep.issues["severity"] == "error", "code"]) == {
        "location.far_outside_network"
    }
    assert "network.partial" in set(
        rep.issues["code"]
    )  # the Rutland extract covers a bit of Leicestershire


def test_clean_inputs_are_ok(tmp_path: Path) -> None:
    sc = _scenario(tmp_path, placements=CORPUS / "pl_utf8_bom.csv")
    rep = validate_scenario(sc)
    site_errors = rep.issues[(rep.issues["severity"] == "error")]
    assert set(site_errors["file"]) == {"sites.csv"}  # only S5, 100 km away
    (tmp_path / "sites.csv").write_text(SITES.rsplit("S5", 1)[0], encoding="utf-8")
    rep = validate_scenario(
        scenario_from_dict({**sc.model_dump(mode="json", exclude={"source"})}, base_dir=tmp_path)
    )
    assert rep.errors == 0 and rep.ok
    assert "OK" in rep.to_text().splitlines()[-6] or "OK with warnings" in rep.to_text()


def test_a_use_added_in_config_is_recognised_in_candidates(tmp_path: Path) -> None:
    """A candidate whose use has rules only in the scenario's [siting.rules.<use>] is used, not
    excluded as "no recognised use"."""
    sc = _scenario(tmp_path, placements=CORPUS / "pl_utf8_bom.csv")
    (tmp_path / "candidates.csv").write_text(
        CANDIDATES + "P3,Property 3,LE15 6AA,3,foster_hub\n", encoding="utf-8"
    )
    rep = validate_scenario(
        scenario_from_dict(
            {
                **sc.model_dump(mode="json", exclude={"source"}),
                "siting": {"rules": {"foster_hub": {"max_places": 3}}},
            },
            base_dir=tmp_path,
        ),
        check_network=False,
    )
    cand = rep.loaded["candidates"].table.set_index("candidate_id")
    assert cand.loc["P3", "status"] == "used" and cand.loc["P3", "uses"] == "foster_hub"
    assert "candidate.uses" not in set(rep.issues["code"])


# ----------------------------------------------------------------------------------------------
# Reconciliation semantics
# ----------------------------------------------------------------------------------------------
def _loaded(statuses: list[str], reasons: list[str] | None = None, name: str = "sites") -> Loaded:
    n = len(statuses)
    t = pd.DataFrame(
        {
            "row": np.arange(1, n + 1),
            "site_id": [f"S{i}" for i in range(1, n + 1)],
            "status": statuses,
            "reason": reasons or [""] * n,
        }
    )
    return Loaded(name, Path(f"{name}.csv"), t)


def test_later_stages_can_downgrade_but_never_resurrect() -> None:
    t = _loaded(
        ["used", "used", "excluded", "used-with-estimate"],
        ["", "", "missing site_id", "lon and lat were swapped"],
    )
    extra = pd.DataFrame(
        {
            "row": [1, 2, 3, 4],
            "status": ["used-with-estimate", "used", "used", "excluded"],
            "reason": ["", "", "", "not on the network"],
            "road_estimated": [True, False, False, False],
        }
    )
    rec = reconciliation([t], {"sites": extra})
    assert rec["status"].tolist() == ["used-with-estimate", "used", "excluded", "excluded"]
    assert rec["reason"].tolist() == [
        "road travel time estimated from the straight line (point off the road network)",
        "",
        "missing site_id",
        "lon and lat were swapped; not on the network",
    ]
    assert rec["id"].tolist() == ["S1", "S2", "S3", "S4"]
    # dict form, and rows a later stage does not mention keep their status
    rec2 = reconciliation([t], {"sites": {2: ("excluded", "closed"), 4: "used"}})
    assert rec2["status"].tolist() == ["used", "excluded", "excluded", "used-with-estimate"]
    assert rec2["reason"].iloc[1] == "closed"


def test_reconciliation_rejects_unknown_statuses() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        reconciliation([_loaded(["used", "dropped"])])
    with pytest.raises(ValueError, match="unknown status"):
        reconciliation([_loaded(["used"])], {"sites": {1: "maybe"}})


def test_reconciliation_of_placement_measures(tmp_path: Path) -> None:
    """The pipeline passes placement_measures' frame (loader columns + distance reason)."""
    from geosuff.analysis.distance import placement_measures
    from geosuff.inputs import Boundaries, default_lookup, load_placements

    pl = load_placements(
        CORPUS / "pl_duplicate_row.csv",
        lookup=default_lookup(DEMO_POSTCODES),
        boundaries=Boundaries.load(),
        reference_date=MESSY_REFERENCE_DATE,
    )
    m = placement_measures(pl.table, council="E06000017")
    m["status"] = "used"  # a later stage that forgot the loader's exclusions
    rec = reconciliation([pl], {"placements": m})
    assert rec["status"].tolist() == ["used"] * 5 + ["excluded"]
    assert rec["reason"].iloc[5] == "exact duplicate of row 1"
    assert set(rec["status"]) <= set(STATUSES)


@pytest.mark.parametrize("travel", ["road", "estimate"])
def test_validate_and_review_give_every_row_the_same_fate(tmp_path: Path, travel: str) -> None:
    """Issue #18.3: one decision (row_fates) for both commands - same counts per file, same
    status row by row. Sites: S4 is 13 km outside the Rutland extract (estimated), S5 100 km
    away (excluded, by review too); children placed outside Rutland get estimated road times;
    with travel = "estimate" every located row is estimated."""
    from geosuff.inputs.validate import fate_lines
    from geosuff.pipeline import run

    df = make_messy_cohort(80, 3, fault_share=0.1)
    p = tmp_path / "pl.csv"
    df.to_csv(p, index=False)
    sc = _scenario(tmp_path, placements=p)
    if travel == "estimate":
        sc = sc.model_copy(update={"analysis": sc.analysis.model_copy(update={"travel": travel})})
    sc = sc.model_copy(update={"output": sc.output.model_copy(update={"dir": tmp_path / "out"})})
    rep = validate_scenario(sc)
    res = run(sc, write=False)
    assert not (tmp_path / "out").exists()  # write=False writes no output (README's snippet)
    assert rep.reconciliation is not None and res.reconciliation is not None
    v = rep.reconciliation.set_index(["table", "row"])["status"]
    r = res.reconciliation.set_index(["table", "row"])["status"].reindex(v.index)
    assert (v == r).all(), pd.concat({"validate": v, "review": r}, axis=1)[v != r]
    assert fate_lines(rep.reconciliation) == fate_lines(
        res.reconciliation[res.reconciliation["table"].isin(["placements", "sites", "candidates"])]
    )
    sites = v.loc["sites"]
    n_est = int((v.loc["placements"] == "used-with-estimate").sum())
    if travel == "estimate":  # no network to judge locations by: every located row estimated
        assert n_est > 0
        assert (sites == "used-with-estimate").all()
        assert (v.loc["candidates"] == "used-with-estimate").all()
    else:
        assert sites.loc[5] == "excluded" and sites.loc[4] == "used-with-estimate"
        assert (sites.drop([4, 5]) == "used").all()
    # the `checked` lines agree with the reconciliation too
    pl_line = next(c for c in rep.checked if c.startswith("placements:"))
    assert f"{n_est} used with an estimate" in pl_line
