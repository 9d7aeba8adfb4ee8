"""Run a region: the councils' reviews as Dask tasks, then the regional outputs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geosuff import __version__
from geosuff._errors import ConfigError, DisclosureError
from geosuff._lock import output_lock
from geosuff.config import Scenario
from geosuff.config.region import Region
from geosuff.publication import files as outputs
from geosuff.publication.region import (
    CouncilPart,
    RegionPublished,
    build_region,
    check_region_files,
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
    from geosuff.region.joint import council_siting

    results = run(scenario, cache_dir=Path(cache_dir) if cache_dir else None)
    return dataclasses.replace(council_part(results), siting=council_siting(results))


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


def joint_siting(region: Region, parts: list[CouncilPart]) -> tuple[str, pd.DataFrame | None]:
    """Joint siting across the region (``[siting] k`` of the region file): the report's text
    and the published ``tables/joint_siting.csv`` (None: no candidates, or ``k`` = 0).
    """
    from geosuff.publication.region import joint_siting_published
    from geosuff.region.joint import region_joint

    k = int(region.siting.get("k", 0) or 0)
    sitings = [p.siting for p in parts]
    if any(s is None for s in sitings):
        return "", None
    joint = region_joint(region.scenarios, [s for s in sitings if s is not None], k=k)
    if joint is None or joint.sites is None or len(joint.sites) == 0:
        why = "[siting] k is 0" if k <= 0 else "no council has an eligible candidate property"
        return f"No joint siting: {why} (no table written).", None
    table, text = joint_siting_published(
        joint, min_count=max(p.min_count for p in parts), names={p.code: p.name for p in parts}
    )
    return text, table


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
        text, table = joint_siting(region, parts)
        res.files = write_region(res, text, joint_table=table)
    return res


def write_region(
    res: RegionRun, siting_text: str = "", *, joint_table: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Write ``<dir>/region/``: the tables, ``report.html``, ``map.html`` and ``manifest.json``.

    Every file is written into a staging folder beside it, checked for the councils' personal
    data (:func:`geosuff.publication.region.check_region_files`) and only then moved in.
    """
    out = res.region.region_dir
    outputs.clean_stages(out)
    stage = outputs.new_stage(out)
    try:
        (stage / "tables").mkdir(parents=True, exist_ok=True)
        for name, attr in REGION_TABLES.items():
            outputs.write_csv(stage / "tables" / name, getattr(res.published, attr))
        if joint_table is not None:
            outputs.write_csv(stage / "tables" / "joint_siting.csv", joint_table)
        outputs.write_text(
            stage / "report.html",
            region_report_html(res.region.name, res.parts, res.published, joint_siting=siting_text),
        )
        outputs.write_text(
            stage / "map.html", region_map(res.parts, res.published, name=res.region.name)
        )
        written = outputs.staged_files(stage)
        found = check_region_files([stage / rel for rel in written], res.parts)
        if found:
            raise DisclosureError(
                "The regional outputs would publish personal data: " + "; ".join(found[:5]) + ".",
                fix="Nothing was written. Report this as a bug (with --debug).",
            )
        manifest = {
            "geosuff_version": __version__,
            "region": res.region.name,
            "councils": res.region.codes,
            "synthetic": res.region.synthetic,
            "files": written,
            "files_sha256": {
                rel: hashlib.sha256((stage / rel).read_bytes()).hexdigest() for rel in written
            },
        }
        outputs.write_text(stage / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        outputs.publish_stage(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {rel: out / rel for rel in [*written, "manifest.json"]}
