"""Command-line interface (thin: every command calls a library function).

Errors on bad input print one sentence saying what is wrong and how to fix it; ``--debug`` shows
the traceback.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from geosuff import __version__
from geosuff._errors import GeosuffError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=escape(
        "geosuff: catchments, placement-distance gaps and site selection for the sufficiency duty."
    ),
    pretty_exceptions_enable=False,
)


def _h(text: str) -> str:
    """Help text with its square brackets kept (typer renders help through rich markup)."""
    return escape(text)


def _e(value: object) -> str:
    """User-facing text (error messages, paths, values) made safe for rich markup: ``[inputs]``
    stays ``[inputs]`` instead of being swallowed as a style tag.
    """
    return escape(str(value))


console = Console(stderr=True)
out_console = Console()
_STATE: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        out_console.print(f"geosuff {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help=_h("Show tracebacks and debug logging.")),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help=_h("Show progress messages from each stage.")
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help=_h("Show the version.")
    ),
) -> None:
    _STATE["debug"] = debug
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except GeosuffError as err:
        if _STATE["debug"]:
            raise
        console.print(f"[bold red]Error:[/] {_e(err)}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
        if _STATE["debug"]:
            raise
        console.print(
            f"[bold red]Error:[/] {_e(err.strerror)}: {_e(err.filename)}. Check the path and that you can read it."
        )
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print(
            "Interrupted: no partial output files were left (outputs are written atomically)."
        )
        raise typer.Exit(130) from None
    except Exception as err:  # unexpected: a bug, not bad input
        if _STATE["debug"]:
            raise
        console.print(
            f"[bold red]Unexpected error ({type(err).__name__}):[/] {_e(err)}. Run again with --debug and report the traceback."
        )
        raise typer.Exit(1) from None


def _progress_runner(title: str) -> tuple[Progress, Callable[[str, int, int], None]]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task(title, total=7)

    def update(stage: str, i: int, n: int) -> None:
        progress.update(task, description=f"{title}: {stage}", completed=i, total=n)

    return progress, update


def _print_summary(results: Any, started: float) -> None:
    out = results.out_dir
    out_console.print(
        f"\n[bold green]Done[/] in {time.perf_counter() - started:.0f} s. Outputs in [bold]{_e(out)}[/]:"
    )
    for name in ("report.html", "map.html", "geosuff.gpkg"):
        if name in results.files:
            out_console.print(f"  {_e(results.files[name])}")
    out_console.print(f"  {_e(out / 'tables')}/  (CSV of every published table)")
    out_console.print(f"  {_e(out / 'qa')}/  (row-level checks; not for publication)")
    out_console.print(f"  {_e(out / 'manifest.json')}")
    rec = results.reconciliation
    if rec is not None:
        from geosuff.inputs.validate import fate_lines

        # the same lines as `geosuff validate` prints: one decision (row_fates) behind both
        out_console.print("Rows (every input row is accounted for; see qa/reconciliation.csv):")
        for line in fate_lines(rec):
            out_console.print(f"  {_e(line)}")
    if results.scenario.synthetic:
        out_console.print("[yellow]These results use SYNTHETIC data (not real children).[/]")


def _run_with_progress(title: str, fn: Callable[[Callable[[str, int, int], None]], Any]) -> Any:
    progress, update = _progress_runner(title)
    with progress:
        res = fn(update)
        progress.update(
            progress.task_ids[0], completed=progress.tasks[0].total, description=f"{title}: done"
        )
    return res


# ----------------------------------------------------------------------------------------------
@app.command()
def demo(
    out: Path = typer.Option(
        Path("outputs"), "--out", help=_h("Root output folder; results go to OUT/<council>/.")
    ),
    council: str = typer.Option(
        "E06000017",
        help=_h("Council (GSS code) for the synthetic demo; Rutland ships its road network."),
    ),
    seed: int = typer.Option(2026, help=_h("Random seed of the synthetic cohort.")),
) -> None:
    """Generate the SYNTHETIC Rutland demo and run the whole gap review on it."""
    from geosuff.pipeline import run_demo

    started = time.perf_counter()
    res = _guard(
        lambda: _run_with_progress(
            "demo", lambda upd: run_demo(out, council=council, seed=seed, progress=upd)
        )
    )
    _print_summary(res, started)


@app.command()
def review(
    config: Path = typer.Argument(..., help=_h("Scenario TOML file.")),
    restricted: bool = typer.Option(
        False,
        "--restricted",
        help=_h("Also write OFFICIAL-SENSITIVE record-level tables (internal use only)."),
    ),
) -> None:
    """Run the whole pipeline on a scenario: catchments, gaps, site scoring, map and report."""
    _review(config, restricted=restricted, title="review")


def _review(config: Path, *, restricted: bool, title: str) -> Any:
    """The whole run behind ``review`` and ``gaps`` (``title`` labels the progress bar)."""
    from geosuff.config import load_config
    from geosuff.pipeline import run

    started = time.perf_counter()

    def go(upd: Callable[[str, int, int], None]) -> Any:
        sc = load_config(config)
        if restricted:
            sc = sc.model_copy(update={"output": sc.output.model_copy(update={"restricted": True})})
        return run(sc, progress=upd)

    res = _guard(lambda: _run_with_progress(title, go))
    _print_summary(res, started)
    return res


@app.command()
def validate(config: Path = typer.Argument(..., help=_h("Scenario TOML file."))) -> None:
    """Check the config and every input file; print one report of all problems."""

    def go() -> int:
        from geosuff.config import load_config
        from geosuff.inputs.validate import validate_scenario

        rep = validate_scenario(load_config(config))
        out_console.print(_e(rep.to_text()))
        return 0 if rep.ok else 1

    code = _guard(go)
    raise typer.Exit(code)


@app.command()
def synth(
    out: Path = typer.Option(
        Path("outputs/synthetic"), "--out", help=_h("Folder for the synthetic files.")
    ),
    council: str = typer.Option("E06000017", help=_h("Council GSS code.")),
    seed: int = typer.Option(2026, help=_h("Random seed.")),
    n: int = typer.Option(
        0, "--n", help=_h("Number of children (default: the council's DfE count at 31 March).")
    ),
    candidates: int = typer.Option(12, help=_h("Number of candidate council properties.")),
    years: int = typer.Option(
        1,
        "--years",
        min=1,
        help=_h("Years of episodes history (ended episodes too), for tables/trend.csv."),
    ),
    network_file: Path | None = typer.Option(
        None,
        "--network",
        help=_h(
            "OSM road network covering the council (default: the shipped one for Rutland; none for other councils, whose road times are then straight-line estimates)."
        ),
    ),
) -> None:
    """Write a SYNTHETIC council dataset calibrated to DfE statistics (placements, sites, candidates, config)."""
    from geosuff.synth import NO_NETWORK_NOTE, synthesise

    res = _guard(
        lambda: synthesise(
            council,
            out,
            seed=seed,
            n_children=n or None,
            n_candidates=candidates,
            network=network_file,
            years=years,
        )
    )
    out_console.print(
        f"Wrote SYNTHETIC data for {_e(council)} ({res.n_children} children) to {_e(res.folder)}; run it with: geosuff review {_e(res.config)}"
    )
    if res.network is None:
        out_console.print(
            _e(
                f"{NO_NETWORK_NOTE} Give --network FILE (e.g. a Geofabrik county extract covering the council) for road times."
            )
        )


@app.command()
def network(
    osm_file: Path = typer.Argument(..., help=_h("OSM file (.osm.pbf, .osm, .osm.bz2).")),
    out: Path = typer.Option(
        ...,
        "--out",
        help=_h("GraphML file to write (osmnx-compatible: edge length m, travel_time s)."),
    ),
) -> None:
    """Build the drive graph from an OSM file and export it as GraphML."""
    from geosuff import network as net

    def go() -> Any:
        g = net.build_graph(osm_file)
        net.save_graphml(g, out)
        return g

    g = _guard(go)
    out_console.print(f"Wrote {_e(out)}: {g.n_nodes} nodes, {g.n_edges} edges (EPSG:27700).")


@app.command()
def traveltime(
    network_file: Path = typer.Option(..., "--network", help=_h("OSM file.")),
    from_csv: Path = typer.Option(
        ..., "--from", help=_h("Origins CSV: id + lon/lat, easting/northing or postcode.")
    ),
    to_csv: Path = typer.Option(..., "--to", help=_h("Destinations CSV: id + location.")),
    out: Path = typer.Option(
        ..., "--out", help=_h("Output CSV: from_id,to_id,minutes,km,estimated,reason.")
    ),
    max_minutes: float | None = typer.Option(
        None, "--max-minutes", help=_h("Leave pairs beyond this many minutes empty.")
    ),
    postcodes: Path | None = typer.Option(
        None, "--postcodes", help=_h("Postcode lookup (ONSPD/Code-Point) for postcode columns.")
    ),
) -> None:
    """Travel-time (OD) matrix between two point files, long format, one row per pair."""
    from geosuff import routing as tt
    from geosuff.publication import files as outputs

    df = _guard(
        lambda: tt.od_table_from_files(
            network_file, from_csv, to_csv, postcodes=postcodes, max_minutes=max_minutes
        )
    )
    outputs.write_csv(out, df)
    out_console.print(
        f"Wrote {_e(out)}: {len(df)} pairs ({int(df['minutes'].isna().sum())} without a time)."
    )


@app.command()
def catchments(
    network_file: Path = typer.Option(..., "--network", help=_h("OSM file.")),
    sites: Path = typer.Option(
        ..., "--sites", help=_h("Sites CSV: site_id, type, places and a location.")
    ),
    minutes: str = typer.Option("15,30,45,60", "--minutes", help=_h("Comma-separated thresholds.")),
    out: Path = typer.Option(
        ..., "--out", help=_h("GeoPackage to write (one polygon per site and threshold).")
    ),
) -> None:
    """Catchment polygons (true road shape) for each site and threshold."""
    from geosuff.pipeline import catchments_from_files

    def go() -> Any:
        try:
            mins = [float(m) for m in minutes.split(",") if m.strip()]
        except ValueError:
            raise GeosuffError(
                f"--minutes must be numbers separated by commas (got {minutes!r})."
            ) from None
        return catchments_from_files(network_file, sites, mins, out)

    res = _guard(go)
    out_console.print(
        f"Wrote {_e(out)}" + (f": {len(res)} polygons." if hasattr(res, "__len__") else ".")
    )


@app.command()
def gaps(config: Path = typer.Argument(..., help=_h("Scenario TOML file."))) -> None:
    """Placement-distance measures, indicators and gap areas (whole pipeline; prints the headline)."""
    from geosuff.publication.report import headlines

    res = _review(config, restricted=False, title="gaps")
    out_console.print("\n[bold]Headline[/] (published figures, as in report.html):")
    for h in _guard(lambda: headlines(res)):
        out_console.print(f"  [bold]{_e(h.figure)}[/] {_e(h.sentence)}")
        if h.comparison:
            out_console.print(f"    {_e(h.comparison)}")


def _print_issues(issues: list[Any], *, examples: int = 5) -> None:
    """Warn about an input's problems on the terminal: up to ``examples`` per kind (each naming
    the file, row and column), then how many more (``geosuff validate`` lists them all).
    """
    by_code: dict[str, list[Any]] = {}
    for i in issues:
        by_code.setdefault(i.code or i.problem, []).append(i)
    for group in by_code.values():
        for i in group[:examples]:
            out_console.print(f"[yellow]{_e(i.severity)}[/]: {_e(i.text())}")
        if len(group) > examples:
            out_console.print(f"  ... and {len(group) - examples} more like this")


@app.command()
def distances(
    placements: Path = typer.Option(
        ...,
        "--placements",
        help=_h("SSDA903 episodes CSV/XLSX (CHILD, HOME_POST, PL_POST, PLACE)."),
    ),
    postcodes: Path | None = typer.Option(
        None,
        "--postcodes",
        help=_h("Postcode lookup (ONSPD/Code-Point); default the packaged ONSPD."),
    ),
    council: str = typer.Option(
        ..., "--council", help=_h("Responsible LA GSS code, e.g. E06000017.")
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help=_h(
            "CSV to write: every input row with dfe_miles, dfe_category, far, inside_la, placement_la, reason."
        ),
    ),
    network_file: Path | None = typer.Option(
        None, "--network", help=_h("OSM file: also add road minutes and km.")
    ),
    far_miles: float = typer.Option(20.0, "--far-miles", help=_h("The DfE distance line.")),
) -> None:
    """Per-child DfE distance measures for the SSDA903 return (record-level: OFFICIAL-SENSITIVE)."""
    from geosuff.analysis import distance
    from geosuff.inputs import Boundaries, default_lookup, load_placements
    from geosuff.publication import files as outputs

    def go() -> Any:
        b = Boundaries.load()
        b.geometry(council.upper())
        loaded = load_placements(placements, lookup=default_lookup(postcodes), boundaries=b)
        t = loaded.table
        kw: dict[str, Any] = {}
        if network_file is not None:
            from geosuff import network as net
            from geosuff.pipeline import _pair_times, _xy

            g = net.build_graph(network_file)
            m, k, e = _pair_times(g, _xy(t, "home_e", "home_n"), _xy(t, "pl_e", "pl_n"), None)
            kw = {"road_minutes": m, "road_km": k, "road_estimated": e}
        _print_issues(loaded.issues)
        res = distance.placement_measures(t, council=council.upper(), far_miles=far_miles, **kw)
        res.attrs["date_style"] = loaded.meta.get("date_style") or "uk"
        return res

    res = _guard(go)
    outputs.write_csv(out, res, date_style=res.attrs.get("date_style", "uk"))
    n_far = int(distance.far_mask(res).sum())
    out_console.print(
        f"Wrote {_e(out)}: {len(res)} rows; {n_far} over {far_miles:g} miles. This file is record-level personal data (OFFICIAL-SENSITIVE)."
    )


@app.command()
def sites(
    config: Path = typer.Argument(..., help=_h("Scenario TOML file.")),
    k: int = typer.Option(0, "--k", help=_h("Number of sites to choose (overrides [siting] k).")),
) -> None:
    """Score candidate properties and choose the best k together (whole pipeline)."""
    from geosuff.config import load_config
    from geosuff.pipeline import run

    started = time.perf_counter()

    def go(upd: Callable[[str, int, int], None]) -> Any:
        sc = load_config(config)
        if k:
            sc = sc.model_copy(update={"siting": {**sc.siting, "k": k}})
        return run(sc, progress=upd)

    res = _guard(lambda: _run_with_progress("sites", go))
    if res.candidates is not None and "rank" in res.candidates:
        cols = [
            c
            for c in (
                "rank",
                "candidate_id",
                "use",
                "places",
                "total",
                "chosen",
                "ineligible_reason",
            )
            if c in res.candidates
        ]
        from rich.table import Table

        ranked = res.candidates.sort_values(["rank", "candidate_id"], na_position="last")[cols]
        t = Table(
            title="Candidate properties, ranked (every component: report.html, tables/candidates_ranked.csv)",
            title_justify="left",
        )
        for c in cols:
            t.add_column(
                c.replace("_", " "),
                justify="right" if c in {"rank", "places", "total"} else "left",
                overflow="fold",
            )
        for r in ranked.itertuples(index=False):
            cells = []
            for c, v in zip(cols, r, strict=True):
                if v is None or (isinstance(v, float) and v != v) or str(v) in {"<NA>", "nan"}:
                    cells.append("-" if c == "rank" else "")
                elif c == "total":
                    cells.append(f"{float(v):.3f}")
                elif c == "chosen":
                    cells.append("chosen" if bool(v) else "")
                else:
                    cells.append(str(v).replace("_", " ") if c == "use" else str(v))
            t.add_row(*(_e(c) for c in cells))
        out_console.print(t)
    _print_summary(res, started)


# ----------------------------------------------------------------------------------------------
@app.command()
def region(
    region_file: Path = typer.Argument(
        ..., help=_h("Region TOML file (name, councils, [output], [compute]).")
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help=_h(
            'Where the councils run: a Dask scheduler address (tcp://host:8786), "none" (one after the other in this process) or "" (an embedded Dask cluster); default the region file\'s [compute] scheduler.'
        ),
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help=_h("Worker processes of the embedded Dask cluster.")
    ),
) -> None:
    """Run every council of a region (each as a Dask task) and write the regional outputs."""
    from geosuff.config.region import load_region, with_compute
    from geosuff.region import run_region

    started = time.perf_counter()

    def go(upd: Callable[[str, int, int], None]) -> Any:
        reg = with_compute(load_region(region_file), scheduler=scheduler, workers=workers)
        return run_region(reg, progress=upd)

    res = _guard(lambda: _run_with_progress("region", go))
    out_console.print(
        f"\n[bold green]Done[/] in {time.perf_counter() - started:.0f} s: {len(res.parts)} councils."
    )
    for p in res.parts:
        out_console.print(f"  {_e(p.name)}: {_e(res.region.out_dir / p.code)}/")
    out_console.print(f"  Region: {_e(res.region.region_dir)}/  (report.html, map.html, tables/)")
    if res.region.synthetic:
        out_console.print("[yellow]These results use SYNTHETIC data (not real children).[/]")


@app.command("synth-region")
def synth_region(
    councils: str = typer.Option(
        ...,
        "--councils",
        help=_h("Council GSS codes separated by commas, e.g. E06000017,E10000024."),
    ),
    out: Path = typer.Option(..., "--out", help=_h("Folder for the synthetic region.")),
    network_file: Path | None = typer.Option(
        None,
        "--network",
        help=_h(
            "One OSM road network covering every council (default: none, travel times are straight-line estimates)."
        ),
    ),
    seed: int = typer.Option(2026, help=_h("Random seed (council i uses seed + i).")),
    n: int = typer.Option(0, "--n", help=_h("Children per council (default: its DfE count).")),
) -> None:
    """Write a SYNTHETIC region: one synthetic scenario per council and the region file."""
    from geosuff.region import synthesise_region

    res = _guard(
        lambda: synthesise_region(
            councils.split(","), out, network=network_file, seed=seed, n_children=n or None
        )
    )
    out_console.print(
        f"Wrote a SYNTHETIC region of {len(res.councils)} councils to {_e(res.folder)}; run it with: geosuff region {_e(res.region_file)}"
    )


def main() -> None:
    """Entry point of the ``geosuff`` command."""
    try:
        app()
    except SystemExit as e:
        sys.exit(e.code)


if __name__ == "__main__":
    main()
