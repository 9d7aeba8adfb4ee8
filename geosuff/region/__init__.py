"""Regions: several councils' reviews run together, on Dask, with regional outputs.

``run_region(load_region("region.toml"))`` runs each council's whole review as one Dask task
(an embedded ``LocalCluster``, an existing cluster at ``tcp://host:8786``, or in this process),
writing the council's usual outputs under ``<dir>/<council code>/``; then makes the regional
outputs under ``<dir>/region/`` from what each council hands back
(:class:`geosuff.publication.region.CouncilPart`): ``tables/flows.csv``,
``tables/indicators.csv``, ``tables/provision.csv``, ``report.html`` and ``map.html``, under one
disclosure ledger with the councils' own figures.
"""

from __future__ import annotations

from geosuff.region.run import RegionRun, council_task, joint_siting, run_region
from geosuff.region.synth import synthesise_region

__all__ = ["RegionRun", "council_task", "joint_siting", "run_region", "synthesise_region"]
