"""The published figures of a run: every count of children, suppressed together.

A run publishes many counts of the same children: the indicator tables (by placement type, age
band, UASC, all sharing the "All children" row), the sensitivity lines, the distance bands of a
chart, the DfE comparison, the placement councils, the map's flows, the gap areas' bands, the
candidates' re-homing counts, the before/after of the chosen set, the data-quality counts. Rules
applied table by table cannot stop a reader from combining them (the 10-20 mile band from the
20-mile count and the 10-mile line, say). So every figure is registered in one :class:`Ledger`
as the set of placement rows it counts, and :func:`geosuff.disclosure.suppress_linked` decides,
for all of them at once, which to show as ``"c"`` so that no count of 1 to ``min_count - 1``
children can be worked out from everything published, by subtraction or otherwise.

:func:`build` makes every published table of a run (strings: counts or ``"c"``); the report, the
map and the CSV/GeoPackage writers read only these. The raw tables of :class:`Results` stay for
analysts working in Python and are never written to a published file.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff.analysis import distance, gaps
from geosuff.config import road_times
from geosuff.publication import disclosure as dc
from geosuff.siting import COME_HOME_LABEL, SCENARIO_COLUMNS

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

SUPPRESSED = dc.SUPPRESSED
#: Shown where a figure cannot be computed (no base, not modelled).
NOT_APPLICABLE = ":"

#: Distance bands (upper bound in miles, label) of the distribution chart.
MILE_BANDS: tuple[tuple[float, str], ...] = (
    (5.0, "Up to 5 miles"),
    (10.0, "5 to 10 miles"),
    (20.0, "10 to 20 miles"),
    (50.0, "20 to 50 miles"),
    (100.0, "50 to 100 miles"),
    (math.inf, "Over 100 miles"),
)
DISTANCE_NOT_KNOWN = "Not known"

#: Line widths (pixels) of placement flows on the map, by band of children; the count itself may
#: be suppressed, the band is published.
FLOW_BANDS: tuple[tuple[int, float, float], ...] = (
    (5, 10, 3.0),
    (10, 20, 5.0),
    (20, 50, 7.0),
    (50, math.inf, 9.0),
)

#: The blocks of an indicator row: each partitions the row's children.
INDICATOR_BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("miles", ("within_miles", "over_miles", "distance_not_known")),
    ("la", ("inside_la", "outside_la", "la_not_known")),
    ("adjoining", ("outside_not_adjoining", "rest_adjoining")),
    ("minutes", ("within_minutes", "beyond_minutes", "minutes_not_known")),
)
#: Columns of a published indicator table, in order (``n_<name>`` then ``pct_<name>``).
INDICATOR_PUBLISHED: tuple[str, ...] = (
    "within_miles",
    "over_miles",
    "distance_not_known",
    "inside_la",
    "outside_la",
    "la_not_known",
    "outside_not_adjoining",
    "within_minutes",
    "beyond_minutes",
    "minutes_not_known",
)
BREAKDOWNS: tuple[str, ...] = ("overall", "place_group", "age_band", "uasc")


#: How much the figures of a table matter (0 = most): further suppression falls on the highest
#: numbers first, so the headline figures survive where a chart's band can go instead. Figures of
#: priority 0 and every table's totals are *kept*: never chosen to protect another figure while
#: a less important one can (:meth:`Ledger.headline` ranks the report's headline figures above
#: all of them). The DfE comparison's rows that are the headline counts (at 31 March: 20 miles
#: or less, over 20 miles, not known) are the overall table's figures and so priority 0; its
#: breakdown of new placements by inside/outside is a table like the others.
TABLE_PRIORITY: tuple[tuple[str, int], ...] = (
    ("indicators_overall", 0),
    ("dfe", 1),
    ("scenario:headline", 0),
    ("indicators_", 1),
    ("scenario:after", 2),
    ("scenario", 1),
    ("gap_areas", 1),
    ("placements_by_la", 2),
    ("flows", 2),
    ("candidates", 2),
    ("chosen_sites", 2),
    ("sensitivity", 3),
    ("distance_bands", 3),
    ("quality", 4),
    ("issues", 4),
)


def table_priority(table: str) -> int:
    """The priority (0 = most important) of a table's figures (:data:`TABLE_PRIORITY`)."""
    for prefix, p in TABLE_PRIORITY:
        if table.startswith(prefix):
            return p
    return 2


@dataclass(frozen=True)
class Withheld:
    """How many of a run's figures are withheld, for the report's sentence.

    Attributes
    ----------
    withheld : int
        Distinct counts of children published as ``"c"``.
    figures : int
        Distinct counts of children published (as a count or as ``"c"``); the same count shown
        in several tables is one figure.
    small : int
        Of ``withheld``, those counting 1 to ``min_count - 1`` children themselves.
    min_count : int
        Smallest count published (children).
    """

    withheld: int
    figures: int
    small: int
    min_count: int


