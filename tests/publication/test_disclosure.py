"""Disclosure control: no suppressed cell can be worked out from what is published.

The property tests build, for random small tables, the linear programme an attacker would solve
from the *published* table alone (cells shown, totals shown, every count >= 0) and check with
``scipy.optimize.linprog`` that each suppressed cell's smallest and largest possible values differ
(at least one child apart), i.e. no suppressed cell is uniquely determined. The LP here is written
independently of :mod:`geosuff.disclosure`'s own audit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from geosuff._errors import DisclosureError
from geosuff.publication import disclosure as dc

MIN = 5


# ----------------------------------------------------------------------------------------------
# An attacker's LP, from published strings only
# ----------------------------------------------------------------------------------------------
def attacker_ranges(
    body: list[list[str]],
    row_totals: list[str] | None,
    col_totals: list[str] | None,
    grand: str | None,
) -> dict[tuple[str, int, int], tuple[float, float]]:
    """For each "c" in a published table: (min, max) of its value given everything published.

    ``body`` is R x C strings; ``row_totals`` R strings (or None: not published);
    ``col_totals`` C strings (or None); ``grand`` the grand total (or None).
    """
    R, C = len(body), len(body[0])
    var: dict[tuple[str, int, int], int] = {}

    def term(kind: str, i: int, j: int, s: str) -> tuple[int | None, float]:
        if s == dc.SUPPRESSED:
            key = (kind, i, j)
            if key not in var:
                var[key] = len(var)
            return var[key], 0.0
        return None, float(s)

    eqs: list[list[tuple[int | None, float, float]]] = []  # (var or None, constant, sign)
    if row_totals is not None:
        for i in range(R):
            eq = [(*term("cell", i, j, body[i][j]), 1.0) for j in range(C)]
            eq.append((*term("row", i, 0, row_totals[i]), -1.0))
            eqs.append(eq)
    if col_totals is not None:
        for j in range(C):
            eq = [(*term("cell", i, j, body[i][j]), 1.0) for i in range(R)]
            eq.append((*term("col", 0, j, col_totals[j]), -1.0))
            eqs.append(eq)
    if grand is not None and row_totals is not None:
        eqs.append(
            [
                *((*term("row", i, 0, row_totals[i]), 1.0) for i in range(R)),
                (*term("grand", 0, 0, grand), -1.0),
            ]
        )
    if grand is not None and col_totals is not None:
        eqs.append(
            [
                *((*term("col", 0, j, col_totals[j]), 1.0) for j in range(C)),
                (*term("grand", 0, 0, grand), -1.0),
            ]
        )
    for i in range(R):
        for j in range(C):
            term("cell", i, j, body[i][j])
    n = len(var)
    if n == 0:
        return {}
    a, b = [], []
    for eq in eqs:
        row = np.zeros(n)
        rhs = 0.0
        for v, const, sign in eq:
            if v is None:
                rhs -= sign * const
            else:
                row[v] += sign
        if row.any():
            a.append(row)
            b.append(rhs)
    out = {}
    for key, k in var.items():
        c = np.zeros(n)
        c[k] = 1
        if not a:
            out[key] = (0.0, np.inf)
            continue
        lo = linprog(c, A_eq=np.array(a), b_eq=np.array(b), bounds=[(0, None)] * n, method="highs")
        hi = linprog(-c, A_eq=np.array(a), b_eq=np.array(b), bounds=[(0, None)] * n, method="highs")
        assert lo.status == 0, "the published table must be consistent"
        out[key] = (lo.fun, -hi.fun if hi.status == 0 else np.inf)
    return out


def assert_protected(ranges: dict[tuple[str, int, int], tuple[float, float]]) -> None:
    for key, (lo, hi) in ranges.items():
        assert hi - lo >= 1 - 1e-6, f"suppressed {key} is determined: [{lo}, {hi}]"


def _fmt(mask: np.ndarray, vals: np.ndarray) -> list[list[str]]:
    return [
        [dc.SUPPRESSED if mask[i, j] else str(int(vals[i, j])) for j in range(vals.shape[1])]
        for i in range(vals.shape[0])
    ]


small_counts = st.integers(min_value=0, max_value=14).map(
    lambda v: v if v % 3 else v // 3
)  # many small and zero counts


@st.composite
def tables(draw: st.DrawFn) -> np.ndarray:
    r = draw(st.integers(1, 5))
    c = draw(st.integers(1, 5))
    return np.array(
        draw(st.lists(st.lists(small_counts, min_size=c, max_size=c), min_size=r, max_size=r)),
        dtype=float,
    )


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables(), layout=st.sampled_from(["rows+cols", "rows", "cols"]))
def test_no_suppressed_cell_is_recoverable_with_totals_in_the_table(
    counts: np.ndarray, layout: str
) -> None:
    rows = layout in {"rows+cols", "rows"}
    cols = layout in {"rows+cols", "cols"}
    s = dc.suppress_table(
        counts, min_count=MIN, row_totals=rows, col_totals=cols, margins_in_table=True
    )
    R, C = counts.shape
    # every small count is suppressed; nothing else changes value
    assert (s.cells[(counts > 0) & (counts < MIN)]).all()
    rt = counts.sum(axis=1)
    ct = counts.sum(axis=0)
    g = counts.sum()
    if rows:
        assert s.row_totals[(rt > 0) & (rt < MIN)].all()
    if cols:
        assert s.col_totals[(ct > 0) & (ct < MIN)].all()
    body = _fmt(s.cells, counts)
    row_s = (
        [dc.SUPPRESSED if s.row_totals[i] else str(int(rt[i])) for i in range(R)] if rows else None
    )
    col_s = (
        [dc.SUPPRESSED if s.col_totals[j] else str(int(ct[j])) for j in range(C)] if cols else None
    )
    grand = (dc.SUPPRESSED if s.grand_total else str(int(g))) if rows and cols else None
    assert_protected(attacker_ranges(body, row_s, col_s, grand))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(counts=tables())
def test_no_suppressed_cell_is_recoverable_from_totals_published_elsewhere(
    counts: np.ndarray,
) -> None:
    """Row, column and grand totals published in another table (so known, and not suppressible
    here). They are themselves publishable only when not small, so tables with a small total
    are out of scope: there a total already gives the cell away."""
    assume((counts.sum(axis=1) >= MIN).all() and (counts.sum(axis=0) >= MIN).all())
    mask = dc.suppress_matrix(counts, min_count=MIN)
    assert mask[(counts > 0) & (counts < MIN)].all()
    body = _fmt(mask, counts)
    rt = [str(int(v)) for v in counts.sum(axis=1)]
    ct = [str(int(v)) for v in counts.sum(axis=0)]
    assert_protected(attacker_ranges(body, rt, ct, str(int(counts.sum()))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables(), total_row=st.booleans())
def test_publish_block_cannot_be_undone(counts: np.ndarray, total_row: bool) -> None:
    cells = counts
    if total_row and counts.shape[0] > 1:
        cells = np.vstack([counts, counts.sum(axis=0)])
    totals = cells.sum(axis=1)
    cs, ts = dc.publish_block(cells, totals, min_count=MIN, total_row=total_row)
    body = [list(r) for r in cs]
    if total_row and counts.shape[0] > 1:
        ranges = attacker_ranges(body[:-1], list(ts[:-1]), body[-1], ts[-1])
    else:
        ranges = attacker_ranges(body, list(ts), None, None)
    assert_protected(ranges)
    # unsuppressed values are the true ones
    for i in range(cells.shape[0]):
        for j in range(cells.shape[1]):
            if cs[i, j] != dc.SUPPRESSED:
                assert int(cs[i, j]) == int(cells[i, j])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables(), with_total_col=st.booleans(), with_total_row=st.booleans())
def test_publish_counts_from_the_published_frame_alone(
    counts: np.ndarray, with_total_col: bool, with_total_row: bool
) -> None:
    R, C = counts.shape
    cols = [f"n_{j}" for j in range(C)]
    df = pd.DataFrame(counts.astype(int), columns=cols)
    df.insert(0, "group", [f"g{i}" for i in range(R)])
    if with_total_col:
        df["n_total"] = counts.sum(axis=1).astype(int)
    if with_total_row:
        tot = {"group": "Total", **{c: int(df[c].sum()) for c in df.columns if c != "group"}}
        df = pd.concat([df, pd.DataFrame([tot])], ignore_index=True)
    pub = dc.publish_counts(
        df,
        cols,
        min_count=MIN,
        total_col="n_total" if with_total_col else None,
        total_row=with_total_row,
    )
    # what a reader sees: the published strings, and totals are sums of the cells
    nb = R
    body = [[str(pub[c].iloc[i]) for c in cols] for i in range(nb)]
    row_s = [str(pub["n_total"].iloc[i]) for i in range(nb)] if with_total_col else None
    col_s = [str(pub[c].iloc[-1]) for c in cols] if with_total_row else None
    grand = str(pub["n_total"].iloc[-1]) if with_total_col and with_total_row else None
    assert_protected(attacker_ranges(body, row_s, col_s, grand))
    small = (counts > 0) & (counts < MIN)
    assert all(body[i][j] == dc.SUPPRESSED for i, j in zip(*np.nonzero(small), strict=True))


# ----------------------------------------------------------------------------------------------
# Worked examples
# ----------------------------------------------------------------------------------------------
def test_bridge_between_two_cycles_is_caught_by_the_audit() -> None:
    """Two blocks of suppressed cells joined by one suppressed cell: every row and column has two
    suppressed cells (the classic rule is satisfied), yet the joining cell is determined."""
    counts = np.array([[3, 6, 0, 0], [7, 2, 9, 0], [0, 0, 4, 8], [0, 0, 6, 1]], dtype=float)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=bool)
    for line in (*mask, *mask.T):
        assert line.sum() in (0, 2, 3)
    audit = dc.audit_suppression(counts, mask, row_totals=True, col_totals=True)
    bridge = audit[(audit["row"] == 1) & (audit["col"] == 2)].iloc[0]
    assert bridge["lower"] == bridge["upper"] == 9.0
    s = dc.suppress_table(counts, row_totals=True, col_totals=True, margins_in_table=False)
    audit2 = dc.audit_suppression(counts, s.cells, row_totals=True, col_totals=True)
    assert ((audit2["upper"] - audit2["lower"]) >= 1).all()


def test_small_totals_and_whole_rows() -> None:
    cells = np.array([[1, 2, 0], [10, 6, 5], [11, 8, 5]], dtype=float)
    cs, ts = dc.publish_block(cells, cells.sum(axis=1), total_row=True)
    # the first row's total (3) is small: the row goes whole, and so must a second row total
    assert ts[0] == "c" and list(cs[0]) == ["c", "c", "c"]
    assert ts[1] == "c"  # else 24 - 21 = 3 gives it back
    assert ts[2] == "24"
    audit = dc.audit_suppression(
        cells[:2],
        cs[:2] == "c",
        row_total_mask=ts[:2] == "c",
        col_total_mask=cs[2] == "c",
        grand_total_mask=ts[2] == "c",
    )
    assert ((audit["upper"] - audit["lower"]) >= 1).all()


def test_publish_counts_examples() -> None:
    df = pd.DataFrame(
        {
            "la": ["A", "B", "C", "Total"],
            "near": [12, 3, 20, 35],
            "far": [6, 9, 2, 17],
            "n_total": [18, 12, 22, 52],
        }
    )
    pub = dc.publish_counts(df, ["near", "far"], total_col="n_total", total_row=True)
    assert pub["near"].iloc[1] == "c" and pub["far"].iloc[2] == "c"
    assert pub["n_total"].tolist()[-1] == "52"
    # no row or column keeps a single "c"
    body = pub.iloc[:3][["near", "far"]].to_numpy()
    assert all((r == "c").sum() != 1 for r in body) and all((c == "c").sum() != 1 for c in body.T)
    # the unchanged columns are untouched, and the input is not modified
    assert pub["la"].tolist() == ["A", "B", "C", "Total"]
    assert df["near"].tolist() == [12, 3, 20, 35]


def test_percentages_withheld_where_numerator_or_base_is_suppressed() -> None:
    raw = pd.DataFrame({"g": ["a", "b", "c"], "far": [6, 2, 3], "children": [20, 30, 3]})
    pub = dc.publish_counts(raw, ["far"], total_col="children")
    out = dc.publish_percentages(pub, raw, ["far"], "children")
    assert out["pct_far"].iloc[0] == "30%"
    assert out["pct_far"].iloc[1] == dc.SUPPRESSED  # numerator suppressed
    assert out["pct_far"].iloc[2] == dc.SUPPRESSED  # base suppressed
    assert (
        dc.publish_percent(2, 30) == "c"
        and dc.publish_percent(10, 3) == "c"
        and dc.publish_percent(6, 20) == "30%"
    )
    assert dc.publish_percent(1, 0) == ":"


def test_count_bands_never_show_small_counts() -> None:
    assert [dc.count_band(n) for n in (0, 1, 4, 5, 9, 10, 19, 20, 99, 100)] == [
        "0",
        "fewer than 5",
        "fewer than 5",
        "5-9",
        "5-9",
        "10-19",
        "10-19",
        "20-49",
        "50-99",
        "100 or more",
    ]


def test_suppress_matrix_one_row() -> None:
    m = dc.suppress_matrix(np.array([2, 7, 9]))
    assert m.tolist() == [True, True, False]


# ----------------------------------------------------------------------------------------------
# Published-file checks
# ----------------------------------------------------------------------------------------------
LE15_6AA = (485996.0, 308869.0)
LE15_9AE = (486079.0, 301005.0)


@pytest.fixture()
def measures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CHILD": ["C00123", "C00456"],
            "HOME_POST": ["LE15 6AA", "LE15 9AE"],
            "PL_POST": ["LE15 9AE", pd.NA],
            "home_e": [LE15_6AA[0], LE15_9AE[0]],
            "home_n": [LE15_6AA[1], LE15_9AE[1]],
            "pl_e": [LE15_9AE[0], np.nan],
            "pl_n": [LE15_9AE[1], np.nan],
        }
    )


def test_child_points_on_a_web_map_are_found(tmp_path: Path, measures: pd.DataFrame) -> None:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(*LE15_6AA)
    pts = dc.personal_points(measures)
    assert len(pts) == 2  # two distinct points (LE15 9AE is both a home and a placement)
    leaky = tmp_path / "map.html"
    leaky.write_text(
        f"<script>L.marker([{lat:.6f}, {lon:.6f}]).addTo(map);</script>", encoding="utf-8"
    )
    assert dc.check_published_file(leaky, [], points=pts) == ["point near (485996, 308869)"]
    geojson = tmp_path / "areas.geojson"
    geojson.write_text(f'{{"type":"Point","coordinates":[{lon},{lat}]}}', encoding="utf-8")
    assert dc.check_published_file(geojson, [], points=pts)
    # the 1 km square's centre is published, not the point
    ok = tmp_path / "ok.html"
    glon, glat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        485500.0, 308500.0
    )
    ok.write_text(f"L.marker([{glat:.6f}, {glon:.6f}])", encoding="utf-8")
    assert dc.check_published_file(ok, [], points=pts) == []


def test_child_points_and_ids_in_a_geopackage_are_found(
    tmp_path: Path, measures: pd.DataFrame
) -> None:
    import geopandas as gpd

    g = gpd.GeoDataFrame(
        {"label": ["C00123"]},
        geometry=gpd.points_from_xy([LE15_9AE[0]], [LE15_9AE[1]]),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    p = tmp_path / "out.gpkg"
    g.to_file(p, layer="x", driver="GPKG")
    found = dc.check_published_file(
        p, dc.personal_strings(measures), points=dc.personal_points(measures)
    )
    assert "C00123" in found and "point near (486079, 301005)" in found
    with pytest.raises(DisclosureError) as info:
        dc.assert_publishable(
            [p], dc.personal_strings(measures), points=dc.personal_points(measures)
        )
    assert "C00123" not in str(info.value) and "out.gpkg" in str(info.value)


def test_postcodes_and_ids_in_text(tmp_path: Path, measures: pd.DataFrame) -> None:
    f = tmp_path / "t.csv"
    f.write_text("area,n\nle159ae,3\n", encoding="utf-8")
    assert dc.check_published_file(f, dc.personal_strings(measures)) == ["LE159AE"]
    sites = pd.DataFrame(
        {
            "site_id": ["S1", "S2"],
            "type": ["childrens_home", "supported_accommodation"],
            "postcode": ["PE9 4AA", "PE9 3AX"],
            "easting": [499913.0, 498219.0],
            "northing": [309138.0, 304738.0],
        }
    )
    forb = dc.personal_strings(measures, sites=sites)
    assert "PE9 4AA" in forb and "PE9 3AX" not in forb
    assert len(dc.personal_points(measures, sites=sites)) == 3


def test_site_of_a_type_not_in_site_types_is_checked_as_sensitive(
    tmp_path: Path, measures: pd.DataFrame
) -> None:
    # fail closed: a provision type site_types.csv does not list (no sensitive flag to say
    # otherwise) may be a home where children live, so its postcode and point are never published
    sites = pd.DataFrame(
        {
            "site_id": ["S1", "S2", "S3"],
            "type": ["respite_flat", "supported_accommodation", None],
            "postcode": ["PE9 4AA", "PE9 3AX", "LE15 8AA"],
            "easting": [499913.0, 498219.0, 487000.0],
            "northing": [309138.0, 304738.0, 306000.0],
        }
    )
    assert dc.sensitive_site_rows(sites).tolist() == [True, False, True]
    forb = dc.personal_strings(measures, sites=sites)
    assert {"PE9 4AA", "PE94AA", "LE15 8AA"} <= set(forb) and "PE9 3AX" not in forb
    pts = dc.personal_points(measures, sites=sites)
    assert {(499913.0, 309138.0), (487000.0, 306000.0)} <= {tuple(p) for p in pts}
    assert (498219.0, 304738.0) not in {tuple(p) for p in pts}
    leaky = tmp_path / "sites.csv"
    leaky.write_text("site_id,easting,northing\nS1,499913,309138\n", encoding="utf-8")
    assert dc.check_published_file(leaky, forb, points=pts) == ["point near (499913, 309138)"]
    # a table without a type column: every site is sensitive
    assert dc.sensitive_site_rows(sites.drop(columns="type")).all()


def test_redacted_issues_and_reconciliation_hold_no_personal_values(tmp_path: Path) -> None:
    from geosuff.inputs import DEMO_POSTCODES, Boundaries, default_lookup, load_placements
    from geosuff.inputs.validate import issues_frame, reconciliation
    from geosuff.testing import MESSY_REFERENCE_DATE, make_messy_cohort

    df = make_messy_cohort(800, 9)
    p = tmp_path / "p.csv"
    df.to_csv(p, index=False)
    pl = load_placements(
        p,
        lookup=default_lookup(DEMO_POSTCODES),
        boundaries=Boundaries.load(),
        reference_date=MESSY_REFERENCE_DATE,
    )
    issues = dc.redact_issues(issues_frame(pl.issues))
    rec = dc.redact_reconciliation(reconciliation([pl]))
    assert "value" not in issues and "id" not in rec
    forbidden = dc.personal_strings(pl.table)
    for frame, name in ((issues, "issues.csv"), (rec, "reconciliation.csv")):
        out = tmp_path / name
        frame.to_csv(out, index=False)
        assert dc.check_published_file(out, forbidden) == [], name
    assert issues["problem"].str.contains("withheld").any()
    # row numbers and kinds of problem survive
    assert (issues["row"].notna()).sum() > 100
    assert rec["status"].value_counts().sum() == 800


# ----------------------------------------------------------------------------------------------
# Coordinates are pairs: a lone number equal to an easting or northing is not a location
# ----------------------------------------------------------------------------------------------
# Two children in Dartford (DA1: northings around 173 000, as property costs are).
DA1_A = (553210.0, 173000.0)
DA1_B = (554420.0, 174180.0)


@pytest.fixture
def kent_measures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CHILD": ["K00001", "K00002"],
            "HOME_POST": ["DA1 1FD", "DA1 2AB"],
            "PL_POST": [pd.NA, pd.NA],
            "home_e": [DA1_A[0], DA1_B[0]],
            "home_n": [DA1_A[1], DA1_B[1]],
            "pl_e": [np.nan, np.nan],
            "pl_n": [np.nan, np.nan],
        }
    )


@pytest.mark.parametrize("strict", [True, False])
def test_lone_northing_or_easting_in_a_published_csv_is_not_a_location(
    tmp_path: Path, kent_measures: pd.DataFrame, strict: bool
) -> None:
    forb = dc.personal_strings(kent_measures)
    pts = dc.personal_points(kent_measures)
    assert "173000" not in forb and "553210" not in forb  # no lone coordinate is a forbidden string
    ok = tmp_path / "candidates_ranked.csv"
    # cost = child A's northing; snap distance = child B's easting; child B's northing on the next row
    ok.write_text(
        f"site_id,cost,snap_m,places\nP01,173000,{DA1_B[0]:.0f},4\nP02,{DA1_B[1]:.0f},12,{DA1_A[0]:.0f}\n",
        encoding="utf-8",
    )
    assert dc.check_published_file(ok, forb, points=pts, strict=strict) == []
    dc.assert_publishable([ok], forb, points=pts, strict=strict)


@pytest.mark.parametrize("strict", [True, False])
def test_child_easting_northing_pair_in_a_published_csv_is_found(
    tmp_path: Path, kent_measures: pd.DataFrame, strict: bool
) -> None:
    forb = dc.personal_strings(kent_measures)
    pts = dc.personal_points(kent_measures)
    # the same child's easting and northing in one row, not next to each other, either order
    for i, row in enumerate(
        (
            f"P01,{DA1_A[0]:.0f},4,{DA1_A[1]:.0f}",
            f"P01,{DA1_A[1] + 1:.0f},x,{DA1_A[0] - 1.5:.1f}",
            f'P01,"POINT ({DA1_A[0]:.0f} {DA1_A[1]:.0f})"',
        )
    ):
        leak = tmp_path / f"leak{i}.csv"
        leak.write_text(f"site_id,a,b,c\n{row}\n", encoding="utf-8")
        assert f"point near ({DA1_A[0]:.0f}, {DA1_A[1]:.0f})" in dc.check_published_file(
            leak, forb, points=pts, strict=strict
        ), row
        with pytest.raises(DisclosureError) as info:
            dc.assert_publishable([leak], forb, points=pts, strict=strict)
        assert f"leak{i}.csv" in str(info.value) and "173000" not in str(info.value)
    # written as the pair "E N" it is a forbidden string too (found even without points)
    gr = tmp_path / "gr.csv"
    gr.write_text(f"note\nat {DA1_A[0]:.0f} {DA1_A[1]:.0f}\n", encoding="utf-8")
    assert dc.check_published_file(gr, forb) == [f"{DA1_A[0]:.0f} {DA1_A[1]:.0f}"]
    # postcodes and ids still fail on their own
    pc = tmp_path / "pc.csv"
    pc.write_text("area,id\nDA11FD,K00002\n", encoding="utf-8")
    assert dc.check_published_file(pc, forb, points=pts, strict=strict) == ["DA11FD", "K00002"]


def test_lon_lat_pair_is_found_but_lone_degrees_are_not(
    tmp_path: Path, kent_measures: pd.DataFrame
) -> None:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(*DA1_A)
    lon_b, lat_b = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(*DA1_B)
    pts = dc.personal_points(kent_measures)
    leak = tmp_path / "map.html"
    leak.write_text(f'{{"type":"Point","coordinates":[{lon:.6f},{lat:.6f}]}}', encoding="utf-8")
    assert dc.check_published_file(leak, [], points=pts, strict=False) == [
        f"point near ({DA1_A[0]:.0f}, {DA1_A[1]:.0f})"
    ]
    # A's longitude with B's latitude is nobody's location
    ok = tmp_path / "ok.html"
    ok.write_text(
        f'{{"type":"Point","coordinates":[{lon:.6f},{lat_b:.6f}]}} {lat:.6f} x {lon_b:.6f}',
        encoding="utf-8",
    )
    assert dc.check_published_file(ok, [], points=pts, strict=False) == []


def test_geopackage_attributes_equal_to_a_coordinate_are_not_locations(
    tmp_path: Path, kent_measures: pd.DataFrame
) -> None:
    import geopandas as gpd

    forb = dc.personal_strings(kent_measures)
    pts = dc.personal_points(kent_measures)
    # a candidate 1 km away whose cost equals child A's northing and whose places-count column equals B's easting
    ok = tmp_path / "geosuff.gpkg"
    gpd.GeoDataFrame(
        {"cost": [DA1_A[1]], "other": [DA1_B[0]]},
        geometry=gpd.points_from_xy([DA1_A[0] + 1000], [DA1_A[1]]),
        crs="EPSG:27700",
    ).to_file(ok, layer="candidates", driver="GPKG")
    assert dc.check_published_file(ok, forb, points=pts, strict=False) == []
    # the child's point as geometry, or as an easting/northing pair of attributes, is found
    for i, (attrs, xy) in enumerate(
        (
            ({"cost": [1.0]}, DA1_B),
            ({"e": [DA1_B[0]], "n": [DA1_B[1]]}, (DA1_A[0] + 1000, DA1_A[1])),
        )
    ):
        bad = tmp_path / f"bad{i}.gpkg"
        gpd.GeoDataFrame(
            attrs, geometry=gpd.points_from_xy([xy[0]], [xy[1]]), crs="EPSG:27700"
        ).to_crs("EPSG:4326").to_file(bad, layer="x", driver="GPKG")
        assert dc.check_published_file(bad, forb, points=pts, strict=False) == [
            f"point near ({DA1_B[0]:.0f}, {DA1_B[1]:.0f})"
        ], i


def test_failed_check_publishes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose published files fail the last check leaves none of them (and no staging
    folder) in the output folder; the previous run's checked files are left as they were."""
    from fixtures_results import make_results

    from geosuff.publication import files as outputs

    out = tmp_path / "out"
    res = make_results(out)
    written = outputs.write_all(res)
    assert (out / "report.html").is_file() and (out / "geosuff.gpkg").is_file()
    assert all(
        Path(p).is_relative_to(out) and Path(p).is_file()
        for k, p in written.items()
        if not k.startswith("raster_")
    )
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert not [p for p in out.iterdir() if p.name.startswith(outputs.STAGING_PREFIX)]

    fresh = tmp_path / "fresh"
    res2 = make_results(fresh)
    existing = {q for q in fresh.rglob("*")}  # the access rasters, written by the analysis
    real = dc.personal_strings
    monkeypatch.setattr(
        outputs.disclosure,
        "personal_strings",
        lambda *a, **k: [*real(*a, **k), "Disclosure control"],
    )  # in report.html
    with pytest.raises(DisclosureError, match="report.html"):
        outputs.write_all(res2)
    assert {q for q in fresh.rglob("*")} == existing, "a failed check must leave no published file"
    assert (
        not (fresh / "report.html").exists()
        and not (fresh / "tables").exists()
        and not (fresh / "geosuff.gpkg").exists()
    )
    with pytest.raises(DisclosureError):
        outputs.write_all(res)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


