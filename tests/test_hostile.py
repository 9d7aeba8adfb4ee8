"""Property-based and fuzz tests: loaders, postcode normalisation, the DfE distance function,
atomic writes and reruns.

Whatever a council's export holds, geosuff must not crash (only GeosuffError, with a message),
must not lose a row, and must give the same answer twice.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from geosuff._errors import GeosuffError
from geosuff._io import atomic_path, atomic_write_bytes, atomic_write_text
from geosuff.analysis.distance import dfe_miles
from geosuff.inputs import (
    DEMO_POSTCODES,
    STATUSES,
    Boundaries,
    PostcodeLookup,
    load_placements,
    load_sites,
    locate_points,
    normalise_postcode,
    normalise_postcode_detail,
    normalise_postcodes,
    parse_uk_dates_detail,
    read_raw,
)
from geosuff.inputs.validate import reconciliation
from geosuff.testing import MESSY_REFERENCE_DATE, make_messy_cohort

CANONICAL = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")
RUTLAND = pd.read_csv(DEMO_POSTCODES, dtype=str)["postcode"].tolist()
SLOW = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def lookup() -> PostcodeLookup:
    # no ONSPD fallback: random postcodes would load every letter of the national file
    return PostcodeLookup.from_file(DEMO_POSTCODES, fallback=False)


@pytest.fixture(scope="module")
def boundaries() -> Boundaries:
    return Boundaries.load()


# ----------------------------------------------------------------------------------------------
# Postcodes
# ----------------------------------------------------------------------------------------------
letters = st.sampled_from("ABCDEFGHIJKLMNOPRSTUWYZ")
unit = st.sampled_from("ABDEFGHJLNPQRSTUWXYZ")
digit = st.sampled_from("0123456789")


@st.composite
def valid_postcodes(draw: st.DrawFn) -> str:
    area = draw(letters) + draw(st.one_of(st.just(""), letters))
    district = draw(digit) + draw(st.one_of(st.just(""), digit, letters))
    return f"{area}{district} {draw(digit)}{draw(unit)}{draw(unit)}"


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none()))
def test_normalise_postcode_never_raises_and_is_canonical(value: object) -> None:
    pc, reason = normalise_postcode(value)
    assert (pc is None) == (reason != "")
    if pc is not None:
        assert CANONICAL.match(pc) or pc == "GIR 0AA"
        assert normalise_postcode(pc) == (pc, "")
    pc2, reason2, note = normalise_postcode_detail(value)
    assert (pc2 is None) == (reason2 != "")
    if pc is not None:
        assert pc2 == pc and note == ""  # nothing is "corrected" in a valid postcode


@settings(max_examples=300)
@given(
    pc=valid_postcodes(),
    seps=st.lists(
        st.sampled_from(["", " ", "  ", "\u00a0", "-", ".", "\t"]), min_size=8, max_size=8
    ),
    lower=st.booleans(),
)
def test_normalisation_ignores_case_spaces_and_punctuation(
    pc: str, seps: list[str], lower: bool
) -> None:
    compact = pc.replace(" ", "")
    messy = "".join(c + s for c, s in zip(compact, seps, strict=False))
    messy = messy.lower() if lower else messy
    if compact.startswith("ZZ99"):
        return
    assert normalise_postcode(messy) == (pc, "")
    assert normalise_postcode(f"  {messy}  ") == (pc, "")


@settings(max_examples=200)
@given(pc=valid_postcodes())
def test_letter_for_digit_is_corrected_only_when_unambiguous(pc: str) -> None:
    out, inw = pc.split(" ")
    if inw[0] not in "01" or pc.startswith("ZZ99"):
        return
    typo = f"{out} {'O' if inw[0] == '0' else 'I'}{inw[1:]}"
    fixed, reason, note = normalise_postcode_detail(typo)
    assert (fixed, reason) == (pc, "") and "a letter typed for a digit" in note
    assert normalise_postcode(typo)[0] is None  # the plain normaliser guesses nothing


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            valid_postcodes(), st.text(max_size=12), st.none(), st.sampled_from(RUTLAND[:50])
        ),
        max_size=40,
    )
)
def test_vectorised_normalisation_equals_the_scalar_one(values: list[object]) -> None:
    v = normalise_postcodes(values)
    for i, x in enumerate(values):
        pc, reason, note = normalise_postcode_detail(x)
        got = v["postcode"].iloc[i]
        assert (None if pd.isna(got) else got) == pc
        assert v["reason"].iloc[i] == reason and v["note"].iloc[i] == note


# ----------------------------------------------------------------------------------------------
# The DfE distance
# ----------------------------------------------------------------------------------------------
coord = st.floats(min_value=0, max_value=700_000, allow_nan=False).map(lambda v: float(round(v)))


@settings(max_examples=500)
@given(he=coord, hn=coord, pe=coord, pn=coord)
def test_dfe_miles_properties(he: float, hn: float, pe: float, pn: float) -> None:
    m = float(dfe_miles([he], [hn], [pe], [pn])[0])
    # equals the formula
    assert m == float(np.round(np.sqrt((he - pe) ** 2 + (hn - pn) ** 2) / 1000 / 1.6093, 1))
    # symmetric, non-negative, zero for the same point
    assert m == float(dfe_miles([pe], [pn], [he], [hn])[0])
    assert m >= 0
    assert float(dfe_miles([he], [hn], [he], [hn])[0]) == 0.0
    # one decimal place
    assert abs(m * 10 - round(m * 10)) < 1e-6
    # within rounding of the true distance in miles (1.6093 km to the DfE mile)
    assert abs(m - math.hypot(he - pe, hn - pn) / 1609.3) <= 0.05 + 1e-9


@settings(max_examples=100)
@given(st.lists(st.one_of(coord, st.just(float("nan"))), min_size=4, max_size=4))
def test_dfe_miles_missing_is_nan(v: list[float]) -> None:
    m = dfe_miles([v[0]], [v[1]], [v[2]], [v[3]])[0]
    assert np.isnan(m) == any(np.isnan(x) for x in v)


# ----------------------------------------------------------------------------------------------
# Loaders under fuzz
# ----------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_a_table_or_a_clear_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    p = tmp_path_factory.mktemp("b") / "x.csv"
    p.write_bytes(data)
    try:
        raw = read_raw(p, name="placements", expect_columns=["CHILD", "PLACE"])
    except GeosuffError as err:
        assert str(err) and err.fix
        event("refused")
        return
    event("read")
    assert len(raw.df) == len(raw.lines)


cell = st.one_of(
    st.sampled_from(RUTLAND[:200]),
    st.sampled_from(
        [
            "",
            " ",
            "N/K",
            "ZZ99 3VZ",
            "LE15",
            "#N/A",
            "U4",
            "K2",
            "x",
            "0",
            "31/02/2020",
            "03/31/2012",
            "2012-05-01",
            "45000",
            "-1",
            "1e9",
            "NaN",
            "é£",
            "\u00a0",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=15,
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@SLOW
@given(
    rows=st.lists(st.lists(cell, min_size=7, max_size=7), min_size=1, max_size=25),
    sep=st.sampled_from([",", ";", "\t"]),
    enc=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_fuzzed_placements_never_crash_nor_lose_a_row(
    tmp_path_factory: pytest.TempPathFactory,
    lookup: PostcodeLookup,
    boundaries: Boundaries,
    rows: list[list[str]],
    sep: str,
    enc: str,
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(["CHILD", "DOB", "UASC", "DECOM", "PLACE", "HOME_POST", "PL_POST"])
    w.writerows(rows)
    text = buf.getvalue()
    try:
        data = text.encode(enc)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    p = tmp_path_factory.mktemp("f") / "placements.csv"
    p.write_bytes(data)
    try:
        loaded = load_placements(
            p, lookup=lookup, boundaries=boundaries, reference_date=MESSY_REFERENCE_DATE
        )
    except GeosuffError as err:
        assert err.fix
        event(f"refused: {str(err).split(' ')[4:8]}")
        return
    event("loaded")
    # independent count of data rows: csv module, trailing blank rows not counted
    parsed = list(
        csv.reader(
            io.StringIO(
                data.decode(
                    enc if data != text.encode("utf-8") or enc == "utf-8" else "utf-8"
                ).lstrip("\ufeff"),
                newline="",
            ),
            delimiter=sep,
        )
    )[1:]
    while parsed and not any(c.strip(" \t\r\n\u00a0\u200b\ufeff") for c in parsed[-1]):
        parsed.pop()
    t = loaded.table
    assert len(t) == len(parsed)
    assert set(t["status"]) <= set(STATUSES)
    rec = reconciliation([loaded])
    assert len(rec) == len(t)
    assert (rec.loc[rec["status"] != "used", "reason"].str.len() > 0).all()
    # a used row's distance ends are either located or say why not
    for side in ("home", "pl"):
        located = np.isfinite(t[f"{side}_e"]) & np.isfinite(t[f"{side}_n"])
        assert (located | (t[f"{side}_reason"].astype(str) != "")).all()


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(finite, finite, finite, finite), min_size=1, max_size=20))
def test_locate_points_handles_any_numbers(
    boundaries: Boundaries, vals: list[tuple[float, float, float, float]]
) -> None:
    df = pd.DataFrame(vals, columns=["easting", "northing", "lon", "lat"]).astype(str)
    loc, issues = locate_points(df, None, file="x.csv", boundaries=boundaries)
    e, n = loc["easting"].to_numpy(), loc["northing"].to_numpy()
    ok = np.isfinite(e) & np.isfinite(n)
    # located points are on the National Grid; the others say why
    assert ((e[ok] >= 0) & (e[ok] <= 700_000) & (n[ok] >= 0) & (n[ok] <= 1_300_000)).all()
    assert (loc["location_reason"].to_numpy()[~ok] != "").all()
    assert all(i.severity in {"warning", "error"} for i in issues)


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(st.text(max_size=20), st.dates().map(lambda d: d.strftime("%d/%m/%Y"))),
        max_size=20,
    )
)
def test_dates_never_raise(values: list[str]) -> None:
    d, p = parse_uk_dates_detail(pd.Series(values, dtype=object))
    assert len(d) == len(p) == len(values)
    assert (
        (p != "") | d.notna() | (pd.Series(values, dtype=object).astype(str).str.strip() == "")
    ).all()


@SLOW
@given(rows=st.lists(st.lists(cell, min_size=6, max_size=6), min_size=1, max_size=15))
def test_fuzzed_sites_never_crash(
    tmp_path_factory: pytest.TempPathFactory,
    lookup: PostcodeLookup,
    boundaries: Boundaries,
    rows: list[list[str]],
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["site_id", "type", "places", "postcode", "easting", "northing"])
    w.writerows(rows)
    p = tmp_path_factory.mktemp("s") / "sites.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    try:
        loaded = load_sites(p, lookup=lookup, boundaries=boundaries)
    except GeosuffError:
        return
    t = loaded.table
    used = t[t["status"] != "excluded"]
    assert np.isfinite(used["easting"]).all() and np.isfinite(used["northing"]).all()
    assert used["site_id"].is_unique


# ----------------------------------------------------------------------------------------------
# Atomic writes and reruns
# ----------------------------------------------------------------------------------------------
def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.csv"
    atomic_write_text(target, "a,b\n1,2\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text() == "a,b\n1,2\n"
    assert os.listdir(target.parent) == ["table.csv"]  # no temporary file left behind
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        raise KeyboardInterrupt
    assert os.listdir(target.parent) == ["table.csv"]
    atomic_write_bytes(target, b"x\r\n")
    assert target.read_bytes() == b"x\r\n"
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # ordinary permissions, not mkstemp's


def test_atomic_path_keeps_the_suffix_for_drivers(tmp_path: Path) -> None:
    import geopandas as gpd

    g = gpd.GeoDataFrame(
        {"a": [1]}, geometry=gpd.points_from_xy([486000.0], [308000.0]), crs="EPSG:27700"
    )
    with atomic_path(tmp_path / "layers.gpkg") as tmp:
        assert tmp.suffix == ".gpkg" and tmp.parent == tmp_path
        tmp.unlink()
        g.to_file(tmp, layer="x", driver="GPKG")
    assert gpd.read_file(tmp_path / "layers.gpkg", layer="x").shape[0] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["layers.gpkg"]


def test_reruns_are_byte_identical(
    tmp_path: Path, lookup: PostcodeLookup, boundaries: Boundaries
) -> None:
    outs = []
    for k in range(2):
        df = make_messy_cohort(1200, 42)
        p = tmp_path / f"p{k}.csv"
        df.to_csv(p, index=False, lineterminator="\n")
        loaded = load_placements(
            p, lookup=lookup, boundaries=boundaries, reference_date=MESSY_REFERENCE_DATE
        )
        rec = reconciliation([loaded])
        out = tmp_path / f"rec{k}.csv"
        atomic_write_text(out, rec.to_csv(index=False, lineterminator="\n"))
        table = tmp_path / f"t{k}.csv"
        atomic_write_text(
            table, loaded.table.drop(columns=["line"]).to_csv(index=False, lineterminator="\n")
        )
        outs.append((p.read_bytes(), out.read_bytes(), table.read_bytes()))
    assert outs[0] == outs[1]


def test_a_rerun_removes_files_only_the_earlier_run_wrote(tmp_path: Path) -> None:
    import json

    from geosuff.pipeline import _previous_files, _remove_stale

    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "inputs").mkdir()
    for rel in ("tables/old.csv", "tables/kept.csv", "inputs/placements.csv", "user_notes.txt"):
        (out / rel).write_text("x")
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "files": [
                    "tables/old.csv",
                    "tables/kept.csv",
                    "inputs/placements.csv",
                    "../escape.txt",
                ]
            }
        )
    )
    (tmp_path / "escape.txt").write_text("outside")
    _remove_stale(out, _previous_files(out), {"tables/kept.csv", "manifest.json"})
    assert not (out / "tables/old.csv").exists()
    for rel in ("tables/kept.csv", "inputs/placements.csv", "user_notes.txt"):
        assert (out / rel).exists(), rel
    assert (tmp_path / "escape.txt").exists()