# ----------------------------------------------------------------------------------------------
# The ledger
# ----------------------------------------------------------------------------------------------
class Ledger:
    """Every figure about children that a run publishes, as the records it counts.

    Figures counting the same set of records are one figure (so the "All children" row is the
    same figure in every table, and one decision holds for all). Call :meth:`solve` once, after
    registering everything, then read :meth:`text`.

    Parameters
    ----------
    n_records : int
        Number of records (placement rows); figures give positions ``0 .. n_records - 1``.
    min_count : int, keyword-only
        Smallest count published.
    """

    def __init__(self, n_records: int, *, min_count: int) -> None:
        self.n_records = int(n_records)
        self.min_count = int(min_count)
        self._index: dict[bytes, int] = {}
        self.members: list[np.ndarray] = []
        self.kind: list[int] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.group: list[int] = []
        self.priority: list[int] = []
        self.labels: list[list[str]] = []
        self.keep: list[bool] = []
        self.blocks: list[tuple[list[list[int]], list[int]]] = []
        self._groups: dict[str, int] = {}
        self.result: dc.LinkedSuppression | None = None

    # -- registering ---------------------------------------------------------------------------
    def _members(self, rows: Any) -> np.ndarray:
        a = np.asarray(rows)
        if a.dtype == bool:
            if a.size != self.n_records:
                raise ValueError(f"mask of {a.size} rows for a ledger of {self.n_records}")
            return np.flatnonzero(a)
        idx = np.unique(a.astype(np.int64).reshape(-1))
        if idx.size and (idx[0] < 0 or idx[-1] >= self.n_records):
            raise ValueError("record position out of range")
        return idx

    def add(
        self,
        rows: Any,
        *,
        table: str,
        label: str = "",
        kind: int = dc.EXACT,
        lower: float = math.nan,
        upper: float = math.nan,
        keep: bool = False,
    ) -> int:
        """Register a figure (a boolean mask over the records or their positions); its handle.

        ``kind`` is :data:`geosuff.disclosure.EXACT` (shown as a count or "c"),
        :data:`~geosuff.disclosure.IMPLIED` (not shown but derivable: protected when small),
        :data:`~geosuff.disclosure.BAND` (shown only as the interval ``lower``-``upper``) or
        :data:`~geosuff.disclosure.FORCED`. An exact figure may also carry a published interval.
        ``keep`` marks a total: withheld only when it is small itself (or nothing else can protect
        a small figure), never as a complement where a less important figure will do.
        """
        if self.result is not None:
            raise RuntimeError("the ledger is solved: register every figure before solve()")
        m = self._members(rows)
        key = m.tobytes()
        g = self._groups.setdefault(table, len(self._groups))
        h = self._index.get(key)
        if h is None:
            h = len(self.members)
            self._index[key] = h
            self.members.append(m)
            self.kind.append(kind)
            self.lower.append(lower)
            self.upper.append(upper)
            self.group.append(g)
            self.priority.append(table_priority(table))
            self.labels.append([f"{table}: {label}"])
            self.keep.append(keep)
            return h
        self.priority[h] = min(self.priority[h], table_priority(table))
        self.keep[h] = self.keep[h] or keep
        # the same records again: the strongest publication wins, bands intersect
        rank = {dc.IMPLIED: 0, dc.BAND: 1, dc.EXACT: 2, dc.FORCED: 3}
        if rank[kind] > rank[self.kind[h]]:
            self.kind[h] = kind
        if not math.isnan(lower):
            self.lower[h] = lower if math.isnan(self.lower[h]) else max(self.lower[h], lower)
        if not math.isnan(upper):
            self.upper[h] = upper if math.isnan(self.upper[h]) else min(self.upper[h], upper)
        self.labels[h].append(f"{table}: {label}")
        return h

    def block(
        self,
        table: str,
        cells: Sequence[Sequence[Any]],
        totals: Sequence[Any],
        *,
        shown: Sequence[bool] | None = None,
        labels: Sequence[str] = (),
    ) -> tuple[list[list[int]], list[int]]:
        """Register a block: rows of cells that partition each row's total. Cells of columns not
        ``shown`` are registered as implied (not published, but protected when small). Suppression
        is decided with everything else at :meth:`solve`, where the priorities keep the most
        important figures.

        Returns the cell handles (rows x columns) and the total handles.
        """
        lab = list(labels) or [str(i) for i in range(len(cells))]
        handles = [
            [
                self.add(
                    c,
                    table=table,
                    label=f"{lab[i]} / {j}",
                    kind=dc.EXACT if shown is None or shown[j] else dc.IMPLIED,
                )
                for j, c in enumerate(row)
            ]
            for i, row in enumerate(cells)
        ]
        thandles = [
            self.add(t, table=table, label=f"{lab[i]} / total", keep=True)
            for i, t in enumerate(totals)
        ]
        self.blocks.append((handles, thandles))
        return handles, thandles

    def headline(self, *handles: int) -> None:
        """Mark the report's headline figures, most important first: kept (see :meth:`add`) and
        ranked above every table (priorities ``-len(handles)`` .. ``-1``), so where only headline
        figures could protect a small one the last of them goes first."""
        if self.result is not None:
            raise RuntimeError("the ledger is solved: mark the headline figures before solve()")
        for i, h in enumerate(handles):
            self.keep[h] = True
            self.priority[h] = min(self.priority[h], i - len(handles))

    # -- solving ---------------------------------------------------------------------------------
    def solve(self) -> None:
        """Decide every figure's publication (see :func:`geosuff.disclosure.suppress_linked`)."""
        if self.result is not None:
            return
        self._atoms = dc.figure_atoms(self.members, self.n_records)
        A, w = self._atoms
        res = dc.suppress_linked(
            A,
            w,
            kind=np.array(self.kind, dtype=np.int64),
            min_count=self.min_count,
            lower=np.array(self.lower, dtype=float),
            upper=np.array(self.upper, dtype=float),
            group=np.array(self.group, dtype=np.int64),
            priority=np.array(self.priority, dtype=np.int64),
            keep=np.array(self.keep, dtype=bool) | (np.array(self.priority) <= 0),
        )
        self.result = res
        logger.info(
            "disclosure: %d figures over %d records (%d atoms), %d suppressed (%d small), %d LPs",
            len(self.members),
            self.n_records,
            A.shape[1],
            int(res.suppressed.sum()),
            int(res.primary.sum()),
            res.lp_solves,
        )

    def _check(self) -> np.ndarray:
        if self.result is None:
            raise RuntimeError("call solve() before reading published figures")
        return self.result.suppressed

    def withheld(self) -> Withheld:
        """How many distinct figures are published and how many of them are ``"c"``."""
        sup = self._check()
        kind = np.array(self.kind, dtype=np.int64)
        published = (kind == dc.EXACT) | (kind == dc.FORCED)
        res = self.result
        small = res.primary if res is not None else np.zeros(len(kind), bool)
        return Withheld(
            withheld=int(sup[published].sum()),
            figures=int(published.sum()),
            small=int((sup & small)[published].sum()),
            min_count=self.min_count,
        )

    # -- reading ---------------------------------------------------------------------------------
    def count(self, h: int) -> int:
        """The true count (internal use only)."""
        return int(self.members[h].size)

    def shown(self, h: int) -> bool:
        """Whether the figure is published as its count."""
        sup = self._check()
        return self.kind[h] == dc.FORCED or (self.kind[h] == dc.EXACT and not bool(sup[h]))

    def text(self, h: int) -> str:
        """The published figure: the count, or ``"c"``."""
        return str(self.count(h)) if self.shown(h) else SUPPRESSED

    def percent(self, num: int, den: int, *, digits: int = 1) -> str:
        """``100 * num / den`` to ``digits`` decimals; ``"c"`` where either is suppressed and
        ``":"`` where the base is 0."""
        d = self.count(den)
        if self.shown(den) and d == 0:
            return NOT_APPLICABLE
        if not (self.shown(num) and self.shown(den)):
            return SUPPRESSED
        return f"{100.0 * self.count(num) / d:.{digits}f}"

    def audit(self) -> pd.DataFrame:
        """Every figure not shown exactly, with what a reader can work out about it (its range
        given everything published); for tests and for the council's own assurance."""
        sup = self._check()
        if not self.members:
            return pd.DataFrame(columns=["figure", "labels", "kind", "value", "lower", "upper"])
        A, w = self._atoms
        a = dc.audit_linked(
            A,
            w,
            kind=np.array(self.kind),
            suppressed=sup,
            lower=np.array(self.lower, dtype=float),
            upper=np.array(self.upper, dtype=float),
        )
        a.insert(1, "labels", ["; ".join(self.labels[int(f)]) for f in a["figure"]])
        a.insert(2, "kind", [int(self.kind[int(f)]) for f in a["figure"]])
        return a

    def published_values(self) -> pd.DataFrame:
        """Every figure with its published text (internal; tests)."""
        self._check()
        return pd.DataFrame(
            {
                "figure": np.arange(len(self.members)),
                "labels": ["; ".join(x) for x in self.labels],
                "kind": self.kind,
                "value": [m.size for m in self.members],
                "published": [
                    self.text(h) if self.kind[h] in (dc.EXACT, dc.FORCED) else ""
                    for h in range(len(self.members))
                ],
                "lower": self.lower,
                "upper": self.upper,
                "priority": self.priority,
                "reason": self.result.reason if self.result is not None else 0,
            }
        )