# ----------------------------------------------------------------------------------------------
# Redaction keeps the DfE's and the code lists' own names (issue 18.5)
# ----------------------------------------------------------------------------------------------
def test_redaction_keeps_dfe_category_names_and_takes_out_identifiers() -> None:
    reason = (
        "placement postcode: incomplete postcode (district DH1 only); "
        "the distance is counted as 'Not known or not recorded'"
    )
    assert dc.redact_text(reason) == (
        "placement postcode: incomplete postcode (district [withheld] only); "
        "the distance is counted as 'Not known or not recorded'"
    )
    for name in ("20 miles or less", "Over 20 miles", "Over 25 miles", "K2", "Foster care (U1-U6)"):
        assert dc.redact_text(f"counted as '{name}'") == f"counted as '{name}'"
    # ids, postcodes and coordinates are still withheld, quoted or not
    text = "child 'C004512' at 'DH1 3LE' (427000.5, 542000.5); home DH1 3LE; id C004512"
    out = dc.redact_text(text, ["C004512"])
    assert "C004512" not in out and "DH1 3LE" not in out and "427000" not in out
    assert out.count("[withheld]") == 5
    # every shipped PLACE code and placement group name survives
    from geosuff.inputs import codes

    for label in [*codes.placement_codes()["code"], *codes.placement_groups()["label"]]:
        if "'" not in label:
            assert dc.redact_text(f"'{label}'") == f"'{label}'", label


