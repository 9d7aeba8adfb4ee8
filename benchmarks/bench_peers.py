"""Benchmark geosuff against peer routers: pandana (contraction hierarchies) and Valhalla.

    .venv/bin/python benchmarks/bench_peers.py            # 2,000 x 300 OD, 200 sites
    .venv/bin/python benchmarks/bench_peers.py --quick    # 500 x 300 OD, 50 sites
    make .venv-peers/bin/python                           # installs the peers (own venv)

On Rutland (shipped OSM extract) and Porto Alegre (benchmarks/data), with the same points and
thresholds for every router:

* OD matrix, 2,000 origins x 300 destinations (points at random graph nodes):
  geosuff ``routing.od_matrix`` against pandana ``Network.shortest_path_lengths`` on the *same*
  graph with the *same* edge times (geosuff's arrays are handed to pandana). geosuff is timed
  twice: the usual call (minutes and km of the fastest path) and ``with_km=False`` (minutes only,
  pandana's output); pandana's ratio is taken against the latter. Valhalla's
  ``/sources_to_targets`` (times and distances) on its own tiles with its own speeds, against
  geosuff's minutes + km. Valhalla is slow, so it answers
  ``--valhalla-sources`` of the origins x all 300 destinations and its time is scaled.
  Preprocessing is stated separately: geosuff's graph build (OSM -> arrays) and router
  (chain contraction), pandana's ``Network`` (its contraction hierarchy), Valhalla's
  ``valhalla_build_tiles`` and actor start.
* Catchments, 200 sites x 15/30/45/60 min: geosuff node times + ``catchment_polygons`` against
  Valhalla ``/isochrone`` (4 contours per request, polygons). Agreement: Valhalla area / geosuff
  area, intersection over union, and the share of geosuff's reached nodes inside the Valhalla
  polygon.

Speeds: pandana gets geosuff's edge times, so its times must equal geosuff's (checked). Valhalla
uses its own speed model (road class, density, turn and intersection costs), so its times differ
for a reason other than the algorithm. To make the catchments comparable as far as possible,
the catchment and matrix comparison is repeated with one fixed speed everywhere: Valhalla's
``costing_options.auto.fixed_speed`` and a geosuff graph whose edge times are length / that speed
(Valhalla still adds its turn and intersection costs, and generalises its contours). Only the
native-speed runs are timed for the targets. Valhalla 3.5.1's ``fixed_speed`` isochrones are not
reproducible between processes (own-speed ones are), so the fixed-speed agreement varies by run.

The peers run in subprocesses of ``.venv-peers/bin/python`` (or ``$GEOSUFF_PEERS_PYTHON``) via
``benchmarks/peers_worker.py``; a missing peer is skipped with a message. Times are wall-clock
(best of ``--repeat``). The machine is shared: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from geosuff import routing as tt  # noqa: E402
from geosuff.analysis import catchments as C  # noqa: E402
from geosuff.network import RoadGraph, build_graph  # noqa: E402

RUTLAND = HERE.parent / "geosuff" / "data" / "rutland-latest.osm.pbf"
PORTO_ALEGRE = HERE / "data" / "porto-alegre-poa.osm.pbf"
GRAPHS = {
    "rutland": ("Rutland", RUTLAND, "EPSG:27700"),
    "poa": ("Porto Alegre", PORTO_ALEGRE, "EPSG:31982"),
}
MINUTES = (15.0, 30.0, 45.0, 60.0)
WORKER = HERE / "peers_worker.py"
PEER_MODULES = {"pandana": "pandana", "valhalla": "valhalla"}


def _peers_python() -> Path:
    env = os.environ.get("GEOSUFF_PEERS_PYTHON")
    return Path(env) if env else HERE.parent / ".venv-peers" / "bin" / "python"


def _peer_available(py: Path, peer: str) -> str | None:
    """None when the peer imports in the peers' interpreter, else the reason it does not."""
    if not py.exists():
        return f"{py} not found (make .venv-peers/bin/python)"
    res = subprocess.run(
        [str(py), "-c", f"import {PEER_MODULES[peer]}"], capture_output=True, text=True, check=False
    )
    return (
        None
        if res.returncode == 0
        else f"import {PEER_MODULES[peer]} failed: {res.stderr.strip().splitlines()[-1:]}"
    )