# ----------------------------------------------------------------------------------------------
# The published tables
# ----------------------------------------------------------------------------------------------
@dataclass
class Published:
    """Every published table of a run (counts of children as strings: a count or ``"c"``).

    Attributes
    ----------
    indicators : dict[str, DataFrame]
        By breakdown ("overall", "place_group", "age_band", "uasc"): ``group``, ``label``,
        ``n`` and ``n_<x>``/``pct_<x>`` for :data:`INDICATOR_PUBLISHED` (pct 0-100, 1 decimal).
    sensitivity : DataFrame or None
        ``measure``, ``threshold``, ``unit``, ``n``, ``n_within``, ``pct_within``,
        ``n_not_known``, ``pct_not_known``.
    distance_bands : DataFrame or None
        ``band``, ``children``, ``beyond_line`` (bool) - the distribution chart.
    dfe_comparison : DataFrame or None
        The DfE comparison with this analysis' counts published (``computed_n``,
        ``computed_pct``); the DfE's own figures as the DfE published them.
    headline : dict
        Strings for the report's summary (see :func:`build`).
    scenario : DataFrame or None
        :data:`geosuff.siting.SCENARIO_COLUMNS`: ``indicator``, ``before``, ``after_new_sites``,
        ``change_new_sites`` (the chosen new sites alone), ``after_with_spare_places``,
        ``change_with_spare_places`` (if today's spare places were also filled).
    selection : dict or None
        ``chosen`` (ids), ``before``, ``after``, ``gain``, ``status``, ``mip_gap``,
        ``greedy_gap``.
    chosen_sites : DataFrame or None
        One row per chosen property.
    candidates : DataFrame or None
        The ranked candidates, child counts published (``rehoming_reachable``,
        ``places_it_could_fill``), with ``easting``/``northing`` (council property, public).
    gap_areas : GeoDataFrame or None
        Publishable columns only (bands, named needs).
    gap_not_shown : str or None
        Children placed far away who are in no published gap area (a count or ``"c"``); None
        when gap areas were not assessed.
    flows : DataFrame
        Placement flows to draw: ``from_label``, ``from_e``, ``from_n``, ``to_code``,
        ``to_label``, ``to_e``, ``to_n``, ``children``, ``far``, ``width``, ``band``.
    flows_summary : dict
        ``inside``, ``other``, ``other_las`` (strings).
    placements_by_la : DataFrame or None
        ``placement_la``, ``placement_la_name``, ``children``, ``far``.
    reconciliation_summary, reasons, issues_summary : DataFrame or None
        Data-quality counts (rows of the children's table go through disclosure control).
    ledger : Ledger
        The figures (internal: tests and assurance).
    """

    min_count: int
    indicators: dict[str, pd.DataFrame] = field(default_factory=dict)
    sensitivity: pd.DataFrame | None = None
    distance_bands: pd.DataFrame | None = None
    dfe_comparison: pd.DataFrame | None = None
    headline: dict[str, Any] = field(default_factory=dict)
    scenario: pd.DataFrame | None = None
    selection: dict[str, Any] | None = None
    chosen_sites: pd.DataFrame | None = None
    candidates: pd.DataFrame | None = None
    gap_areas: gpd.GeoDataFrame | None = None
    gap_not_shown: str | None = None
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    flows_summary: dict[str, str] = field(default_factory=dict)
    placements_by_la: pd.DataFrame | None = None
    reconciliation_summary: pd.DataFrame | None = None
    reasons: pd.DataFrame | None = None
    issues_summary: pd.DataFrame | None = None
    ledger: Ledger | None = None