def test_published_issues_say_what_the_distance_is_counted_as(tmp_path: Path) -> None:
    from geosuff.inputs import DEMO_POSTCODES, Boundaries, default_lookup, load_placements
    from geosuff.inputs.validate import issues_frame
    from geosuff.testing import MESSY_REFERENCE_DATE, make_messy_cohort

    p = tmp_path / "p.csv"
    make_messy_cohort(300, 9).to_csv(p, index=False)
    pl = load_placements(
        p,
        lookup=default_lookup(DEMO_POSTCODES),
        boundaries=Boundaries.load(),
        reference_date=MESSY_REFERENCE_DATE,
    )
    problems = dc.redact_issues(issues_frame(pl.issues))["problem"].astype(str)
    assert problems.str.contains("counted as 'Not known or not recorded'", regex=False).any()
    assert not problems.str.contains("counted as [withheld]", regex=False).any()


def test_report_line_break_hints_do_not_hide_an_id(tmp_path: Path) -> None:
    """The report puts ``<wbr>`` after ``_`` and ``/`` inside words in table cells (issue 18
    item 11): the published-file check must still see an id written that way."""
    from geosuff.publication import report

    cell = str(report._breakable("CH_0012/B"))
    assert "<wbr>" in cell
    f = tmp_path / "report.html"
    f.write_text(f"<table><tr><td>{cell}</td></tr></table>", encoding="utf-8")
    assert dc.check_published_file(f, ["CH_0012/B"]) == ["CH_0012/B"]
