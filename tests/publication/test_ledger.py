"""Every published figure of a run, suppressed together (geosuff.publish + disclosure.suppress_linked).

The attacks here are written independently of geosuff's own audit: from the records they build
the figures a reader sees (counts shown, bands), group the records by which figures they are in,
and solve with ``scipy.optimize.linprog`` for the smallest and largest value of every small
figure (1 to min_count - 1) that is not shown. Each must keep a range of at least one child; and
no two shown figures, one inside the other, may differ by 1 to min_count - 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from geosuff.publication import disclosure as dc
from geosuff.publication.ledger import Ledger, distance_bands


def attack(
    members: Sequence[np.ndarray], n: int, shown: np.ndarray, bands: dict[int, tuple[float, float]]
) -> dict[int, tuple[float, float]]:
    """Range of every figure not shown, from the shown figures and bands alone (atoms >= 0)."""
    sig = [
        tuple(sorted(f for f, mem in enumerate(members) if r in set(mem.tolist())))
        for r in range(n)
    ]
    atoms = sorted({s for s in sig if s})
    K = len(atoms)
    A = np.zeros((len(members), K))
    for k, s in enumerate(atoms):
        A[list(s), k] = 1.0
    w = np.array([sum(1 for x in sig if x == s) for s in atoms], dtype=float)
    v = A @ w
    eq = np.flatnonzero(shown)
    ub_rows, ub = [], []
    for f, (lo, hi) in bands.items():
        if np.isfinite(hi):
            ub_rows.append(A[f])
            ub.append(hi)
        ub_rows.append(-A[f])
        ub.append(-lo)
    out = {}
    for t in np.flatnonzero(~shown):
        r = []
        for sign in (1.0, -1.0):
            res = linprog(
                sign * A[t],
                A_eq=A[eq] if eq.size else None,
                b_eq=v[eq] if eq.size else None,
                A_ub=np.array(ub_rows) if ub_rows else None,
                b_ub=np.array(ub) if ub else None,
                bounds=[(0, None)] * K,
                method="highs",
            )
            r.append(res)
        lo = r[0].fun if r[0].status == 0 else 0.0
        hi = -r[1].fun if r[1].status == 0 else np.inf
        out[int(t)] = (lo, hi)
    return out


def check_safe(led: Ledger) -> None:
    mc = led.min_count
    F = len(led.members)
    shown = np.array([led.kind[h] in (dc.EXACT, dc.FORCED) and led.shown(h) for h in range(F)])
    bands = {
        h: (
            0.0 if np.isnan(led.lower[h]) else led.lower[h],
            np.inf if np.isnan(led.upper[h]) else led.upper[h],
        )
        for h in range(F)
        if led.kind[h] == dc.BAND or not (np.isnan(led.lower[h]) and np.isnan(led.upper[h]))
    }
    ranges = attack(led.members, led.n_records, shown, bands)
    for t, (lo, hi) in ranges.items():
        v = led.count(t)
        if 0 < v < mc:
            assert hi - lo >= 1 - 1e-6, f"figure {led.labels[t]} ({v}) is determined: [{lo}, {hi}]"
    sets = [set(m.tolist()) for m in led.members]
    for f in np.flatnonzero(shown):
        for g in np.flatnonzero(shown):
            if f != g and sets[g] < sets[f]:
                d = len(sets[f]) - len(sets[g])
                assert not 0 < d < mc, f"{led.labels[f]} minus {led.labels[g]} = {d}"


def test_same_records_are_one_figure_in_every_table() -> None:
    led = Ledger(10, min_count=5)
    everyone = np.ones(10, bool)
    a = led.add(everyone, table="indicators_overall", label="all")
    b = led.add(np.arange(10), table="sensitivity", label="all again")
    assert a == b and len(led.members) == 1
    small = led.add(np.array([0, 1]), table="t", label="two")
    led.solve()
    assert led.text(a) == "10" and led.text(small) == "c"
    assert led.percent(small, a) == "c" and led.percent(a, a) == "100.0"


def test_a_band_chart_cannot_undo_a_table() -> None:
    """The leak this module exists for: a 5-10 mile band of 3 children, the 10-20 band (12) and
    the 20-mile count (15) of an indicator table; and the 10-mile line of the sensitivity table."""
    miles = np.array([7, 8, 9] + [15] * 12 + [30] * 11 + [np.nan] * 6, dtype=float)
    n = miles.size
    led = Ledger(n, min_count=5)
    within20 = led.add(miles <= 20, table="indicators_overall", label="within 20")
    led.add(np.ones(n, bool), table="indicators_overall", label="n")
    band_5_10 = led.add((miles > 5) & (miles <= 10), table="distance_bands", label="5-10")
    band_10_20 = led.add((miles > 10) & (miles <= 20), table="distance_bands", label="10-20")
    within10 = led.add(miles <= 10, table="sensitivity", label="within 10")
    led.solve()
    assert led.text(band_5_10) == "c" and led.text(within10) == "c"
    # the important figure stays; the chart's band goes instead
    assert led.text(within20) == "15" and led.text(band_10_20) == "c"
    check_safe(led)


def test_differencing_between_nested_figures() -> None:
    # 32 children, 30 with a known home: publishing both would reveal 2
    led = Ledger(32, min_count=5)
    n = led.add(np.ones(32, bool), table="indicators_overall", label="n")
    scope = led.add(np.arange(30), table="scenario", label="in scope")
    led.solve()
    assert led.text(n) == "32" and led.text(scope) == "c"
    check_safe(led)


def test_forced_figures_are_never_suppressed_and_small_ones_are_reported() -> None:
    led = Ledger(6, min_count=5)
    f = led.add(np.arange(3), table="t", label="forced", kind=dc.FORCED)
    led.solve()
    assert led.text(f) == "3"
    assert led.result is not None and bool(led.result.unprotected[f])


def test_implied_figures_are_protected() -> None:
    # a total and two shown cells of a partition imply the third (not shown) cell
    led = Ledger(20, min_count=5)
    tot = led.add(np.ones(20, bool), table="t", label="total")
    a = led.add(np.arange(0, 10), table="t", label="a")
    b = led.add(np.arange(10, 18), table="t", label="b")
    rest = led.add(np.arange(18, 20), table="t", label="rest", kind=dc.IMPLIED)
    led.solve()
    assert led.text(tot) == "20"
    assert not (led.shown(a) and led.shown(b))
    assert led.count(rest) == 2
    check_safe(led)


def test_bands_count_as_published() -> None:
    # an area published as the band 5-9 and its two parts: with the band, the parts are bounded
    led = Ledger(12, min_count=5)
    area = led.add(np.arange(6), table="gap_areas", label="band", kind=dc.BAND, lower=5, upper=9)
    part = led.add(np.arange(4), table="t", label="part")
    other = led.add(np.arange(4, 12), table="t", label="rest")
    led.solve()
    assert led.kind[area] == dc.BAND and led.text(part) == "c"
    check_safe(led)
    assert led.text(other) in {"8", "c"}


def test_distance_bands_merge_small_bands_on_the_same_side_of_the_line() -> None:
    miles = np.array([7, 8, 9] + [15] * 12 + [30] * 3 + [60] * 8, dtype=float)
    bands = distance_bands(miles, far_miles=20, min_count=5)
    assert bands == [(0.0, 20.0), (20.0, 100.0), (100.0, np.inf)]
    big = np.array([1] * 6 + [7] * 6 + [15] * 6 + [30] * 6 + [70] * 6 + [200] * 6, dtype=float)
    assert distance_bands(big, far_miles=20, min_count=5) == [
        (0.0, 5.0),
        (5.0, 10.0),
        (10.0, 20.0),
        (20.0, 50.0),
        (50.0, 100.0),
        (100.0, np.inf),
    ]
    # the line itself is always an edge
    assert (25.0, 50.0) in distance_bands(
        np.array([30.0] * 6 + [10] * 6), far_miles=25, min_count=5
    )


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[int, list[np.ndarray], list[int]]:
    n = draw(st.integers(5, 40))
    n_groups = draw(st.integers(1, 4))
    group = np.array(draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n)))
    miles = np.array(
        draw(
            st.lists(st.sampled_from([1.0, 8.0, 15.0, 25.0, 60.0, np.nan]), min_size=n, max_size=n)
        )
    )
    inside = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    figs: list[np.ndarray] = []
    tables: list[int] = []
    known = np.isfinite(miles)
    sels = [group == g for g in range(n_groups)] + [np.ones(n, bool)]
    for s in sels:  # an indicator table: miles and LA partitions per group, with totals
        for m in (s, s & known & (miles <= 20), s & known & (miles > 20), s & ~known, s & inside):
            figs.append(m)
            tables.append(0)
    for t in (5.0, 10.0, 30.0):  # sensitivity lines
        figs.append(known & (miles <= t))
        tables.append(1)
    for lo, hi in ((0, 5), (5, 10), (10, 20), (20, 50), (50, np.inf)):  # distance bands
        figs.append(known & (miles > lo) & (miles <= hi))
        tables.append(2)
    figs.append(inside & known & (miles <= 20))  # a cross-tab cell (DfE new placements)
    tables.append(3)
    return n, figs, tables


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts(), st.integers(3, 6))
def test_no_small_figure_is_recoverable_from_all_tables_together(
    case: tuple[int, list[np.ndarray], list[int]], mc: int
) -> None:
    n, figs, tables = case
    led = Ledger(n, min_count=mc)
    for f, t in zip(figs, tables, strict=True):
        led.add(
            f,
            table=["indicators_overall", "sensitivity", "distance_bands", "dfe"][t],
            label=str(len(led.members)),
        )
    led.solve()
    check_safe(led)
    # every figure registered twice reads the same everywhere
    for f in figs:
        h = led._index[np.flatnonzero(f).tobytes()]
        assert led.text(h) in {str(int(f.sum())), "c"}


@pytest.mark.slow
def test_every_tables_entry_is_written_and_every_written_table_is_in_tables(
    demo_results,
) -> None:
    import pandas as pd

    from geosuff.publication import files as outputs
    from geosuff.publication import ledger as publish

    pub = publish.build(demo_results)
    tables = demo_results.out_dir / "tables"
    written = sorted(p.stem for p in tables.glob("*.csv"))
    made = sorted(name for name, t in outputs.TABLES.items() if t.frame(pub) is not None)
    # the demo makes every registered table but those it cannot (Rutland is a unitary council:
    # no districts; the demo has no [inputs] subareas layer; tests/publication/test_breakdowns.py
    # makes them), and writes no table that is not registered
    not_in_demo = {"indicators_district", "indicators_subarea"}
    assert written == made == sorted(set(outputs.TABLES) - not_in_demo)
    assert {f"{name}.csv" for name in made} <= set(demo_results.files)
    for name in made:
        t = outputs.TABLES[name]
        frame = t.frame(pub)
        assert frame is not None and "geometry" not in frame.columns, name
        on_disk = pd.read_csv(tables / f"{name}.csv", dtype=str, keep_default_na=False)
        # each file is the table its entry names (plus the SYNTHETIC note of a demo run)
        assert list(on_disk.columns) == [*map(str, frame.columns), "data_note"], name
        assert len(on_disk) == len(frame), name


def test_every_published_count_of_the_demo_is_safe(demo_results) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(demo_results)
    led = pub.ledger
    assert led is not None and len(led.members) > 50
    check_safe(led)
    # the headline figures are the "All children" row of every indicator table and of the CSV
    for df in pub.indicators.values():
        last = df.iloc[-1]
        assert last["label"] == "All children"
        assert (
            last["n"] == pub.headline["n"]
            and last["n_over_miles"] == pub.headline["far"]
            and last["n_inside_la"] == pub.headline["inside"]
        )


def test_dfe_rows_publish_their_own_cohort(tmp_path) -> None:
    """The 31 March rows count the snapshot, the new-placement rows only the year's starts, each
    over its own published total (the synthetic episodes start over two years)."""
    from fixtures_results import make_results

    from geosuff.analysis import gaps
    from geosuff.publication import ledger as publish

    res = make_results(tmp_path)
    pub = publish.build(res)
    m = res.measures.reset_index(drop=True)
    ref = res.scenario.analysis.reference_date
    snap = gaps.snapshot_mask(m)
    new = gaps.new_in_year(m, ref)
    assert new is not None and 0 < new.sum() < snap.sum()
    flags = gaps.dfe_flags(m)
    char = {(t, mm): c for t, mm, c in gaps.DFE_ROWS}
    d = pub.dfe_comparison
    assert d is not None and set(d["cohort"]) == {"snapshot", "started_in_year"}
    for r in d.itertuples(index=False):
        sel = new if r.cohort == "started_in_year" else snap
        assert r.computed_total in {str(int(sel.sum())), "c"}
        assert r.computed_n in {str(int((flags[char[(r.table, r.measure)]] & sel).sum())), "c"}
    nw = d[d["cohort"] == "started_in_year"]
    assert (nw["computed_total"] == str(int(new.sum()))).all()
    assert pub.ledger is not None
    check_safe(pub.ledger)


def recoverable_by_subtraction(led: Ledger) -> dict[int, int]:
    """Withheld (or small) figures a reader works out by subtraction alone (figure -> count).

    Independent of the audit: the relations are read from the blocks the ledger registered
    (each row's cells add up to its total; where one row's records are exactly the other rows',
    each column adds up to that row) and from every pair of shown figures one inside the other
    with one figure between them. A relation with one figure not yet known gives it; repeated
    until nothing new is found (chains of subtractions across linked tables).
    """
    F = len(led.members)
    sets = [frozenset(m.tolist()) for m in led.members]
    relations: list[tuple[int, list[int]]] = []
    for cells, totals in led.blocks:
        for i, row in enumerate(cells):
            relations.append((totals[i], list(row)))
        for r, t in enumerate(totals):
            others = [x for i, x in enumerate(totals) if i != r]
            if others and sum(len(sets[x]) for x in others) == len(sets[t]):
                if frozenset().union(*(sets[x] for x in others)) == sets[t]:
                    relations.append((t, others))
                    for j in range(len(cells[r])):
                        relations.append(
                            (cells[r][j], [cells[i][j] for i in range(len(cells)) if i != r])
                        )
    # a figure inside another, with the rest of the outer one being a third figure
    by_set = {s: h for h, s in enumerate(sets)}
    for f in range(F):
        for g in range(F):
            if f != g and sets[g] < sets[f]:
                rest = by_set.get(sets[f] - sets[g])
                if rest is not None:
                    relations.append((f, [g, rest]))
    known = {h for h in range(F) if led.kind[h] in (dc.EXACT, dc.FORCED) and led.shown(h)}
    found: dict[int, int] = {}
    changed = True
    while changed:
        changed = False
        for lhs, rhs in relations:
            coef: dict[int, int] = {lhs: 1}
            for x in rhs:  # the same figure may stand on both sides (a total that is one cell)
                coef[x] = coef.get(x, 0) - 1
            unknown = [x for x, c in coef.items() if c and x not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                found[unknown[0]] = led.count(unknown[0])
                changed = True
    # implied figures (the rest of a total, never published) follow from the others by design:
    # only withheld ones, and small ones of any kind, must not
    return {h: c for h, c in found.items() if led.kind[h] == dc.EXACT or 0 < c < led.min_count}


def _uasc_like_ledger() -> tuple[Ledger, list[int], int]:
    """Three blocks (distance, inside/outside, travel time) over the same rows, all with the
    same small "not known" cell: the County Durham UASC table of issue 12."""
    uasc = {"near": 37, "far": 10, "la_in": 33, "la_out": 14, "min_in": 16, "min_out": 31}
    rest = {"near": 80, "far": 15, "la_in": 60, "la_out": 35, "min_in": 40, "min_out": 55}
    n_u, n_r = 48, 100
    n = n_u + n_r
    rows = [np.arange(n_u), np.arange(n_u, n)]
    led = Ledger(n, min_count=5)
    totals: list[int] = []
    nk_u = np.array([n_u - 1])  # one UASC child with no distance and no LA
    nk_r = np.arange(n - 6, n)  # six others
    rng = np.random.default_rng(12)
    for name, (a, _b) in {
        "miles": ("near", "far"),
        "la": ("la_in", "la_out"),
        "minutes": ("min_in", "min_out"),
    }.items():
        cells = []
        for r, counts, nk in ((rows[0], uasc, nk_u), (rows[1], rest, nk_r)):
            known = rng.permutation(np.setdiff1d(r, nk))  # no cell inside another
            cells.append([np.sort(known[: counts[a]]), np.sort(known[counts[a] :]), nk])
        cells.append([np.concatenate([c[j] for c in cells]) for j in range(3)])
        _, totals = led.block(
            f"indicators_uasc:{name}",
            cells,
            [rows[0], rows[1], np.arange(n)],
            labels=["UASC", "Not UASC", "All children"],
        )
    return led, totals, int(nk_u.size)


def test_totals_are_not_withheld_to_protect_a_cell_when_other_cells_can_be() -> None:
    """Issue 12.9: the UASC total (48) was "c" while its parts were shown. Totals are kept: the
    complements are cells, and no withheld figure can be worked out by subtraction."""
    led, totals, _ = _uasc_like_ledger()
    led.solve()
    assert [led.text(t) for t in totals] == ["48", "100", "148"]
    assert not recoverable_by_subtraction(led)
    check_safe(led)
    w = led.withheld()
    assert w.figures == len(led.members) and w.withheld == int(led.result.suppressed.sum())
    assert w.small == 1 and w.min_count == 5  # the UASC child whose distance is not known


def test_first_headline_is_kept_where_its_neighbour_can_go() -> None:
    """Issue 12.9: with 3 children's distance not known, "placed more than 20 miles" was "c"
    (the smaller of the two) while "20 miles or less" was shown. The headline figures are ranked
    (all children, far, inside, near): the last goes first."""
    n = 40
    led = Ledger(n, min_count=5)
    idx = np.arange(n)
    (cells,), (tot,) = led.block(
        "indicators_overall:miles",
        [[idx[:25], idx[25:37], idx[37:]]],
        [idx],
        labels=["All children"],
    )
    (la,), _ = led.block(
        "indicators_overall:la", [[idx[:20], idx[20:]]], [idx], labels=["All children"]
    )
    led.headline(tot, cells[1], la[0], cells[0])
    led.solve()
    assert led.text(tot) == "40" and led.text(cells[1]) == "12" and led.text(la[0]) == "20"
    assert led.text(cells[2]) == "c" and led.text(cells[0]) == "c"
    assert not recoverable_by_subtraction(led)
    check_safe(led)


def check_headline_and_totals(pub) -> None:
    """The report's headline figures (all children, placed far, placed inside) are shown when
    they are not small; so is every table's total, except one more per small total
    of the same table (the totals add up to all children: a small total alone would be
    recoverable)."""
    led = pub.ledger
    mc = led.min_count

    def handle(label: str) -> int:
        return next(h for h, labs in enumerate(led.labels) if label in labs)

    head = {
        "n": handle("indicators_overall:miles: All children / total"),
        "far": handle("indicators_overall:miles: All children / 1"),
        "inside": handle("indicators_overall:la: All children / 0"),
    }
    for key, h in head.items():
        if led.count(h) >= mc:
            assert pub.headline[key] == str(led.count(h)), key
    for _, totals in led.blocks:
        small = [t for t in totals if 0 < led.count(t) < mc]
        hidden = [t for t in totals if led.count(t) >= mc and not led.shown(t)]
        assert len(hidden) <= len(small), [led.labels[t][0] for t in hidden]


@pytest.mark.slow
def test_demo_keeps_headline_and_totals_and_hides_nothing_recoverable(demo_results) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(demo_results)
    check_headline_and_totals(pub)
    assert not recoverable_by_subtraction(pub.ledger)


@pytest.mark.slow
def test_durham_keeps_headline_and_totals_and_hides_nothing_recoverable(tmp_path) -> None:
    """Issue 12.9 on a synthetic County Durham (300 children, estimated travel times): the
    headline and the UASC, placement-type and age totals are shown; no withheld figure can be
    worked out by subtraction, nor by any combination of the published figures."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.publication import ledger as publish
    from geosuff.synth import synthesise

    syn = synthesise("E06000047", tmp_path / "in", seed=7, n_children=300)
    res = run(load_config(syn.config), write=False)
    pub = publish.build(res)
    led = pub.ledger
    assert led is not None
    check_headline_and_totals(pub)
    uasc = pub.indicators["uasc"]
    assert (uasc["n"] != "c").all() and (pd.to_numeric(uasc["n"]) >= 5).all()
    assert not recoverable_by_subtraction(led)
    check_safe(led)
    w = led.withheld()
    assert 0 < w.small <= w.withheld < w.figures and w.min_count == 5