def build(results: Results) -> Published:
    """Register every published figure of a run, solve the suppression, make the tables.

    Parameters
    ----------
    results : Results
        A run's results (``measures`` is the record table: one row per placement).

    Returns
    -------
    Published
    """
    sc = results.scenario
    a = sc.analysis
    mc = sc.disclosure.min_count
    m = results.measures.reset_index(drop=True)
    n_rec = len(m)
    led = Ledger(n_rec, min_count=mc)
    status = m["status"].astype(str).to_numpy() if "status" in m else np.full(n_rec, "used")
    counted = status != "excluded"
    cm = m[counted]
    cpos = np.flatnonzero(counted)

    def full(mask_counted: np.ndarray) -> np.ndarray:
        out = np.zeros(n_rec, dtype=bool)
        out[cpos[np.asarray(mask_counted, dtype=bool)]] = True
        return out

    pending: dict[str, Any] = {}
    has_miles = "dfe_miles" in m.columns

    # indicator tables (all breakdowns share their "All children" row)
    if has_miles:
        flags = gaps.indicator_flags(cm, far_miles=a.far_miles, minutes=a.local_minutes)
        flags["rest_adjoining"] = ~flags["outside_not_adjoining"]
        for by in BREAKDOWNS:
            try:
                keys, order, labels = gaps._grouping(cm, by)
            except Exception as err:  # a breakdown column is missing: that table is left out
                logger.info("indicator table by %s not published: %s", by, err)
                continue
            groups = [] if by in ("overall", "all") else list(order)
            sels = [keys == g for g in groups] + [np.ones(len(cm), dtype=bool)]
            row_labels = [labels[g] for g in groups] + [gaps.ALL_LABEL]
            handles: dict[str, list[int]] = {}
            totals: list[int] = []
            for name, cols in INDICATOR_BLOCKS:
                cells = [[full(flags[c] & s) for c in cols] for s in sels]
                hs, ts = led.block(
                    f"indicators_{by}:{name}",
                    cells,
                    [full(s) for s in sels],
                    shown=[c != "rest_adjoining" for c in cols],
                    labels=row_labels,
                )
                for j, c in enumerate(cols):
                    handles[c] = [hs[i][j] for i in range(len(sels))]
                totals = ts
            pending[f"ind:{by}"] = (groups, row_labels, handles, totals)

        # sensitivity lines and distance bands (all children)
        miles = gaps._col_float(cm, "dfe_miles")
        mins = gaps._col_float(cm, "road_minutes")
        all_h = led.add(full(np.ones(len(cm), dtype=bool)), table="sensitivity", label="all")
        sens_rows = []
        for measure, values, lines, unit in (
            ("straight-line miles", miles, a.sensitivity_miles, "miles"),
            (
                "road minutes" if road_times(sc) else "estimated minutes",
                mins,
                a.sensitivity_minutes,
                "min",
            ),
        ):
            known = np.isfinite(values)
            nk = led.add(full(~known), table="sensitivity", label=f"{measure} not known")
            for t in sorted(float(x) for x in lines):
                h = led.add(
                    full(known & (values <= t)), table="sensitivity", label=f"{measure} <= {t:g}"
                )
                sens_rows.append((measure, t, unit, h, nk, bool(known.any())))
        pending["sensitivity"] = (all_h, sens_rows)
        band_h = []
        for lo, hi in distance_bands(miles, far_miles=a.far_miles, min_count=mc):
            sel = np.isfinite(miles) & ((miles >= lo) if lo == 0 else (miles > lo)) & (miles <= hi)
            label = band_label(lo, hi)
            band_h.append(
                (label, led.add(full(sel), table="distance_bands", label=label), lo >= a.far_miles)
            )
        band_h.append(
            (
                DISTANCE_NOT_KNOWN,
                led.add(full(~np.isfinite(miles)), table="distance_bands", label="not known"),
                False,
            )
        )
        pending["bands"] = band_h

        # this analysis in the DfE comparison
        if results.dfe_comparison is not None and len(results.dfe_comparison):
            dflags = gaps.dfe_flags(cm)
            dflags_all = gaps.dfe_flags(m)
            char = {(t, mm): c for t, mm, c in gaps.DFE_ROWS}
            dfe_h: list[tuple[int, int | None] | None] = []
            # each row counts its own cohort: the snapshot, or the year's new placements
            new_masks: dict[Any, np.ndarray | None] = {}
            for r in results.dfe_comparison.itertuples(index=False):
                key = char.get((str(r.table), str(r.measure)))
                cohort = getattr(r, "cohort", gaps.COHORT_SNAPSHOT)
                if key is None:
                    dfe_h.append(None)
                    continue
                if cohort != gaps.COHORT_STARTED_IN_YEAR:
                    h = led.add(full(dflags[key]), table="dfe", label=f"{r.table}: {r.measure}")
                    dfe_h.append((h, None))
                    continue
                end = r.cohort_end
                if end not in new_masks:
                    new_masks[end] = gaps.new_in_year(m, end)
                sel = new_masks[end]
                if sel is None:  # no start dates: the new placements are not known
                    dfe_h.append(None)
                    continue
                tot = led.add(sel, table="dfe", label=f"{r.table}: all")
                h = led.add(dflags_all[key] & sel, table="dfe", label=f"{r.table}: {r.measure}")
                dfe_h.append((h, tot))
            pending["dfe"] = dfe_h

    # placements by placement council, and the map's flows
    if "placement_la" in m.columns:
        la = m["placement_la"].astype("string")
        far_all = distance.far_mask(m) if "far" in m else np.zeros(n_rec, bool)
        names = m["placement_la_name"].astype("string") if "placement_la_name" in m else la
        la_rows = []
        codes = sorted({str(x) for x in la[counted].dropna()})
        for code in codes:
            sel = counted & (la == code).fillna(False).to_numpy(bool)
            nm = str(names[sel].dropna().iloc[0]) if names[sel].notna().any() else code
            la_rows.append(
                (
                    code,
                    nm,
                    led.add(sel, table="placements_by_la", label=f"{code} children"),
                    led.add(sel & far_all, table="placements_by_la", label=f"{code} far"),
                )
            )
        pending["by_la"] = la_rows
        pending["flows"] = _register_flows(led, results, m, counted, far_all)

    # gap areas: published as bands
    g = results.gap_areas
    if g is not None and len(g) and "members" in g.attrs:
        gap_h = []
        for mem, band in zip(g.attrs["members"], g["count_band"].astype(str), strict=True):
            lo_b, hi_b = _band_bounds(band)
            gap_h.append(
                led.add(
                    np.asarray(mem, dtype=np.int64),
                    table="gap_areas",
                    label=band,
                    kind=dc.BAND,
                    lower=lo_b,
                    upper=hi_b,
                )
            )
        pending["gaps"] = gap_h
    if g is not None and "not_in_gap_members" in g.attrs:
        # far-placed children in no published gap area (too few at every level): one sentence
        pending["gaps_not_shown"] = led.add(
            np.asarray(g.attrs["not_in_gap_members"], dtype=np.int64),
            table="gap_areas",
            label="far, in no gap area",
        )

    # siting: re-homing counts, chosen sites, before/after
    link = results.linkage or {}
    cands = results.candidates
    if cands is not None and len(cands) and "rehoming" in link:
        cand_h = {}
        places_of = (
            pd.to_numeric(cands["places"], errors="coerce")
            if "places" in cands
            else pd.Series(np.nan, index=cands.index)
        )
        for cid, places in zip(
            cands["candidate_id"].astype(str), places_of.to_numpy(dtype=float), strict=True
        ):
            rows = link["rehoming"].get(cid)
            if rows is None:
                continue
            lower = float(places) if np.isfinite(places) and len(rows) >= places > 0 else math.nan
            cand_h[cid] = led.add(
                np.asarray(rows, dtype=np.int64),
                table="candidates",
                label=f"{cid} re-homing",
                lower=lower,
            )
        pending["candidates"] = cand_h
    if "scenario" in link:
        # "children placed far who could come home" is the third headline: kept first
        pending["scenario"] = {}
        # (before, with the new sites alone, if today's spare places were also filled)
        for label, (b, af_new, af_spare) in link["scenario"].items():
            # today's figures outrank the hypothetical ones: a small change hides an "after"
            headline = label.startswith(COME_HOME_LABEL)
            table = "scenario:headline" if headline else "scenario"
            after = "scenario:headline" if headline else "scenario:after"
            pending["scenario"][label] = (
                led.add(b, table=table, label=f"{label} before"),
                led.add(af_new, table=after, label=f"{label} with the new sites"),
                led.add(af_spare, table=after, label=f"{label} also filling spare places"),
            )
    if "assigned" in link:
        pending["assigned"] = {
            cid: led.add(rows, table="chosen_sites", label=f"{cid} assigned")
            for cid, rows in link["assigned"].items()
        }

    # data quality: the children's table rows by status, reason and validation issue
    pending["quality"] = _register_quality(led, results, m)

    if "ind:overall" in pending:
        # the report's headlines, in its order: all children, placed far, placed inside, near
        _, _, oh, ot = pending["ind:overall"]
        led.headline(ot[-1], oh["over_miles"][-1], oh["inside_la"][-1], oh["within_miles"][-1])
    led.solve()
    pub = Published(min_count=mc, ledger=led)
    _fill_indicators(pub, led, pending)
    _fill_sensitivity(pub, led, pending)
    _fill_dfe(pub, led, pending, results)
    _fill_headline(pub, led, pending, results)
    _fill_siting(pub, led, pending, results)
    _fill_gaps(pub, results)
    if "gaps_not_shown" in pending:
        pub.gap_not_shown = led.text(pending["gaps_not_shown"])
    _fill_places(pub, led, pending)
    _fill_quality(pub, led, pending, results)
    audit = led.result
    if audit is not None and audit.unprotected.any():
        logger.warning(
            "disclosure: %d small figure(s) could not be protected", int(audit.unprotected.sum())
        )
    return pub


