"""The synthetic cohort generator: seeded, labelled, calibrated to the DfE figures it was given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff.inputs import DEMO_POSTCODES, Boundaries, PostcodeLookup, load_placements
from geosuff.synth import dfe_targets, synthesise


def test_targets_read_from_shipped_dfe_statistics() -> None:
    t = dfe_targets("E06000017", year=2025)
    # Rutland, CLA at 31 March 2025: 32 children; 11 over 20 miles; 6 not known (DfE table)
    assert t["total"] == 32
    assert t["p_over20"] == pytest.approx(11 / 32)
    assert t["p_unknown"] == pytest.approx(6 / 32)
    assert t["placement_mix"]["Foster placements"] == 20


@pytest.fixture(scope="module")
def big_cohort(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth")
    res = synthesise("E06000017", out, seed=7, n_children=600)
    lookup = PostcodeLookup.from_file(DEMO_POSTCODES)
    loaded = load_placements(res.placements, lookup=lookup, boundaries=Boundaries.load())
    return res, loaded.table


def test_every_file_says_synthetic(big_cohort) -> None:
    res, _ = big_cohort
    for p in (res.placements, res.sites, res.candidates):
        df = pd.read_csv(p, dtype=str)
        assert (df["data_note"] == "SYNTHETIC").all()
    assert "SYNTHETIC" in (res.folder / "README_SYNTHETIC.txt").read_text()
    assert "synthetic = true" in res.config.read_text()


def test_calibration_matches_dfe_shares_within_sampling_error(big_cohort) -> None:
    """Shares of the generated cohort, measured with the DfE formula on the resolved postcodes."""
    res, t = big_cohort
    tg = dfe_targets("E06000017")
    n = len(t)
    miles = np.round(np.hypot(t["home_e"] - t["pl_e"], t["home_n"] - t["pl_n"]) / 1000 / 1.6093, 1)
    over = float((miles > 20).sum()) / n
    unknown = float(miles.isna().sum()) / n
    se = lambda p: 3 * np.sqrt(p * (1 - p) / n)  # noqa: E731
    assert abs(over - tg["p_over20"]) <= se(tg["p_over20"]) + 1 / n
    assert abs(unknown - tg["p_unknown"]) <= se(tg["p_unknown"]) + 1 / n
    # inside the council (postcode LA), among known near placements
    known = miles.notna()
    near = known & (miles <= 20)
    inside = t["pl_utla"] == "E06000017"
    p_in_near = float((inside & near).sum() / near.sum())
    assert abs(p_in_near - tg["p_inside_near"]) <= 3 * np.sqrt(tg["p_inside_near"] * (1 - tg["p_inside_near"]) / near.sum()) + 0.02
    # placement-type mix: foster share
    foster = float(t["PLACE"].str.startswith("U").mean())
    p_foster = tg["placement_mix"]["Foster placements"] / sum(tg["placement_mix"].values())
    assert abs(foster - p_foster) <= se(p_foster) + 1 / n


def test_homes_are_in_the_council(big_cohort) -> None:
    _, t = big_cohort
    b = Boundaries.load()
    la = b.la_at(t["home_e"].to_numpy(float), t["home_n"].to_numpy(float))
    known = t["home_e"].notna().to_numpy()
    assert (la[known] == "E06000017").mean() > 0.97  # generalised boundary: a few edge postcodes


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = synthesise("E06000017", tmp_path / "a", seed=11)
    b = synthesise("E06000017", tmp_path / "b", seed=11)
    for x, y in ((a.placements, b.placements), (a.sites, b.sites), (a.candidates, b.candidates)):
        assert x.read_bytes() == y.read_bytes()
    c = synthesise("E06000017", tmp_path / "c", seed=12)
    assert c.placements.read_bytes() != a.placements.read_bytes()
