"""The :class:`Results` of a pipeline run: every table the maps, report and files are made from.

Tables marked *restricted* hold record-level personal data (one row per child episode) and are
never written to published outputs; publishable views are made through :mod:`geosuff.disclosure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geosuff.config import Scenario
from geosuff.network import GraphMeta

if TYPE_CHECKING:
    from geosuff.analysis.access import AccessRaster
    from geosuff.analysis.trend import TrendRecords
    from geosuff.siting import Selection

#: Positions of rows of :attr:`Results.measures` (int64).
Rows = npt.NDArray[np.int64]


class Linkage(TypedDict, total=False):
    """*Restricted.* Which placement rows (positions in :attr:`Results.measures`) each siting
    count counts; a key is absent when siting did not make those counts.
    """

    #: Candidate id -> rows of the children it could re-home.
    rehoming: dict[str, Rows]
    #: Scenario indicator -> rows counted (before, with the chosen new sites alone, if today's
    #: spare places were also filled).
    scenario: dict[str, tuple[Rows, Rows, Rows]]
    #: Chosen candidate id -> rows of the children assigned to it.
    assigned: dict[str, Rows]


class RunGraphMeta(GraphMeta, total=False):
    """The road graph a run used (:attr:`Results.graph_meta`, written into the manifest): its
    :class:`~geosuff.network.GraphMeta` provenance plus its size.
    """

    #: Nodes of the graph routed on.
    nodes: int
    #: Directed edges of the graph routed on.
    edges: int


@dataclass
class Results:
    """Everything a run produced. All geometry in EPSG:27700.

    Attributes
    ----------
    scenario : Scenario
        The validated configuration the run used (written into every report).
    council_name : str
        Name of the responsible upper-tier LA.
    boundary : GeoDataFrame
        The council polygon (one row: ``code``, ``name``).
    neighbours : GeoDataFrame | None
        The upper-tier LAs adjoining the council (``code``, ``name``, polygon), from the
        scenario's ``[inputs] boundaries`` (computed once by the pipeline; the map draws them from
        here and never re-reads the boundaries). None when not computed.
    la_centres : dict[str, tuple[float, float]]
        Representative point (easting, northing) of every upper-tier LA in the scenario's
        boundaries, keyed by LA code: where the map's placement-flow lines end.
    measures : DataFrame
        *Restricted.* One row per placement episode (every input row): inputs plus ``dfe_miles``,
        ``dfe_category``, ``placement_la``, ``inside_la``, ``adjoining_la``, ``country``,
        ``road_minutes``, ``road_km``, ``road_estimated``, ``measures_disagree``, ``home_area``
        (LSOA id), ``status``, ``reason``.
    sites : DataFrame
        Provision sites (every input row, ``status``/``reason``), with ``easting``/``northing``,
        ``snap_m``, ``on_network``. Site locations are not addresses but are still not published
        for children's homes and foster clusters (maps show them generalised).
    candidates : DataFrame | None
        Candidate properties (every input row) with score components, ``total``, ``rank``,
        ``eligible``, ``ineligible_reason``.
    catchments : GeoDataFrame
        One polygon per site × threshold: ``site_id``, ``type``, ``minutes``, ``area_km2``, quality.
    served : GeoDataFrame
        Dissolved served area per site type × threshold.
    areas : GeoDataFrame
        Small areas (LSOA) with ``area_id``, ``area_name``, ``pop_0_17``, minutes to nearest site
        of each type (``min_<type>``), 2SFCA ``places_per_1000`` (at ``local_minutes``).
    gap_areas : GeoDataFrame
        Ranked gap areas with ``count_band``, needed group(s), ``lacks``, ``evidence``.
    indicators : dict[str, DataFrame]
        Indicator tables keyed by breakdown: "overall", "place_group", "age_band", "uasc", and
        where the data allows "excluding_uasc", "district", "subarea", "need", "disabled"
        (:mod:`geosuff.analysis.subgroups`).
    dfe_comparison : DataFrame
        Council computed vs council published vs England published.
    sensitivity : DataFrame
        Indicators at other miles / minutes thresholds.
    selection : Selection or None
        The optimal set (:class:`geosuff.siting.Selection`) or None.
    scenario_comparison : DataFrame | None
        Indicators before and after opening the chosen set (``geosuff.siting.scenario_table``):
        with the new sites alone, and, separately, if today's spare places were also filled.
    reconciliation : DataFrame
        One row per input row of every table: ``table``, ``row``, ``id``, ``status``, ``reason``.
    issues : DataFrame
        Validation issues: ``file``, ``row``, ``column``, ``value``, ``problem``, ``severity``.
    access_rasters : dict[str, AccessRaster]
        Access surfaces in memory (arrays and grid, :func:`geosuff.analysis.access.access_rasters`).
    rasters : dict[str, Path]
        Access-surface GeoTIFFs (filled when the outputs are written).
    flows : DataFrame
        Aggregated placement flows (home area -> placement LA) with counts (unsuppressed; publish
        through disclosure).
    linkage : Linkage
        *Restricted.* Which placement rows (positions in ``measures``) each siting count counts:
        ``rehoming`` (candidate id -> rows), ``scenario`` (indicator -> (before rows, rows with
        the new sites alone, rows if today's spare places were also filled)), ``assigned`` (chosen
        candidate id -> rows). Used by :mod:`geosuff.publish` only.
    basemap : GeoDataFrame | None
        The map's offline background (``[output] basemap = "roads"``): main roads by class
        (``kind`` "road", ``cls``, simplified lines) and place names (``kind`` "place", ``cls``
        city/town/village, ``name``), from the run's road graph and OSM extract
        (:func:`geosuff.publication.maps.basemap.build_basemap`). None when not made.
    graph_meta : dict
        Road graph size and provenance (nodes, edges, speeds, source file hash).
    timings : dict[str, float]
        Seconds per stage.
    files : dict[str, Path]
        Files written.
    trend : DataFrame or None
        Measures at each 31 March (:data:`geosuff.analysis.trend.TREND_COLUMNS`; raw counts,
        unsuppressed); None when the placements have no episode dates.
    trend_records : TrendRecords or None
        *Restricted.* The children of each year's snapshot (for the ledger).
    care_leavers : DataFrame or None
        *Restricted.* The care-leavers table (``[inputs] care_leavers``), one row per input row
        with its measures (:func:`geosuff.analysis.care_leavers.care_leaver_measures`).
    care_leaver_table : DataFrame or None
        The raw (unsuppressed) ``tables/care_leavers.csv``.
    projection : DataFrame or None
        The raw projection (:data:`geosuff.analysis.projection.PROJECTION_COLUMNS`, unrounded).
    date_style : str
        How the inputs wrote dates, so outputs write them the same way: ``"uk"`` (dd/mm/yyyy,
        the default) or ``"iso"`` (yyyy-mm-dd) when every dated input used ISO dates.
    """

    scenario: Scenario
    council_name: str
    boundary: gpd.GeoDataFrame
    measures: pd.DataFrame
    sites: pd.DataFrame
    neighbours: gpd.GeoDataFrame | None = None
    la_centres: dict[str, tuple[float, float]] = field(default_factory=dict)
    candidates: pd.DataFrame | None = None
    catchments: gpd.GeoDataFrame | None = None
    served: gpd.GeoDataFrame | None = None
    areas: gpd.GeoDataFrame | None = None
    gap_areas: gpd.GeoDataFrame | None = None
    indicators: dict[str, pd.DataFrame] = field(default_factory=dict)
    dfe_comparison: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    selection: Selection | None = None
    scenario_comparison: pd.DataFrame | None = None
    reconciliation: pd.DataFrame | None = None
    issues: pd.DataFrame | None = None
    access_rasters: dict[str, AccessRaster] = field(default_factory=dict)
    rasters: dict[str, Path] = field(default_factory=dict)
    flows: pd.DataFrame | None = None
    linkage: Linkage = field(default_factory=lambda: Linkage())
    graph_meta: RunGraphMeta = field(default_factory=lambda: RunGraphMeta())
    basemap: gpd.GeoDataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    trend: pd.DataFrame | None = None
    trend_records: TrendRecords | None = None
    care_leavers: pd.DataFrame | None = None
    care_leaver_table: pd.DataFrame | None = None
    projection: pd.DataFrame | None = None
    date_style: str = "uk"

    @property
    def out_dir(self) -> Path:
        return Path(self.scenario.output.dir)