def distance_bands(
    miles: np.ndarray, *, far_miles: float, min_count: int
) -> list[tuple[float, float]]:
    """Bands (lower, upper] of the distance chart: the edges of :data:`MILE_BANDS` plus the far
    line, with a band of 1 to ``min_count - 1`` children merged into its smaller neighbour on
    the same side of the line (so the chart shows counts rather than a row of "c")."""
    edges = sorted({0.0, far_miles, *[hi for hi, _ in MILE_BANDS]})
    bands = list(zip(edges[:-1], edges[1:], strict=True))
    known = miles[np.isfinite(miles)]

    def count(b: tuple[float, float]) -> int:
        lo, hi = b
        return int((((known >= lo) if lo == 0 else (known > lo)) & (known <= hi)).sum())

    while True:
        small = [i for i, b in enumerate(bands) if 0 < count(b) < min_count]
        merged = False
        for i in small:
            side = bands[i][0] >= far_miles
            nbrs = [
                j
                for j in (i - 1, i + 1)
                if 0 <= j < len(bands) and (bands[j][0] >= far_miles) == side
            ]
            if not nbrs:
                continue
            j = min(nbrs, key=lambda x: (count(bands[x]), x))
            a, b = sorted((i, j))
            bands[a : b + 1] = [(bands[a][0], bands[b][1])]
            merged = True
            break
        if not merged:
            return bands


def band_label(lo: float, hi: float) -> str:
    """ "Up to 5 miles", "10 to 20 miles", "Over 100 miles"."""
    if lo == 0:
        return f"Up to {hi:g} miles"
    if not np.isfinite(hi):
        return f"Over {lo:g} miles"
    return f"{lo:g} to {hi:g} miles"


def _band_bounds(band: str) -> tuple[float, float]:
    """(lower, upper) of a count band such as "5–9" or "10+"."""
    b = band.replace("\u2013", "-").strip()
    if b.endswith("+"):
        return float(b[:-1]), math.inf
    if "-" in b:
        lo, hi = b.split("-", 1)
        return float(lo), float(hi)
    return math.nan, math.nan


def flow_band(n: int) -> tuple[str, float, float, float]:
    """Label, bounds and line width of the flow band holding ``n`` children."""
    for lo, hi, width in FLOW_BANDS:
        if lo <= n < hi:
            label = f"{lo}+" if not np.isfinite(hi) else f"{lo}\u2013{int(hi) - 1}"
            return label, float(lo), float(hi - 1) if np.isfinite(hi) else math.inf, width
    return "", math.nan, math.nan, FLOW_BANDS[0][2]


