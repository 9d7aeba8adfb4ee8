"""The disclosure ledger: every published figure registered once, suppressed together; the Published bundle."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff.analysis.subgroups import EXTRA_BREAKDOWNS
from geosuff.publication import disclosure as dc

if TYPE_CHECKING:
    pass

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
#: The indicator tables (``indicators_<breakdown>``): the DfE's breakdowns, then excluding UASC,
#: district and sub-area of the home, need and disability (:mod:`geosuff.analysis.subgroups`).
BREAKDOWNS: tuple[str, ...] = ("overall", "place_group", "age_band", "uasc", *EXTRA_BREAKDOWNS)


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
    ("trend", 3),
    ("providers", 2),
    ("care_leavers", 2),
    ("projection", 3),
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
    #: of ``withheld``, those that differ by 1 to ``min_count - 1`` from the same figure of an
    #: earlier publication (``[disclosure] previous``)
    across_runs: int = 0


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
        #: the run's own records (a mask of this length covers them only; see add_records)
        self.n_base = self.n_records
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
        #: input row -> record position, by table (e.g. ``care_leavers``), for the quality counts
        self.row_positions: dict[str, dict[int, int]] = {}
        #: record positions of other tables' rows (e.g. ``trend``: one per trend-frame row)
        self.record_sets: dict[str, np.ndarray] = {}
        #: figures of earlier publications (definition -> published counts), see compare_with
        self.previous: dict[str, list[int]] = {}
        self.sensitive: np.ndarray = np.zeros(0, dtype=bool)

    # -- registering ---------------------------------------------------------------------------
    def add_records(self, n: int) -> int:
        """Add ``n`` records beyond the run's own (e.g. other years' children); their first position.

        Masks of the run's own length (``n_base``) still cover the run's records only.
        """
        if self.result is not None:
            raise RuntimeError("the ledger is solved: add records before solve()")
        start = self.n_records
        self.n_records += int(n)
        return start

    def _members(self, rows: Any) -> np.ndarray:
        a = np.asarray(rows)
        if a.dtype == bool:
            if a.size not in (self.n_records, self.n_base):
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
        figures could protect a small one the last of them goes first.
        """
        if self.result is not None:
            raise RuntimeError("the ledger is solved: mark the headline figures before solve()")
        for i, h in enumerate(handles):
            self.keep[h] = True
            self.priority[h] = min(self.priority[h], i - len(handles))

    def definitions(self, h: int) -> list[str]:
        """The definitions of figure ``h`` (``"<table>: <label>"``, one per place it is shown)."""
        return list(self.labels[h])

    def compare_with(self, previous: dict[str, list[int]]) -> None:
        """Protect the differences with an earlier publication: ``previous`` maps a figure's
        definition (see :meth:`definitions`) to the counts earlier publications showed for it
        (:func:`geosuff.publication.ledger.previous.load_previous`). At :meth:`solve`, a figure
        that differs by 1 to ``min_count - 1`` from one of them is protected as if it were small
        (withheld, and audited so that the others do not give it away).
        """
        if self.result is not None:
            raise RuntimeError("the ledger is solved: compare with earlier runs before solve()")
        self.previous = {str(k): [int(x) for x in v] for k, v in previous.items()}

    def matches(self) -> list[tuple[int, str, int]]:
        """(figure, definition, earlier count) for every figure an earlier publication showed."""
        out: list[tuple[int, str, int]] = []
        for h, labels in enumerate(self.labels):
            for lab in labels:
                out.extend((h, lab, p) for p in self.previous.get(lab, ()))
        return out

    def _sensitive(self) -> np.ndarray:
        sens = np.zeros(len(self.members), dtype=bool)
        for h, _, p in self.matches():
            d = abs(int(self.members[h].size) - p)
            if 0 < d < self.min_count:
                sens[h] = True
        return sens

    # -- solving ---------------------------------------------------------------------------------
    def solve(self) -> None:
        """Decide every figure's publication (see :func:`geosuff.disclosure.suppress_linked`)."""
        if self.result is not None:
            return
        self.sensitive = self._sensitive()
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
            sensitive=self.sensitive,
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
        across = sup & self.sensitive & ~small
        return Withheld(
            withheld=int(sup[published].sum()),
            figures=int(published.sum()),
            small=int((sup & small)[published].sum()),
            min_count=self.min_count,
            across_runs=int(across[published].sum()),
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
        ``":"`` where the base is 0.
        """
        d = self.count(den)
        if self.shown(den) and d == 0:
            return NOT_APPLICABLE
        if not (self.shown(num) and self.shown(den)):
            return SUPPRESSED
        return f"{100.0 * self.count(num) / d:.{digits}f}"

    def audit(self) -> pd.DataFrame:
        """Every figure not shown exactly, with what a reader can work out about it (its range
        given everything published); for tests and for the council's own assurance.
        """
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

    def audit_previous(self) -> pd.DataFrame:
        """What a reader of this publication and the earlier ones can work out about each
        change since then: one row per figure an earlier publication showed (``definition``,
        ``previous``, ``published`` text, ``value``, and ``change_lower``/``change_upper``: the
        range of this figure minus the earlier one given everything this run publishes; a
        single value there is a change a reader can recover).
        """
        self._check()
        cols = ["figure", "definition", "previous", "published", "value"]
        cols += ["change_lower", "change_upper"]
        rows = self.matches()
        if not rows:
            return pd.DataFrame(columns=cols)
        aud = self.audit().set_index("figure")
        out = []
        for h, lab, p in rows:
            v = self.count(h)
            if self.shown(h):
                lo = hi = float(v)
            elif h in aud.index:
                lo, hi = float(aud.at[h, "lower"]), float(aud.at[h, "upper"])
            else:  # pragma: no cover - every figure not shown is audited
                lo, hi = 0.0, math.inf
            out.append([h, lab, p, self.text(h), v, lo - p, hi - p])
        return pd.DataFrame(out, columns=cols)

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
        By breakdown (:data:`BREAKDOWNS` the run made): ``group``, ``label``,
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
    trend : DataFrame or None
        :data:`geosuff.analysis.trend.TREND_COLUMNS` (counts published, percent 1 decimal).
    providers : DataFrame or None
        :data:`geosuff.analysis.providers.PROVIDER_COLUMNS`: placements by provider sector.
    care_leavers : DataFrame or None
        :data:`geosuff.analysis.care_leavers.CARE_LEAVER_TABLE_COLUMNS` (counts published).
    projection : DataFrame or None
        :data:`geosuff.analysis.projection.PROJECTION_COLUMNS` (projected figures rounded).
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
    trend: pd.DataFrame | None = None
    providers: pd.DataFrame | None = None
    care_leavers: pd.DataFrame | None = None
    projection: pd.DataFrame | None = None
    ledger: Ledger | None = None


def distance_bands(
    miles: np.ndarray, *, far_miles: float, min_count: int
) -> list[tuple[float, float]]:
    """Bands (lower, upper] of the distance chart: the edges of :data:`MILE_BANDS` plus the far
    line, with a band of 1 to ``min_count - 1`` children merged into its smaller neighbour on
    the same side of the line (so the chart shows counts rather than a row of "c").
    """
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
