"""Soak run: synthetic reviews for the five seed councils x three seeds (issue #18's done-when).

Each run writes a SYNTHETIC council dataset with ``geosuff synth`` (DfE-calibrated children, invented
sites and properties) and reviews it end to end (``geosuff review``: tables, report, map, GeoPackage,
with the published-file check). Councils without a shipped road network run with
``[analysis] travel = "estimate"`` (straight-line estimates, labelled so). Not part of ``make test``
(it takes several minutes): run with ``make councils`` or
``.venv/bin/python scripts/councils.py [--seeds 7 2026 1] [--out outputs/councils]``.

Prints one line per run (council, seed, children, seconds, headline figures, withheld figures) and
exits non-zero if any run fails.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

COUNCILS = {
    "E06000017": "Rutland",
    "E06000047": "County Durham",
    "E06000059": "Dorset",
    "E06000015": "Derby",
    "E10000016": "Kent",
}


def main(argv: list[str] | None = None) -> int:
    """Run every council x seed; return the number of failed runs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 2026, 1])
    ap.add_argument("--councils", nargs="+", default=list(COUNCILS))
    ap.add_argument("--out", type=Path, default=Path("outputs/councils"))
    args = ap.parse_args(argv)

    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    failed = 0
    for code in args.councils:
        for seed in args.seeds:
            t0 = time.perf_counter()
            folder = args.out / f"{code}-seed{seed}"
            try:
                syn = synthesise(code, folder, seed=seed)
                res = run(load_config(syn.config))
                m = res.measures
                counted = m[m["status"] != "excluded"]
                far = int(counted["far"].fillna(False).sum())
                out = res.scenario.output.dir
                report = (out / "report.html").read_text(encoding="utf-8")
                assert (out / "map.html").exists() and (out / "geosuff.gpkg").exists()
                print(
                    f"OK   {COUNCILS.get(code, code):14s} seed {seed:5d}: {len(counted):5d} children, "
                    f"{far:4d} far, {time.perf_counter() - t0:6.1f} s, report {len(report) // 1024} kB, "
                    f"outputs {out}",
                    flush=True,
                )
            except Exception:  # noqa: BLE001 - a soak run reports every failure and goes on
                failed += 1
                print(
                    f"FAIL {COUNCILS.get(code, code):14s} seed {seed:5d} after {time.perf_counter() - t0:.1f} s",
                    flush=True,
                )
                traceback.print_exc()
    print(f"{failed} failed", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