def _register_flows(
    led: Ledger, results: Results, m: pd.DataFrame, counted: np.ndarray, far_all: np.ndarray
) -> dict[str, Any]:
    """Flows home area -> placement council: drawn from the home area with at least
    ``min_count`` children, else merged per council ("elsewhere in the council"), else into one
    "other" total that is not drawn."""
    from geosuff.publication import maps

    mc = led.min_count
    council = results.scenario.council
    la = m["placement_la"].astype("string").fillna("").to_numpy(dtype=object)
    home = (
        m["home_area"].astype("string").fillna("").to_numpy(dtype=object)
        if "home_area" in m
        else np.full(len(m), "", dtype=object)
    )
    names = (
        m["placement_la_name"].astype("string").fillna("").to_numpy(dtype=object)
        if "placement_la_name" in m
        else la
    )
    la_pts = maps._la_points(results)
    area_pts = maps._area_points(results)
    c_e, c_n = maps._council_centre(results)
    inside = counted & (la == council)
    known_la = counted & (la != "")
    outside = known_la & ~inside
    drawable = outside & np.isin(la, list(la_pts))
    other = counted & ~inside & ~drawable  # outside to an undrawable LA, or LA not known
    lines = []
    for code in sorted(set(la[drawable])):
        to = drawable & (la == code)
        te, tn = la_pts[str(code)]
        label = next((str(x) for x in names[to] if x), str(code))
        big_rows = np.zeros(len(m), dtype=bool)
        for area in sorted(set(home[to]) - {""}):
            sel = to & (home == area)
            if sel.sum() >= mc and area in area_pts:
                ae, an, alabel = area_pts[area]
                lines.append((alabel, ae, an, code, label, te, tn, sel))
                big_rows |= sel
        rest = to & ~big_rows
        if rest.sum() >= mc:
            lines.append(
                (f"elsewhere in {results.council_name}", c_e, c_n, code, label, te, tn, rest)
            )
        else:
            other |= rest
    drawn = []
    for alabel, ae, an, code, label, te, tn, sel in lines:
        band, lo, hi, width = flow_band(int(sel.sum()))
        h = led.add(sel, table="flows", label=f"{alabel} -> {code}", lower=lo, upper=hi)
        hf = led.add(sel & far_all, table="flows", label=f"{alabel} -> {code} far")
        drawn.append((alabel, ae, an, code, label, te, tn, h, hf, band, width, int(sel.sum())))
    return {
        "lines": drawn,
        "inside": led.add(inside, table="flows", label="inside"),
        "other": led.add(other, table="flows", label="other"),
        "other_las": len({str(x) for x in la[other] if x}),
    }