def _run_peer(py: Path, args: list[str]) -> dict[str, Any]:
    res = subprocess.run([str(py), str(WORKER), *args], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"peer worker {args[0]} failed:\n{res.stderr[-2000:]}")
    out: dict[str, Any] = json.loads((Path(args[1]) / f"{args[0]}_timings.json").read_text())
    return out


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    wall, _cpu, out = _best_cpu(fn, repeat)
    return wall, out


def _best_cpu(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """Best wall and best CPU seconds (of this process) over ``repeat`` runs, and the result."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def _fixed_speed_graph(g: RoadGraph, kph: float) -> RoadGraph:
    """The same graph with every edge at ``kph`` (time = length / speed)."""
    return dataclasses.replace(
        g,
        time_s=g.length_m / (kph / 3.6),
        speed_kph=np.full(g.n_edges, float(kph)),
        meta={**g.meta, "fixed_speed_kph": kph},
    )


def _geosuff_catchments(g: RoadGraph, xs: np.ndarray, ys: np.ndarray) -> Any:
    times, sn = tt.node_times(g, xs, ys, max_minutes=max(MINUTES), return_snapped=True)
    org = C.SourceOrigins.from_snapped(sn, access_speed_kph=tt.SnapSettings().access_speed_kph)
    gdf = C.catchment_polygons(g, times, MINUTES, origins=org)
    return times, gdf


def _valhalla_polygons(isos: list[Any], to_xy: Transformer) -> list[dict[float, shapely.Geometry]]:
    """Valhalla isochrone answers -> per site {minutes: polygon in the graph CRS}."""
    out = []
    for fc in isos:
        row = {}
        for f in fc["features"]:
            geom = shapely.geometry.shape(f["geometry"])
            geom = shapely.transform(
                geom, lambda c: np.column_stack(to_xy.transform(c[:, 0], c[:, 1]))
            )
            row[float(f["properties"]["contour"])] = shapely.make_valid(geom)
        out.append(row)
    return out


def _agreement(
    g: RoadGraph, times: Any, gdf: Any, vpolys: list[dict[float, shapely.Geometry]]
) -> dict[str, Any]:
    """Per threshold: medians of Valhalla/geosuff area, IoU, share of geosuff-reached nodes inside."""
    res: dict[str, Any] = {}
    dense = times.toarray() if hasattr(times, "toarray") else np.asarray(times)
    for j, m in enumerate(MINUTES):
        area_ratio, iou, inside = [], [], []
        for i, row in enumerate(vpolys):
            vp = row.get(m)
            gp = gdf.geometry.iloc[i * len(MINUTES) + j]
            if vp is None or vp.is_empty or gp.is_empty:
                continue
            area_ratio.append(vp.area / gp.area)
            iou.append(shapely.intersection(vp, gp).area / shapely.union(vp, gp).area)
            t = dense[i]
            reached = np.flatnonzero(np.isfinite(t) & (t <= m * 60.0))
            if reached.size:
                inside.append(float(shapely.contains_xy(vp, g.x[reached], g.y[reached]).mean()))
        res[f"{m:.0f}"] = {
            "sites": len(area_ratio),
            "area_ratio_median": float(np.median(area_ratio)) if area_ratio else None,
            "area_ratio_p10": float(np.percentile(area_ratio, 10)) if area_ratio else None,
            "area_ratio_p90": float(np.percentile(area_ratio, 90)) if area_ratio else None,
            "iou_median": float(np.median(iou)) if iou else None,
            "reached_inside_median": float(np.median(inside)) if inside else None,
            "reached_inside_min": float(np.min(inside)) if inside else None,
        }
    return res


def _as_array(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)


def bench_graph(
    key: str, args: argparse.Namespace, py: Path, available: dict[str, str | None]
) -> dict[str, Any] | None:
    name, pbf, crs = GRAPHS[key]
    if not pbf.exists():
        print(f"\n== {name}: {pbf} not found, skipped")
        return None
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="geosuff-peers-") as tmp:
        t_build, g = _best(lambda: build_graph(pbf, use_cache=False, crs=crs), 1)
        t_router, r = _best(lambda: tt.csgraph._router(g), 1)
        t_layout, _ = _best(
            lambda: C._layout(g, C.ACCESS_DISTANCE_M, C.ACCESS_DISTANCE_M * C.CELL_PER_ACCESS), 1
        )
        print(
            f"\n== {name}: {g.n_nodes:,} nodes, {g.n_edges:,} directed edges ({pbf.name}, {crs}); core graph {r.core_nodes.size:,} nodes\n"
            f"   geosuff preprocessing: graph build {fmt_s(t_build)} + router {fmt_s(t_router)} + catchment raster layout {fmt_s(t_layout)}"
        )
        row: dict[str, Any] = {
            "graph": name,
            "nodes": g.n_nodes,
            "edges": g.n_edges,
            "crs": crs,
            "geosuff": {"build_s": t_build, "router_s": t_router, "layout_s": t_layout},
        }
        orig = rng.choice(g.n_nodes, args.origins, replace=False)
        dest = rng.choice(g.n_nodes, args.destinations, replace=False)
        sites = rng.choice(g.n_nodes, args.sites, replace=False)
        to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)

        def lonlat(idx: np.ndarray) -> np.ndarray:
            return np.column_stack(to_ll.transform(g.x[idx], g.y[idx]))

        folder = Path(tmp)
        np.savez(folder / "graph.npz", x=g.x, y=g.y, u=g.u, v=g.v, time_s=g.time_s)
        np.savez(
            folder / "points.npz",
            orig=orig,
            dest=dest,
            orig_lonlat=lonlat(orig),
            dest_lonlat=lonlat(dest),
            site_lonlat=lonlat(sites),
        )
        k_val = min(args.valhalla_sources, args.origins)
        (folder / "params.json").write_text(
            json.dumps(
                {
                    "minutes": MINUTES,
                    "valhalla_sources": k_val,
                    "fixed_speed_kph": args.fixed_speed,
                    "repeat": args.repeat,
                }
            )
        )

        # ---------------------------------------------------------------- OD matrix
        oxy = np.column_stack([g.x[orig], g.y[orig]])
        dxy = np.column_stack([g.x[dest], g.y[dest]])
        t_od, od = _best(lambda: tt.od_matrix(g, oxy, dxy), args.repeat)
        t_odt, od_t = _best(lambda: tt.od_matrix(g, oxy, dxy, with_km=False), args.repeat)
        assert np.array_equal(od_t.minutes, od.minutes, equal_nan=True)
        row["geosuff"]["od_s"] = t_od
        row["geosuff"]["od_minutes_only_s"] = t_odt
        print(
            f"   OD {args.origins:,} x {args.destinations:,}: geosuff od_matrix {fmt_s(t_od)} (minutes and km of the fastest path; median {np.nanmedian(od.minutes):.1f} min);"
            f" {fmt_s(t_odt)} with with_km=False (minutes only, as pandana)"
        )
        if available["pandana"] is None:
            p = _run_peer(py, ["pandana", str(folder)])
            secs = np.load(folder / "pandana_out.npz")["seconds"]
            diff = np.abs(secs - od.minutes * 60.0)
            p["max_abs_diff_s"] = float(np.nanmax(diff))
            row["pandana"] = p
            print(
                f"   pandana {p['version']}: Network build (contraction hierarchy) {fmt_s(p['build_s'])}; shortest_path_lengths {p['pairs']:,} pairs {fmt_s(p['od_query_s'])}"
                f" -> geosuff {p['od_query_s'] / t_odt:.2f}x faster (minutes only; {p['od_query_s'] / t_od:.2f}x with km); same graph and weights: max |diff| {p['max_abs_diff_s']:.3g} s"
            )
        else:
            print(f"   pandana skipped: {available['pandana']}")
        if available["valhalla"] is None:
            v = _run_peer(py, ["valhalla", str(folder), str(pbf)])
            out = json.loads((folder / "valhalla_out.json").read_text())
            scale = args.origins / k_val
            v["matrix_native_scaled_s"] = v["matrix_native_s"] * scale
            vm = _as_array(out["matrix_native"]) / 60.0
            with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 where origin = destination
                ratio = vm / od.minutes[:k_val]
            v["od_time_ratio_median"] = float(np.nanmedian(ratio))
            v["od_routed_share"] = float(np.isfinite(vm).mean())
            print(
                f"   Valhalla {v['version']}: build_tiles {fmt_s(v['build_tiles_s'])} + actor {fmt_s(v['actor_s'])}; /sources_to_targets {k_val} x {args.destinations} {fmt_s(v['matrix_native_s'])}"
                f", scaled to {args.origins:,} x {args.destinations}: {fmt_s(v['matrix_native_scaled_s'])} -> geosuff {v['matrix_native_scaled_s'] / t_od:.0f}x faster"
            )
            print(
                f"      (own speeds: Valhalla time / geosuff time, median {v['od_time_ratio_median']:.2f}; {v['od_routed_share']:.1%} of pairs routed)"
            )
            gf = _fixed_speed_graph(g, args.fixed_speed)
            od_f = tt.od_matrix(gf, oxy[:k_val], dxy)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_f = _as_array(out["matrix_fixed"]) / 60.0 / od_f.minutes
            v["od_time_ratio_fixed_median"] = float(np.nanmedian(ratio_f))
            print(
                f"      (both at a fixed {args.fixed_speed:.0f} km/h: Valhalla / geosuff time median {v['od_time_ratio_fixed_median']:.2f}; Valhalla adds turn and intersection costs)"
            )
            row["valhalla"] = v
        else:
            print(f"   Valhalla skipped: {available['valhalla']}")

        # ---------------------------------------------------------------- catchments
        sx, sy = g.x[sites], g.y[sites]
        t_c, c_c, (times, gdf) = _best_cpu(lambda: _geosuff_catchments(g, sx, sy), args.repeat)
        row["geosuff"]["catchments_s"] = t_c
        row["geosuff"]["catchments_cpu_s"] = c_c
        row["geosuff"]["catchments_reached_inside_min"] = float(gdf["share_reached_inside"].min())
        n_poly = args.sites * len(MINUTES)
        print(
            f"   catchments {args.sites} sites x {len(MINUTES)} thresholds: geosuff node times + polygons {fmt_s(t_c)} wall, {fmt_s(c_c)} CPU ({t_c / args.sites * 1e3:.1f} ms per site, {n_poly} polygons;"
            f" reached nodes inside their own polygon: min share {row['geosuff']['catchments_reached_inside_min']:.4f})"
        )
        if "valhalla" in row:
            v = row["valhalla"]
            t_v = v["isochrone_native_s"]
            print(
                f"   Valhalla /isochrone (4 contours per request, polygons): {fmt_s(t_v)} wall, {fmt_s(v['isochrone_native_cpu_s'])} CPU ({t_v / args.sites * 1e3:.1f} ms per site)"
                f" -> geosuff {t_v / t_c:.2f}x faster (wall; CPU {v['isochrone_native_cpu_s'] / c_c:.2f}x)"
            )
            v["agreement_native"] = _agreement(
                g, times, gdf, _valhalla_polygons(out["isochrone_native"], to_xy)
            )
            gf = _fixed_speed_graph(g, args.fixed_speed)
            times_f, gdf_f = _geosuff_catchments(gf, sx, sy)
            v["agreement_fixed"] = _agreement(
                gf, times_f, gdf_f, _valhalla_polygons(out["isochrone_fixed"], to_xy)
            )
            for mode, label in (
                ("native", "own speeds"),
                ("fixed", f"both {args.fixed_speed:.0f} km/h"),
            ):
                parts = []
                for m, a in v[f"agreement_{mode}"].items():
                    if a["area_ratio_median"] is None:
                        parts.append(f"{m} min: -")
                        continue
                    parts.append(
                        f"{m} min: area {a['area_ratio_median']:.2f} (p10-p90 {a['area_ratio_p10']:.2f}-{a['area_ratio_p90']:.2f}), IoU {a['iou_median']:.2f}, reached inside {a['reached_inside_median']:.1%}"
                    )
                print(
                    f"      agreement, {label} (Valhalla / geosuff, medians over sites):\n        "
                    + "\n        ".join(parts)
                )
        return row


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="500 x 300 OD, 50 sites, 20 Valhalla matrix sources, 2 repeats",
    )
    ap.add_argument(
        "--graphs", default="rutland,poa", help=f"comma-separated, from {','.join(GRAPHS)}"
    )
    ap.add_argument("--origins", type=int, default=None)
    ap.add_argument("--destinations", type=int, default=300)
    ap.add_argument("--sites", type=int, default=None)
    ap.add_argument(
        "--valhalla-sources",
        type=int,
        default=None,
        help="origins Valhalla's matrix answers (time scaled)",
    )
    ap.add_argument(
        "--fixed-speed", type=float, default=40.0, help="km/h for the comparable-speed runs"
    )
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "peers-latest.json")
    args = ap.parse_args()
    q = args.quick
    args.origins = args.origins or (500 if q else 2000)
    args.sites = args.sites or (50 if q else 200)
    args.valhalla_sources = args.valhalla_sources or (20 if q else 100)
    args.repeat = args.repeat or (2 if q else 3)

    py = _peers_python()
    available = {peer: _peer_available(py, peer) for peer in PEER_MODULES}
    print("geosuff vs peer routers" + (" (--quick)" if q else ""))
    for peer, why in available.items():
        print(f"  {peer}: {'available in ' + str(py) if why is None else 'SKIPPED: ' + why}")
    rows = [
        r for key in args.graphs.split(",") if (r := bench_graph(key.strip(), args, py, available))
    ]

    print(
        "\n== summary (ratios = peer time / geosuff time on the same points; above 1 = geosuff faster)"
    )
    print(
        f"   {'graph':14s} {'nodes':>7s} {'geosuff OD':>11s} {'(min only)':>11s} {'pandana OD':>11s} {'ratio':>7s} {'Valhalla OD':>12s} {'ratio':>7s} {'geosuff catch':>14s} {'Valhalla iso':>13s} {'ratio':>6s} {'CPU ratio':>9s}"
    )
    for r in rows:
        gs, p, v = r["geosuff"], r.get("pandana"), r.get("valhalla")
        p_od = fmt_s(p["od_query_s"]) if p else "-"
        p_ratio = f"{p['od_query_s'] / gs['od_minutes_only_s']:.1f}x" if p else "-"
        v_od = fmt_s(v["matrix_native_scaled_s"]) if v else "-"
        v_ratio = f"{v['matrix_native_scaled_s'] / gs['od_s']:.0f}x" if v else "-"
        v_iso = fmt_s(v["isochrone_native_s"]) if v else "-"
        i_ratio = f"{v['isochrone_native_s'] / gs['catchments_s']:.2f}x" if v else "-"
        i_cpu = f"{v['isochrone_native_cpu_s'] / gs['catchments_cpu_s']:.2f}x" if v else "-"
        print(
            f"   {r['graph']:14s} {r['nodes']:>7,d} {fmt_s(gs['od_s']):>11s} {fmt_s(gs['od_minutes_only_s']):>11s} {p_od:>11s} {p_ratio:>7s} "
            f"{v_od:>12s} {v_ratio:>7s} {fmt_s(gs['catchments_s']):>14s} {v_iso:>13s} {i_ratio:>6s} {i_cpu:>9s}"
        )
    print(
        "   (pandana ratio: against geosuff minutes only, the same output; Valhalla ratio: against geosuff minutes + km, as Valhalla returns both)"
    )
    print(
        f"   (OD {args.origins:,} x {args.destinations}; Valhalla matrix timed on {args.valhalla_sources} origins and scaled; catchments {args.sites} sites x 4 thresholds)"
    )
    print(
        "   targets: OD >= 5x pandana (query) and >= 100x Valhalla; catchments >= 2x Valhalla isochrones"
    )

    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "graphs": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
