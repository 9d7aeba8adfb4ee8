"""Run all geosuff benchmarks in turn and summarise (``make bench``).

    .venv/bin/python benchmarks/run_all.py                      # full run (20-40 min on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick              # smaller sizes (a few minutes)
    .venv/bin/python benchmarks/run_all.py --only siting,memory # a subset, in the given order

Each benchmark script runs as a subprocess of the same interpreter (``sys.executable``) so that one
benchmark's memory and caches do not affect the next; its output is streamed as it comes and also
written, with a header (date, machine, commit) and the final summary, to
``benchmarks/results/latest.txt``. ``--quick`` is passed to the scripts that support it; the others
get smaller sizes. The exit status is non-zero if any benchmark failed.

Benchmarks (see benchmarks/README.md for what each measures and the figures of the last full run):

* ``traveltime`` - bench_traveltime.py: reachable sets / OD matrix vs networkx, osmnx ego_graph,
  a compiled C heap Dijkstra and scipy csgraph;
* ``catchments`` - bench_catchments.py: catchment polygons vs the buffered-edge union and the
  convex-hull isochrone recipe;
* ``siting`` - bench_siting.py: optimal site selection vs spopt MCLP solved by HiGHS;
* ``memory`` - bench_memory.py: peak RSS of validation + DfE distance vs pandas + whole-ONSPD merge;
* ``peers`` - bench_peers.py: OD matrix vs pandana and Valhalla, catchments vs Valhalla isochrones
  (peers from ``.venv-peers``; skipped with a message when missing);
* ``england`` - bench_england.py: chunked routing on 1 and 2 local Dask workers over a SYNTHETIC
  England-scale network (10^6 nodes, ~83,000 children, 32,844 LSOAs). Long: in the full run only,
  never in ``--quick`` (run it alone with ``--only england``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

#: name -> (script, arguments of a full run, arguments of a --quick run)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "traveltime": ("bench_traveltime.py", [], ["--quick"]),
    "catchments": (
        "bench_catchments.py",
        [],
        ["--sites", "50", "--ref-sites", "2", "--hull-sites", "5"],
    ),
    "siting": ("bench_siting.py", [], ["--quick"]),
    "memory": ("bench_memory.py", [], ["--n", "20000", "--candidates", "2000"]),
    "peers": ("bench_peers.py", [], ["--quick"]),
    "england": ("bench_england.py", [], []),
}
#: benchmarks left out of ``--quick`` runs (unless named in ``--only``)
NOT_QUICK = {"england"}


def _git_commit() -> str:
    try:
        res = subprocess.run(
            ["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        )
        return res.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _header(quick: bool, names: list[str]) -> list[str]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"geosuff benchmarks{' (--quick)' if quick else ''}: {', '.join(names)}",
        f"date {now}; commit {_git_commit()}",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()} ({sys.executable})",
        "(absolute times are noisy on a shared machine; compare the ratios measured in the same run)",
    ]


def _run_one(name: str, cmd: list[str], log: TextIO) -> tuple[int, float]:
    """Run one benchmark, streaming its stdout+stderr to the terminal and the log."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            cwd=HERE.parent,
            env=env,
        )
    except OSError as exc:
        msg = f"could not start {name}: {exc}\n"
        sys.stdout.write(msg)
        log.write(msg)
        return 127, time.perf_counter() - t0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
            log.flush()
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    return rc, time.perf_counter() - t0


def _fmt_time(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="smaller sizes / fewer repeats (a few minutes)"
    )
    ap.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset, run in the given order (choices: {','.join(BENCHMARKS)})",
    )
    ap.add_argument(
        "--output",
        type=Path,
        default=RESULTS / "latest.txt",
        help="combined log (default: benchmarks/results/latest.txt)",
    )
    args = ap.parse_args(argv)

    names = [n.strip() for n in args.only.split(",") if n.strip()] or [
        n for n in BENCHMARKS if not (args.quick and n in NOT_QUICK)
    ]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    results: list[tuple[str, int, float]] = []
    t_all = time.perf_counter()
    with open(args.output, "w", encoding="utf-8") as log:

        def emit(text: str = "") -> None:
            print(text, flush=True)
            log.write(text + "\n")
            log.flush()

        for line in _header(args.quick, names):
            emit(line)
        for name in names:
            script, full, quick = BENCHMARKS[name]
            cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
            emit()
            emit("=" * 100)
            emit(f"== {name}: {' '.join([Path(cmd[0]).name, *cmd[1:]])}")
            emit("=" * 100)
            rc, took = _run_one(name, cmd, log)
            results.append((name, rc, took))
            emit(f"-- {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {_fmt_time(took)}")

        emit()
        emit("=" * 100)
        emit(f"summary{' (--quick)' if args.quick else ''}")
        for name, rc, took in results:
            status = "ok" if rc == 0 else f"FAILED (exit {rc})"
            emit(f"  {name:12s} {status:18s} {_fmt_time(took):>10s}")
        n_fail = sum(rc != 0 for _, rc, _ in results)
        emit(
            f"  {len(results) - n_fail} of {len(results)} succeeded; "
            f"total {_fmt_time(time.perf_counter() - t_all)}"
        )
    print(f"combined output written to {args.output}")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