def _register_quality(led: Ledger, results: Results, m: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pos_of_row: dict[int, int] = {}
    if "row" in m.columns:
        rows = pd.to_numeric(m["row"], errors="coerce").to_numpy()
        pos_of_row = {int(r): i for i, r in enumerate(rows) if np.isfinite(r)}
    rec = results.reconciliation
    if rec is not None and len(rec) and {"table", "status"} <= set(rec.columns):
        r2 = rec.assign(
            reason=rec.get("reason", pd.Series("", index=rec.index)).fillna("").astype(str)
        )
        by_status = []
        for (table, st), grp in r2.groupby(["table", "status"], sort=True):
            h = _quality_figure(led, table, grp, pos_of_row, f"{table} {st}")
            by_status.append((str(table), str(st), h, len(grp)))
        reasons = []
        ex = r2[(r2["status"].astype(str) != "used") | (r2["reason"] != "")]
        for (table, st, rs), grp in ex.groupby(["table", "status", "reason"], sort=True):
            h = _quality_figure(led, table, grp, pos_of_row, f"{table} {st} {rs}")
            reasons.append((str(table), str(st), str(rs) or "(no reason given)", h, len(grp)))
        out["status"] = by_status
        out["reasons"] = reasons
    iss = results.issues
    if iss is not None and len(iss) and {"file", "problem"} <= set(iss.columns):
        placements_file = (
            results.scenario.inputs.placements.name
            if getattr(results.scenario.inputs, "placements", None)
            else None
        )
        keys = [k for k in ("file", "column", "severity", "problem") if k in iss.columns]
        forbidden = dc.personal_strings(results.measures, sites=results.sites)
        red = dc.redact_issues(iss, forbidden)
        items = []
        for key, grp in red.groupby(keys, dropna=False, sort=True):
            key_t = key if isinstance(key, tuple) else (key,)
            is_children = placements_file is not None and str(key_t[0]) == placements_file
            h = None
            if is_children and "row" in grp.columns:
                pos = [
                    pos_of_row[int(r)]
                    for r in pd.to_numeric(grp["row"], errors="coerce").dropna()
                    if int(r) in pos_of_row
                ]
                if len(pos) == len(grp):
                    h = led.add(
                        np.array(pos, dtype=np.int64),
                        table="issues",
                        label=" / ".join(map(str, key_t)),
                    )
            items.append(
                (tuple("" if pd.isna(x) else str(x) for x in key_t), h, len(grp), is_children)
            )
        out["issues"] = (keys, items)
    return out


def _quality_figure(
    led: Ledger, table: Any, grp: pd.DataFrame, pos_of_row: dict[int, int], label: str
) -> int | None:
    """A ledger figure for rows of the children's table (None for other tables: not children)."""
    if str(table) != "placements" or "row" not in grp.columns:
        return None
    rows = pd.to_numeric(grp["row"], errors="coerce").dropna().astype(int)
    pos = [pos_of_row[r] for r in rows if r in pos_of_row]
    if len(pos) != len(grp):
        return (
            led.add(np.zeros(0, dtype=np.int64), table="quality", label=label)
            if len(grp) == 0
            else None
        )
    return led.add(np.array(pos, dtype=np.int64), table="quality", label=label)


# ----------------------------------------------------------------------------------------------
# Filling the tables from the solved ledger
# ----------------------------------------------------------------------------------------------
def _fill_indicators(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    for by in BREAKDOWNS:
        item = pending.get(f"ind:{by}")
        if item is None:
            continue
        groups, row_labels, handles, totals = item
        rows = []
        for i, label in enumerate(row_labels):
            r: dict[str, Any] = {
                "group": groups[i] if i < len(groups) else "all",
                "label": label,
                "n": led.text(totals[i]),
            }
            for name in INDICATOR_PUBLISHED:
                h = handles[name][i]
                r[f"n_{name}"] = led.text(h)
                r[f"pct_{name}"] = led.percent(h, totals[i])
            if led.count(handles["minutes_not_known"][i]) == led.count(totals[i]):
                r["pct_within_minutes"] = NOT_APPLICABLE
                r["pct_beyond_minutes"] = NOT_APPLICABLE
            rows.append(r)
        pub.indicators[by] = pd.DataFrame(rows)


def _fill_sensitivity(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    if "sensitivity" in pending:
        all_h, sens_rows = pending["sensitivity"]
        pub.sensitivity = pd.DataFrame(
            [
                {
                    "measure": measure,
                    "threshold": t,
                    "unit": unit,
                    "n": led.text(all_h),
                    "n_within": led.text(h) if any_known else NOT_APPLICABLE,
                    "pct_within": led.percent(h, all_h) if any_known else NOT_APPLICABLE,
                    "n_not_known": led.text(nk),
                    "pct_not_known": led.percent(nk, all_h),
                }
                for measure, t, unit, h, nk, any_known in sens_rows
            ]
        )
    if "bands" in pending:
        pub.distance_bands = pd.DataFrame(
            [
                {"band": label, "children": led.text(h), "beyond_line": beyond}
                for label, h, beyond in pending["bands"]
            ]
        )


def _fill_dfe(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    d = results.dfe_comparison
    if d is None or "dfe" not in pending:
        return
    out = d.copy().astype({"computed_n": object, "computed_pct": object})
    all_h = pending["sensitivity"][0] if "sensitivity" in pending else None
    if "computed_total" in out.columns:
        out = out.astype({"computed_total": object})
    for i, item in enumerate(pending["dfe"]):
        if item is None:
            out.iloc[i, out.columns.get_loc("computed_n")] = NOT_APPLICABLE
            out.iloc[i, out.columns.get_loc("computed_pct")] = NOT_APPLICABLE
            if "computed_total" in out.columns:
                out.iloc[i, out.columns.get_loc("computed_total")] = NOT_APPLICABLE
            continue
        h, tot = item
        den = all_h if tot is None else tot
        out.iloc[i, out.columns.get_loc("computed_n")] = led.text(h)
        out.iloc[i, out.columns.get_loc("computed_pct")] = (
            led.percent(h, den) if den is not None else NOT_APPLICABLE
        )
        if "computed_total" in out.columns:
            out.iloc[i, out.columns.get_loc("computed_total")] = (
                led.text(den) if den is not None else NOT_APPLICABLE
            )
    pub.dfe_comparison = out


def _fill_headline(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    item = pending.get("ind:overall")
    if item is None:
        return
    _, _, handles, totals = item
    a = results.scenario.analysis
    n_h = totals[-1]
    far_h = handles["over_miles"][-1]
    in_h = handles["inside_la"][-1]
    nk_h = handles["la_not_known"][-1]
    n = led.count(n_h)
    head: dict[str, Any] = {
        "n": led.text(n_h),
        "far": led.text(far_h),
        "far_pct": led.percent(far_h, n_h, digits=0),
        "inside": led.text(in_h),
        "inside_pct": led.percent(in_h, n_h, digits=0),
        "la_not_known": led.count(nk_h) > 0,
    }
    meets = n > 0 and led.count(in_h) >= a.local_target * n - 1e-9
    head["meets_target"] = meets
    if led.shown(in_h) and led.shown(n_h):
        need = max(0, math.ceil(a.local_target * n - 1e-9) - led.count(in_h))
        head["shortfall"] = str(need)
    else:
        head["shortfall"] = SUPPRESSED
    if a.within_miles_target is not None:
        # the council's own target for the share placed far_miles or less from home (e.g. Kent's
        # "Measure 3"); the shortfall is shown only where both counts are published
        near_h = handles["within_miles"][-1]
        target = a.within_miles_target
        head["within_target"] = target
        head["meets_within_target"] = n > 0 and led.count(near_h) >= target * n - 1e-9
        if led.shown(near_h) and led.shown(n_h):
            head["within_shortfall"] = str(max(0, math.ceil(target * n - 1e-9) - led.count(near_h)))
        else:
            head["within_shortfall"] = SUPPRESSED
    pub.headline = head


def _fill_siting(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    mc = led.min_count
    c = results.candidates
    if c is not None and len(c):
        out = candidate_columns(c)
        cand_h = pending.get("candidates", {})
        reach, fill = [], []
        for r in c.itertuples(index=False):
            cid = str(getattr(r, "candidate_id", ""))
            h = cand_h.get(cid)
            places = pd.to_numeric(pd.Series([getattr(r, "places", np.nan)]), errors="coerce").iloc[
                0
            ]
            if h is None:
                reach.append("")
                fill.append("")
                continue
            reach.append(led.text(h))
            n = led.count(h)
            if np.isfinite(places) and places > 0 and n >= places:
                fill.append(str(int(places)))  # a published band: at least `places` children
            elif n == 0:
                fill.append("0")
            else:
                fill.append(led.text(h))
        if "rehoming_reachable" in out:
            out["rehoming_reachable"] = reach
        if "rehoming_children" in out:
            out = out.drop(columns="rehoming_children")
        if len(reach) == len(out):
            pos = (
                list(out.columns).index("rehoming_reachable") + 1
                if "rehoming_reachable" in out
                else len(out.columns)
            )
            out.insert(pos, "places_it_could_fill", fill)
        pub.candidates = out
    sel = results.selection
    scen = pending.get("scenario")
    if sel is not None:
        summ = sel.summary() if callable(getattr(sel, "summary", None)) else {}
        far_label = next((k for k in (scen or {}) if k.startswith(COME_HOME_LABEL)), None)
        if scen and far_label:
            hb, _, ha = scen[far_label]
            before, after = led.text(hb), led.text(ha)
            gain = _difference(led, hb, ha)
        else:
            before = _primary(summ.get("before", getattr(sel, "fixed_objective", math.nan)), mc)
            after = _primary(summ.get("objective", getattr(sel, "objective", math.nan)), mc)
            gain = (
                SUPPRESSED
                if SUPPRESSED in (before, after)
                else _primary(float(summ.get("objective", 0)) - float(summ.get("before", 0)), mc)
            )
        gap = summ.get("mip_gap", getattr(sel, "mip_gap", math.nan))
        ggap = summ.get("greedy_gap", getattr(sel, "greedy_gap", math.nan))
        pub.selection = {
            "chosen": [
                str(v) for v in (summ.get("chosen") or getattr(sel, "chosen_ids", ()) or ())
            ],
            "before": before,
            "after": after,
            "gain": gain,
            "status": str(summ.get("status", getattr(sel, "status", ""))),
            "mip_gap": float(gap) if gap is not None else math.nan,
            "greedy_gap": float(ggap) if ggap is not None else math.nan,
        }
        sites = getattr(sel, "sites", None)
        if isinstance(sites, pd.DataFrame) and len(sites):
            assigned = pending.get("assigned", {})
            cs = sites.drop(
                columns=[
                    x
                    for x in sites.columns
                    if x
                    not in {
                        "order",
                        "candidate_id",
                        "use",
                        "places",
                        "children_assigned",
                        "addition_gain",
                        "marginal_gain",
                    }
                ]
            ).copy()
            cs["children_assigned"] = [
                led.text(assigned[str(cid)]) if str(cid) in assigned else _primary(v, mc)
                for cid, v in zip(cs["candidate_id"], sites["children_assigned"], strict=True)
            ]
            for col in ("addition_gain", "marginal_gain"):
                if col in cs:
                    cs[col] = [_primary(v, mc) for v in sites[col]]
            pub.chosen_sites = cs.reset_index(drop=True)
    s = results.scenario_comparison
    if s is not None and len(s):
        rows = []
        for r in s.itertuples(index=False):
            label = str(r.indicator)
            if scen and label in scen:
                hb, hn, hs = scen[label]
                rows.append(
                    {
                        "indicator": label,
                        "before": led.text(hb),
                        "after_new_sites": led.text(hn),
                        "change_new_sites": _difference(led, hb, hn),
                        "after_with_spare_places": led.text(hs),
                        "change_with_spare_places": _difference(led, hb, hs),
                    }
                )
            else:  # not a count of children (places in new sites)
                rows.append(
                    {
                        "indicator": label,
                        "before": _fmt_num(r.before),
                        "after_new_sites": _fmt_num(r.after_new_sites),
                        "change_new_sites": _fmt_num(r.change_new_sites),
                        "after_with_spare_places": _fmt_num(r.after_with_spare_places),
                        "change_with_spare_places": _fmt_num(r.change_with_spare_places),
                    }
                )
        pub.scenario = pd.DataFrame(rows, columns=list(SCENARIO_COLUMNS))


def _difference(led: Ledger, before: int, after: int) -> str:
    """After minus before, shown only when both are shown (it then follows from them)."""
    if not (led.shown(before) and led.shown(after)):
        return SUPPRESSED
    d = led.count(after) - led.count(before)
    return f"+{d}" if d > 0 else str(d)


def _primary(v: Any, mc: int) -> str:
    """A hypothetical count with no record set (e.g. a site's marginal gain): primary rule."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return NOT_APPLICABLE
    if not np.isfinite(f):
        return NOT_APPLICABLE
    return dc.publish_count(round(f), min_count=mc)


def _fmt_num(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{f:g}" if np.isfinite(f) else ""


def _fill_gaps(pub: Published, results: Results) -> None:
    pub.gap_areas = published_gaps(results.gap_areas)


#: Candidate columns never published (locations are published as points, not postcodes).
_CANDIDATE_PRIVATE = {
    "postcode",
    "location_source",
    "location_reason",
    "ltla",
    "utla",
    "row",
    "line",
    "node",
}


def candidate_columns(c: pd.DataFrame) -> pd.DataFrame:
    """The candidate table's publishable columns (child counts still raw: :func:`build`
    replaces them with published ones)."""
    return c.drop(
        columns=[col for col in c.columns if col in _CANDIDATE_PRIVATE or str(col).startswith("_")]
    ).reset_index(drop=True)


def published_gaps(gaps_gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Gap areas with only the columns safe to publish (bands, named needs; never raw counts)."""
    if gaps_gdf is None or len(gaps_gdf) == 0:
        return gaps_gdf
    keep = gaps_gdf.attrs.get("publish_columns")
    if keep:
        cols = [c for c in gaps_gdf.columns if c in set(keep) or c == "geometry"]
        return gaps_gdf[cols].copy()
    raw = [
        c
        for c in gaps_gdf.columns
        if c in {"n_far", "children", "count", "n_children"} or c.startswith("n_")
    ]
    return gaps_gdf.drop(columns=raw)


def _fill_places(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    if "by_la" in pending:
        pub.placements_by_la = pd.DataFrame(
            [
                {
                    "placement_la": code,
                    "placement_la_name": nm,
                    "children": led.text(h),
                    "far": led.text(hf),
                }
                for code, nm, h, hf in pending["by_la"]
            ],
            columns=["placement_la", "placement_la_name", "children", "far"],
        )
    fl = pending.get("flows")
    cols = [
        "from_label",
        "from_e",
        "from_n",
        "to_code",
        "to_label",
        "to_e",
        "to_n",
        "children",
        "far",
        "band",
        "width",
    ]
    if fl is None:
        pub.flows = pd.DataFrame(columns=cols)
        pub.flows_summary = {"inside": NOT_APPLICABLE, "other": NOT_APPLICABLE, "other_las": "0"}
        return
    rows = [
        {
            "from_label": al,
            "from_e": ae,
            "from_n": an,
            "to_code": code,
            "to_label": label,
            "to_e": te,
            "to_n": tn,
            "children": led.text(h),
            "far": led.text(hf),
            "band": band,
            "width": width,
            "_n": n,
        }
        for al, ae, an, code, label, te, tn, h, hf, band, width, n in fl["lines"]
    ]
    df = pd.DataFrame(rows, columns=[*cols, "_n"])
    pub.flows = (
        df.sort_values(["_n", "to_code", "from_label"], ascending=[False, True, True])
        .drop(columns="_n")
        .reset_index(drop=True)
    )
    pub.flows_summary = {
        "inside": led.text(fl["inside"]),
        "other": led.text(fl["other"]),
        "other_las": str(fl["other_las"]),
    }


def _fill_quality(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    q = pending.get("quality") or {}
    if "status" in q:
        pub.reconciliation_summary = pd.DataFrame(
            [
                {"table": t, "status": s, "rows": led.text(h) if h is not None else str(n)}
                for t, s, h, n in q["status"]
            ],
            columns=["table", "status", "rows"],
        )
        pub.reasons = pd.DataFrame(
            [
                {
                    "table": t,
                    "status": s,
                    "reason": r,
                    "rows": led.text(h) if h is not None else str(n),
                }
                for t, s, r, h, n in q["reasons"]
            ],
            columns=["table", "status", "reason", "rows"],
        )
    if "issues" in q:
        keys, items = q["issues"]
        rows = []
        for key_t, h, n, is_children in items:
            shown = (
                led.text(h)
                if h is not None
                else (dc.publish_count(n, min_count=led.min_count) if is_children else str(n))
            )
            rows.append({**dict(zip(keys, key_t, strict=True)), "rows": shown})
        pub.issues_summary = pd.DataFrame(rows, columns=[*keys, "rows"])
