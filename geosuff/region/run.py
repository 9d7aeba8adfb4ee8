"""Run a region: the councils' reviews as Dask tasks, then the regional outputs."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geosuff import __version__
from geosuff._errors import ConfigError
from geosuff._lock import output_lock
from geosuff.config import Scenario
from geosuff.config.region import Region
from geosuff.publication import files as outputs
from geosuff.publication.region import (
    CouncilPart,
    RegionPublished,
    build_region,
    council_part,
    region_map,
    region_report_html,
)

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]

#: Regional tables: file name under ``<dir>/region/tables/`` -> RegionPublished attribute.
REGION_TABLES = {
    "flows.csv": "flows",
    "indicators.csv": "indicators",
    "provision.csv": "provision",
}


@dataclass
class RegionRun:
    """A region's run: the councils' parts (in the region file's order), the published regional
    tables and the files written.
    """

    region: Region
    parts: list[CouncilPart]
    published: RegionPublished
    files: dict[str, Path] = field(default_factory=dict)


def council_task(scenario: Scenario, cache_dir: str | None = None) -> CouncilPart:
    """One council's whole review (its outputs written under its ``[output] dir``), as a Dask
    task: returns the small :class:`CouncilPart` the region needs.
    """
    from geosuff.pipeline import run

    results = run(scenario, cache_dir=Path(cache_dir) if cache_dir else None)
    return council_part(results)


def _in_process(
    scenarios: list[Scenario], cache_dir: str | None, progress: ProgressFn | None
) -> list[CouncilPart]:
    parts = []
    for i, sc in enumerate(scenarios):
        if progress:
            progress(f"council {sc.council}", i, len(scenarios) + 1)
        parts.append(council_task(sc, cache_dir))
    return parts


def _client(scheduler: str, workers: int) -> tuple[Any, Any]:
    """A Dask client (and the cluster it made, or None) for ``[compute]``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency
        raise ConfigError(
            "Dask distributed is not installed.",
            fix='Install it (pip install "dask[distributed]") or use --scheduler none.',
        ) from None
    if scheduler == "":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Dask's own INFO lines only with --verbose/--debug
            silence_logs=min(logging.getLogger().getEffectiveLevel(), logging.WARNING),
        )
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="20s"), None
    except (OSError, TimeoutError) as err:
        raise ConfigError(
            f"Cannot reach the Dask scheduler at {scheduler} ({err}).",
            fix="Start it (dask scheduler; dask worker ADDRESS) or check the address, or use "
            '--scheduler none (in this process) or --scheduler "" (an embedded cluster).',
        ) from None


def _on_dask(
    scenarios: list[Scenario],
    cache_dir: str | None,
    progress: ProgressFn | None,
    *,
    scheduler: str,
    workers: int,
) -> list[CouncilPart]:
    from distributed import as_completed

    client, cluster = _client(scheduler, workers)
    try:
        futures = [
            client.submit(
                council_task, sc, cache_dir, key=f"geosuff-council-{sc.council}", pure=False
            )
            for sc in scenarios
        ]
        if progress:
            progress(
                f"{len(scenarios)} councils on {client.scheduler.address}", 0, len(scenarios) + 1
            )
        for done, fut in enumerate(as_completed(futures), start=1):
            if progress:
                progress(
                    f"council {fut.key.removeprefix('geosuff-council-')} done",
                    done,
                    len(scenarios) + 1,
                )
        # in the region file's order, whichever finished first
        return list(client.gather(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def joint_siting(region: Region, parts: list[CouncilPart]) -> str:
    """HOOK for joint siting across the region (``[siting]`` of the region file).

    The joint-siting array core (``geosuff.siting.joint``) plugs in here: given the councils'
    parts (their demand and candidates to be added to :class:`CouncilPart`) and
    ``region.siting`` (e.g. ``k``), choose the region's best ``k`` sites together and return the
    report's sentence (and, later, a table for ``tables/joint_siting.csv``). Until then: an
    empty string (the report leaves the section out).
    """
    import importlib.util

    if importlib.util.find_spec("geosuff.siting.joint") is None:
        logger.info("joint siting not available yet (geosuff.siting.joint): left out")
        return ""
    logger.info("joint siting (k=%s): not wired into the region run yet", region.siting.get("k"))
    return ""


def run_region(
    region: Region,
    *,
    progress: ProgressFn | None = None,
    cache_dir: str | Path | None = None,
) -> RegionRun:
    """Run every council of ``region`` and write the regional outputs.

    Parameters
    ----------
    region : Region
        From :func:`geosuff.config.region.load_region`.
    progress : callable, optional
        ``progress(step, index, n_steps)``: one step per council done, then the regional outputs.
    cache_dir : path, optional
        Road-graph cache folder (default ``$GEOSUFF_CACHE_DIR`` or ``~/.cache/geosuff``; workers on
        other machines use their own).

    Returns
    -------
    RegionRun
    """
    cd = str(cache_dir) if cache_dir is not None else None
    sc = region.compute.scheduler
    if sc == "none":
        parts = _in_process(region.scenarios, cd, progress)
    else:
        parts = _on_dask(
            region.scenarios, cd, progress, scheduler=sc, workers=region.compute.workers
        )
    if progress:
        progress("regional outputs", len(parts), len(parts) + 1)
    pub = build_region(parts)
    res = RegionRun(region=region, parts=parts, published=pub)
    with output_lock(region.region_dir):
        res.files = write_region(res, joint_siting(region, parts))
    return res


def write_region(res: RegionRun, siting_text: str = "") -> dict[str, Path]:
    """Write ``<dir>/region/``: the tables, ``report.html``, ``map.html`` and ``manifest.json``."""
    out = res.region.region_dir
    (out / "tables").mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, attr in REGION_TABLES.items():
        files[f"tables/{name}"] = outputs.write_csv(
            out / "tables" / name, getattr(res.published, attr)
        )
    files["report.html"] = outputs.write_text(
        out / "report.html",
        region_report_html(res.region.name, res.parts, res.published, joint_siting=siting_text),
    )
    files["map.html"] = outputs.write_text(
        out / "map.html", region_map(res.parts, res.published, name=res.region.name)
    )
    manifest = {
        "geosuff_version": __version__,
        "region": res.region.name,
        "source": str(res.region.source),
        "councils": res.region.codes,
        "synthetic": res.region.synthetic,
        "files": sorted(files),
        "files_sha256": {
            k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in sorted(files.items())
        },
    }
    files["manifest.json"] = outputs.write_text(
        out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True)
    )
    return files
