"""Candidate site scoring and optimal selection of new small homes (issue #6).

Which council-owned building should become the next small children's home or care-leaver unit?
This module answers in two ways:

* :func:`score_candidates` scores every candidate building on separate, documented components and
  combines them with configurable weights (one row per candidate, with the reasons it is or is not
  eligible).
* :func:`select_sites` chooses the best *set* of ``k`` buildings together (or the fewest reaching a
  target) by solving a capacitated maximal-covering MILP exactly with HiGHS, and compares it with a
  greedy heuristic.

The optimiser core is :func:`from_cost_matrix`: plain numpy arrays in, HiGHS model built as CSC
arrays (``highspy.HighsLp`` + ``passModel``), no per-variable Python loop. The GeoDataFrame/DataFrame
functions are thin wrappers around it. Travel times are *inputs* (minute matrices, e.g. from
``geosuff.traveltime.od_matrix``); :func:`straight_line_minutes` gives a crow-fly stand-in.

Score components (each reported raw and normalised to 0-1; see :func:`score_candidates`)
-----------------------------------------------------------------------------------------
``rehoming``
    Children placed far away (over 20 miles and/or outside the council, ``far_rule``) with a need the
    use serves, whose home is within ``max_minutes`` of the candidate, capped by the candidate's
    places: "how many could come home". Normalised by the best eligible candidate (best = 1).
``coverage``
    Demand weight (children, or child population) with a need the use serves that is within
    ``max_minutes`` of the candidate and *not* already within ``max_minutes`` of an existing suitable
    site. Normalised by the best eligible candidate.
``access`` (optional)
    Minutes from the candidate to the nearest service of a user layer (schools, GP, ...):
    ``1 - min(t, access_max_minutes) / access_max_minutes`` (0 minutes = 1, at or past the cap = 0).
``clustering`` (a penalty)
    Existing registered homes within ``cluster_radius_m`` metres straight line (or
    ``cluster_minutes`` if a minute matrix is given): ``min(n, cluster_full_count) /
    cluster_full_count``, entering the total as ``1 - penalty``.

``total = sum(weight_c * benefit_c) / sum(weight_c)`` over the components that were computed (a
missing services layer drops ``access`` and its weight), so totals are in 0-1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geosuff._errors import ConfigError, InputFileError
from geosuff._highs import new_highs as _new_highs

logger = logging.getLogger(__name__)

#: Crow-fly speed used by :func:`straight_line_minutes` when no road travel times are given.
CROW_FLY_SPEED_KPH = 40.0
#: DfE placement-distance measure: km per mile used in ``round(d_km / 1.6093, 1)``.
DFE_KM_PER_MILE = 1.6093
#: Candidate uses named in issue #6 (the default rules file defines these).
DEFAULT_USES: tuple[str, ...] = ("small_home", "care_leaver_unit", "supported_accommodation")
FAR_RULES: tuple[str, ...] = ("either", "over_20_miles", "outside_la")

_INF = highspy.kHighsInf
_K_INT = highspy.HighsVarType.kInteger
_K_CONT = highspy.HighsVarType.kContinuous
_EPS = 1e-7
#: Formulation switches (kept for experiments; measured in the module's development):
#: per-pair VUBs z_gj <= x_j on capacitated columns give a tighter LP but a much larger, degenerate
#: one (HiGHS needed 45 s for one 300 x 300 root LP); per-group cover links help only when
#: capacities are loose and slow the usual small-capacity case 2-5x.
_STRONG_VUB = False
_COVER_LINKS = False
#: HiGHS options for the selection MILPs. Measured on 2,000 x 300 covering models with k = 10
#: (benchmarks/bench_siting.py, six cases): the root LP bound is nearly tight and the optimum is
#: usually proven at the root, so HiGHS's presolve probing and the RINS/RENS/reduced-cost sub-MIP
#: heuristics cost more than they save once a MIP start (greedy + swap search) is given: these
#: settings cut the summed solve time from 2.9 s to 1.1 s. Optimality is still proven
#: (``mip_rel_gap`` 0).
HIGHS_MIP_OPTIONS: dict[str, Any] = {
    "presolve": "off",
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_pool_soft_limit": 500,
}


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityRules:
    """Which buildings can host one use and whom that use serves.

    Parameters
    ----------
    min_bedrooms, max_bedrooms : int
        The building needs ``min_bedrooms <= bedrooms <= max_bedrooms``.
    staff_bedrooms : int
        Bedrooms kept for staff; places are ``bedrooms - staff_bedrooms``, capped by ``max_places``.
    max_places : int
        Most children / young people the use may take.
    min_age, max_age : float
        Ages served, in years: ``min_age <= age < max_age`` (checked when demand has an ``age``).
    serves_needs : tuple of str
        Placement groups served (``placement_groups.csv`` groups, plus ``"care_leaver"``);
        empty means any need.
    site_type : str
        Matching site type of ``site_types.csv`` (used to find existing sites of the same kind).
    """

    min_bedrooms: int = 1
    max_bedrooms: int = 99
    staff_bedrooms: int = 0
    max_places: int = 99
    min_age: float = 0.0
    max_age: float = 26.0
    serves_needs: tuple[str, ...] = ()
    site_type: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "serves_needs", tuple(str(s) for s in self.serves_needs))
        if self.min_bedrooms < 0 or self.max_bedrooms < self.min_bedrooms:
            raise ConfigError(
                f"Bedroom range {self.min_bedrooms}-{self.max_bedrooms} is empty.",
                fix="Set 0 <= min_bedrooms <= max_bedrooms.",
            )
        if self.staff_bedrooms < 0 or self.max_places < 1:
            raise ConfigError(
                "staff_bedrooms must be >= 0 and max_places >= 1.", fix="Fix the siting rules."
            )
        if not self.min_age < self.max_age:
            raise ConfigError(
                f"Age range {self.min_age}-{self.max_age} is empty.", fix="Set min_age < max_age."
            )

    def places(self, bedrooms: int) -> int:
        """Places a building with ``bedrooms`` bedrooms gives for this use (0 if none)."""
        return max(0, min(self.max_places, int(bedrooms) - self.staff_bedrooms))

    def serves(self, need: str | None) -> bool:
        """Whether this use can meet placement need ``need`` (``None`` = unknown = yes)."""
        return not self.serves_needs or need is None or need in self.serves_needs


def _load_default_rules() -> Mapping[str, EligibilityRules]:
    text = resources.files("geosuff").joinpath("data/siting_rules.toml").read_text("utf-8")
    data = tomllib.loads(text)["rules"]
    return MappingProxyType(
        {use: _rules_from_dict(d, use, "siting_rules.toml") for use, d in data.items()}
    )


@dataclass(frozen=True)
class SitingSettings:
    """Settings for candidate scoring and site selection (the ``[siting]`` table, 1:1).

    Parameters
    ----------
    max_minutes : float
        ``T``: a home within this many minutes' drive of a site counts as served by it.
    far_miles : float
        DfE straight-line distance above which a child counts as placed far (miles).
    far_rule : {"either", "over_20_miles", "outside_la"}
        Which placed-far children count for re-homing: over ``far_miles``, outside the council, or
        either. Applied to demand columns ``over_20_miles`` / ``outside_la`` when present.
    weight_rehoming, weight_coverage, weight_access, weight_clustering : float
        Non-negative weights of the normalised components in the total.
    access_max_minutes : float
        Access to services scores 0 at or beyond this many minutes.
    cluster_radius_m : float
        Existing homes within this straight-line distance (metres) count as clustering.
    cluster_minutes : float
        If > 0 and a homes-to-candidates minute matrix is given, use minutes instead of metres.
    cluster_full_count : int
        This many nearby homes or more give the full clustering penalty (1).
    cluster_site_types : tuple of str
        Existing site types (``site_type`` column) that count for clustering.
    exclusion_buffer_m : float
        Extra buffer (metres) added around every exclusion zone (zones may carry ``buffer_m``).
    excluded_conditions : tuple of str
        Candidate ``condition`` values that make a building ineligible (case-insensitive).
    allowed_tenures : tuple of str
        If non-empty, a known ``tenure`` must be one of these.
    max_cost : float
        Candidates with ``cost`` above this are ineligible (``inf`` = no limit).
    available_by : str
        ISO date; candidates with ``available_from`` later than this are ineligible ("" = none).
    uses : tuple of str
        Uses considered (each must have rules).
    k : int
        Number of new sites :func:`select_sites` chooses when no target is set.
    target : float
        If > 0, choose the fewest sites whose capacitated coverage reaches this many children.
    capacitated : bool
        Limit each chosen site to its places (else plain maximal covering, MCLP).
    mip_rel_gap : float
        Relative MIP gap at which HiGHS stops (0 = prove optimality).
    time_limit_s : float
        HiGHS time limit in seconds.
    rules : mapping of str to EligibilityRules
        Eligibility rules per use; defaults from ``geosuff/data/siting_rules.toml``.
    """

    max_minutes: float = 30.0
    far_miles: float = 20.0
    far_rule: str = "either"
    weight_rehoming: float = 0.5
    weight_coverage: float = 0.25
    weight_access: float = 0.1
    weight_clustering: float = 0.15
    access_max_minutes: float = 20.0
    cluster_radius_m: float = 1000.0
    cluster_minutes: float = 0.0
    cluster_full_count: int = 3
    cluster_site_types: tuple[str, ...] = ("childrens_home", "secure_home")
    exclusion_buffer_m: float = 0.0
    excluded_conditions: tuple[str, ...] = ()
    allowed_tenures: tuple[str, ...] = ()
    max_cost: float = math.inf
    available_by: str = ""
    uses: tuple[str, ...] = DEFAULT_USES
    k: int = 3
    target: float = 0.0
    capacitated: bool = True
    mip_rel_gap: float = 0.0
    time_limit_s: float = 60.0
    rules: Mapping[str, EligibilityRules] = field(default_factory=_load_default_rules)

    def __post_init__(self) -> None:
        for name in ("cluster_site_types", "excluded_conditions", "allowed_tenures", "uses"):
            object.__setattr__(self, name, tuple(str(s) for s in getattr(self, name)))
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))
        if isinstance(self.available_by, dt.date):
            object.__setattr__(self, "available_by", self.available_by.isoformat())
        if not self.max_minutes > 0 or not self.access_max_minutes > 0:
            raise ConfigError(
                "[siting] max_minutes and access_max_minutes must be greater than 0.",
                fix="Use e.g. max_minutes = 30.",
            )
        if self.far_rule not in FAR_RULES:
            raise ConfigError(
                f"[siting] far_rule = {self.far_rule!r} is not known.",
                fix="Use one of: " + ", ".join(FAR_RULES) + ".",
            )
        weights = self.weights()
        if (
            any(w < 0 or not math.isfinite(w) for w in weights.values())
            or sum(weights.values()) <= 0
        ):
            raise ConfigError(
                "[siting] score weights must be non-negative with at least one above 0.",
                fix="Set weight_rehoming, weight_coverage, weight_access, weight_clustering.",
            )
        if self.k < 1 or self.cluster_full_count < 1:
            raise ConfigError("[siting] k and cluster_full_count must be at least 1.")
        if self.target < 0 or self.cluster_radius_m < 0 or self.exclusion_buffer_m < 0:
            raise ConfigError(
                "[siting] target, cluster_radius_m and exclusion_buffer_m must be >= 0."
            )
        if not 0 <= self.mip_rel_gap < 1 or not self.time_limit_s > 0:
            raise ConfigError("[siting] need 0 <= mip_rel_gap < 1 and time_limit_s > 0.")
        missing = [u for u in self.uses if u not in self.rules]
        if missing:
            raise ConfigError(
                "[siting] uses without eligibility rules: " + ", ".join(missing) + ".",
                fix="Add a [siting.rules.<use>] table or remove the use from [siting] uses.",
            )
        if self.available_by:
            try:
                dt.date.fromisoformat(self.available_by)
            except ValueError:
                raise ConfigError(
                    f"[siting] available_by = {self.available_by!r} is not a date.",
                    fix="Write it as YYYY-MM-DD.",
                ) from None

    def weights(self) -> dict[str, float]:
        """Component weights by component name."""
        return {
            "rehoming": self.weight_rehoming,
            "coverage": self.weight_coverage,
            "access": self.weight_access,
            "clustering": self.weight_clustering,
        }


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Check one config value against the type of its default; say which key is wrong."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false (got {value!r}).")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number (got {value!r}).")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number (got {value!r}).")
        return float(value)
    if isinstance(default, str):
        if isinstance(value, dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text (got {value!r}).")
        return value
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of text values (got {value!r}).")
        return tuple(value)
    return value


def _rules_from_dict(
    data: Mapping[str, Any], use: str, origin: str, base: EligibilityRules | None = None
) -> EligibilityRules:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: [siting.rules.{use}] must be a table (got {data!r}).")
    base = base or EligibilityRules()
    names = [f.name for f in dataclasses.fields(EligibilityRules)]
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(
                f"{origin}: unknown key '{key}' in [siting.rules.{use}].",
                fix="Allowed keys are: " + ", ".join(names) + ".",
            )
        clean[key] = _coerce(
            value, getattr(base, key), f"{origin}: key '[siting.rules.{use}] {key}'"
        )
    try:
        return dataclasses.replace(base, **clean)
    except ConfigError as err:
        raise ConfigError(f"{origin}: [siting.rules.{use}] {err.message}", fix=err.fix) from None


def settings_from_dict(data: Mapping[str, Any] | None, *, origin: str = "config") -> SitingSettings:
    """Build :class:`SitingSettings` from the ``[siting]`` table of a scenario.

    Keys map 1:1 to the dataclass fields. ``rules`` is a table of per-use tables
    (``[siting.rules.small_home] max_bedrooms = 4``) that *update* the default rules field by field;
    a new use name adds a use (fields it omits take :class:`EligibilityRules` defaults).

    Parameters
    ----------
    data : mapping or None
        The parsed ``[siting]`` table (``None`` or empty = all defaults).
    origin : str
        Where the table came from (file name), used in error messages.

    Raises
    ------
    ConfigError
        On an unknown key (the message names it), a wrong type or an invalid value.
    """
    data = dict(data or {})
    names = {f.name: f for f in dataclasses.fields(SitingSettings)}
    defaults = SitingSettings()
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(
                f"{origin}: unknown key '{key}' in [siting].",
                fix="Allowed keys are: " + ", ".join(sorted(names)) + ".",
            )
        if key == "rules":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{origin}: [siting] rules must be a table of per-use tables.")
            rules = dict(defaults.rules)
            for use, table in value.items():
                rules[use] = _rules_from_dict(table, use, origin, rules.get(use))
            clean[key] = rules
        else:
            clean[key] = _coerce(value, getattr(defaults, key), f"{origin}: key '[siting] {key}'")
    try:
        return SitingSettings(**clean)
    except ConfigError as err:
        raise ConfigError(f"{origin}: {err.message}", fix=err.fix) from None


# ---------------------------------------------------------------------------------------------
# Optimiser core (numpy + HiGHS)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Selection:
    """Result of an optimal site selection.

    Column indices refer to the columns of the cost matrix given to :func:`from_cost_matrix`
    (candidates and fixed existing sites together). Weights are in demand units (children).

    Attributes
    ----------
    chosen : ndarray of int
        Columns of the chosen new sites, in order of addition (each added where it gains most).
    objective : float
        Demand weight covered (MCLP) or assigned within capacity, fixed sites included.
    fixed_objective : float
        The same with the fixed (existing) sites alone: the "before" value.
    bound : float
        HiGHS's dual bound on the objective (equals ``objective`` when proven optimal).
    mip_gap : float
        HiGHS's relative MIP gap (0 = proven optimal).
    status : str
        HiGHS model status ("Optimal", "Time limit reached", ...).
    solve_time_s, build_time_s, total_time_s : float
        HiGHS run time, model build time, and the whole call including greedy and gains (s).
    greedy_chosen : ndarray of int
        Columns the greedy heuristic chose, in order.
    greedy_objective : float
        Exact objective of the greedy set.
    greedy_gap : float
        ``(objective - greedy_objective) / objective`` (0 when equal).
    addition_gain : ndarray of float
        Gain of each chosen site when added in the order of ``chosen``.
    marginal_gain : ndarray of float
        Leave-one-out loss: ``objective - objective(chosen without this site)``.
    site_load : ndarray of float, shape (n_columns,)
        Demand weight assigned to each open column (0 for closed ones).
    assignment : ndarray of int, shape (n_demand,)
        Column carrying the largest share of each demand row, ``-1`` if none.
    allocation : scipy.sparse.csr_matrix, shape (n_demand, n_columns)
        Demand weight of each row assigned to each column (rows may split only when a row weighs
        more than one child). Child-level: for scenario tables, never publish.
    fixed_allocation : scipy.sparse.csr_matrix, shape (n_demand, n_columns), or None
        The same with the fixed (existing) sites alone (the "before" of ``fixed_objective``).
    capacitated : bool
        Whether capacities were enforced.
    k : int
        Number of new sites allowed (after a target search, the fewest that reach it).
    model_size : dict
        ``rows``, ``cols``, ``nonzeros``, ``demand_groups`` of the MILP.
    chosen_ids : tuple
        Identifiers of the chosen sites (column indices for the core; candidate ids in wrappers).
    sites : DataFrame or None
        One row per chosen site (wrappers only).
    """

    chosen: np.ndarray
    objective: float
    fixed_objective: float
    bound: float
    mip_gap: float
    status: str
    solve_time_s: float
    build_time_s: float
    total_time_s: float
    greedy_chosen: np.ndarray
    greedy_objective: float
    greedy_gap: float
    addition_gain: np.ndarray
    marginal_gain: np.ndarray
    site_load: np.ndarray
    assignment: np.ndarray
    allocation: sp.csr_matrix
    capacitated: bool
    k: int
    model_size: dict[str, int]
    chosen_ids: tuple[Any, ...] = ()
    sites: pd.DataFrame | None = None
    fixed_allocation: sp.csr_matrix | None = None

    @property
    def optimal(self) -> bool:
        """Whether HiGHS proved the selection optimal (within ``mip_rel_gap``)."""
        return self.status == "Optimal"

    def summary(self) -> dict[str, Any]:
        """Scalar figures for reports and manifests."""
        return {
            "k": self.k,
            "capacitated": self.capacitated,
            "chosen": list(self.chosen_ids),
            "objective": self.objective,
            "before": self.fixed_objective,
            "gain": self.objective - self.fixed_objective,
            "bound": self.bound,
            "mip_gap": self.mip_gap,
            "status": self.status,
            "greedy_objective": self.greedy_objective,
            "greedy_gap": self.greedy_gap,
            "solve_time_s": self.solve_time_s,
            "total_time_s": self.total_time_s,
        }


@dataclass(frozen=True, eq=False)
class _Problem:
    """The covering structure of one selection problem, after aggregating demand."""

    cover: sp.csc_matrix  # (n_groups, n_cols) 1 where group is served by column
    weight: np.ndarray  # (n_groups,) aggregated demand weight
    group_of: np.ndarray  # (n_demand,) group index of each demand row, -1 if served by none
    capacity: np.ndarray  # (n_cols,) places (inf = uncapacitated)
    fixed: np.ndarray  # (n_cols,) bool
    exclusive: np.ndarray  # (n_cols,) int, -1 = none; columns sharing a value are exclusive
    capacitated: bool
    cost: np.ndarray  # (n_demand, n_cols) minutes with non-serving pairs = inf
    dominated: np.ndarray  # (n_cols,) bool: never needed in an optimum (kept closed)


def _solve_highs(
    *,
    cost: np.ndarray,
    a: sp.csc_matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    n_int: int,
    maximise: bool,
    offset: float = 0.0,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
    start: np.ndarray | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[str, np.ndarray, float, float, float, float]:
    """Solve ``opt cost@x s.t. row_lower <= A x <= row_upper`` with the first ``n_int`` columns integer.

    Returns (status, x, objective, dual bound, mip gap, run time in s).
    """
    n_row, n_col = a.shape
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = np.ascontiguousarray(cost, dtype=np.float64)
    lp.col_lower_ = np.ascontiguousarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.ascontiguousarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.ascontiguousarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.ascontiguousarray(row_upper, dtype=np.float64)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = n_row
    lp.a_matrix_.start_ = np.ascontiguousarray(a.indptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.ascontiguousarray(a.indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.ascontiguousarray(a.data, dtype=np.float64)
    if n_int:
        lp.integrality_ = [_K_INT] * n_int + [_K_CONT] * (n_col - n_int)
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    if n_int:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        for key, value in {**HIGHS_MIP_OPTIONS, **(options or {})}.items():
            h.setOptionValue(key, value)
    h.passModel(lp)
    if start is not None and n_int:
        # partial MIP start: the integer columns only; HiGHS completes the continuous ones
        idx = np.arange(start.size, dtype=np.int32)
        h.setSolution(int(start.size), idx, np.ascontiguousarray(start, dtype=np.float64))
    t0 = time.perf_counter()
    h.run()
    run_s = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64) if sol.value_valid else np.full(n_col, np.nan)
    obj = float(info.objective_function_value) if sol.value_valid else math.nan
    if n_int:
        bound, gap = float(info.mip_dual_bound), float(info.mip_gap)
    else:
        bound, gap = obj, 0.0
    if not math.isfinite(gap) and status == "Optimal":
        gap = 0.0
    return status, x, obj, bound, gap, run_s


def _prepare(
    cost_minutes: Any,
    *,
    max_minutes: float,
    weights: Any,
    capacities: Any,
    fixed: Any,
    compatible: Any,
    exclusive: Any,
    capacitated: bool,
) -> _Problem:
    cost = np.array(cost_minutes, dtype=np.float64)
    if cost.ndim != 2:
        raise InputFileError(
            f"cost_minutes must be a 2-D (demand x sites) array, got shape {cost.shape}."
        )
    n_dem, n_col = cost.shape
    w = np.ones(n_dem) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n_dem,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputFileError(
            f"weights must be {n_dem} finite values >= 0 (one per demand row).",
            fix="Give one weight per row of the cost matrix.",
        )
    fix_mask = np.zeros(n_col, bool) if fixed is None else np.asarray(fixed, dtype=bool).reshape(-1)
    if fix_mask.shape != (n_col,):
        raise InputFileError(f"fixed must be a boolean mask of the {n_col} columns.")
    if capacities is None:
        cap = np.full(n_col, np.inf)
    else:
        cap = np.asarray(capacities, dtype=np.float64).reshape(-1)
        if cap.shape != (n_col,) or np.any(np.isnan(cap)) or np.any(cap < 0):
            raise InputFileError(f"capacities must be {n_col} values >= 0 (inf = no limit).")
    if not capacitated:
        cap = np.full(n_col, np.inf)
    excl = (
        np.full(n_col, -1)
        if exclusive is None
        else np.asarray(exclusive, dtype=np.int64).reshape(-1)
    )
    if excl.shape != (n_col,):
        raise InputFileError(f"exclusive must give one group id per column ({n_col}).")
    with np.errstate(invalid="ignore"):
        serve = np.isfinite(cost) & (cost <= max_minutes)
    if compatible is not None:
        comp = np.asarray(compatible, dtype=bool)
        if comp.shape != cost.shape:
            raise InputFileError(f"compatible must have the cost matrix's shape {cost.shape}.")
        serve &= comp
    serve &= (w > 0)[:, None]
    serve[:, cap <= 0] = False
    # Aggregate demand rows that are served by exactly the same columns: their weights add up and
    # (with continuous assignment variables) the model is unchanged, but much smaller.
    served_any = serve.any(axis=1)
    rows = np.flatnonzero(served_any)
    group_of = np.full(n_dem, -1, dtype=np.int64)
    if rows.size:
        packed = np.packbits(serve[rows], axis=1)
        _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        group_of[rows] = inverse
        weight: np.ndarray = np.bincount(inverse, weights=w[rows], minlength=first.size)
        cover = sp.csc_matrix(serve[rows[first]].astype(np.float64))
    else:
        weight = np.zeros(0)
        cover = sp.csc_matrix((0, n_col))
    cost = np.where(serve, cost, np.inf)
    dominated = (
        _dominated_columns(cover, fix_mask, excl) if not capacitated else np.zeros(n_col, bool)
    )
    return _Problem(cover, weight, group_of, cap, fix_mask, excl, capacitated, cost, dominated)


def _dominated_columns(
    cover: sp.csc_matrix, fixed: np.ndarray, exclusive: np.ndarray
) -> np.ndarray:
    """MCLP columns whose served groups are a subset of another free column's (or empty).

    Swapping such a column for its dominator never lowers coverage, so an optimum exists without
    it; closing it up front shrinks the branch-and-bound (HiGHS's own presolve is off, see
    :data:`HIGHS_MIP_OPTIONS`). Only free columns outside exclusive groups take part.
    """
    size = np.asarray(cover.sum(axis=0)).reshape(-1)
    cand = ~fixed & (exclusive < 0)
    out = cand & (size == 0)
    idx = np.flatnonzero(cand & (size > 0))
    if idx.size < 2:
        return out
    sub = cover[:, idx]
    overlap = (sub.T @ sub).toarray()
    sz = size[idx]
    # i is dominated by j if every group of i is served by j, and j is strictly larger or an
    # identical column with a lower index (so exactly one of a set of twins survives)
    contains = overlap >= sz[:, None] - 0.5
    np.fill_diagonal(contains, False)
    bigger = sz[None, :] > sz[:, None]
    twin_first = (sz[None, :] == sz[:, None]) & (
        np.arange(idx.size)[None, :] < np.arange(idx.size)[:, None]
    )
    dom = (contains & (bigger | twin_first)).any(axis=1)
    out[idx[dom]] = True
    return out


def _exclusive_rows(excl: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    """Rows ``sum x_j <= 1`` over columns sharing an exclusive-group id (only groups of 2+)."""
    ids = excl[cols]
    valid = ids >= 0
    if not valid.any():
        return sp.csr_matrix((0, cols.size))
    uniq, inv, counts = np.unique(ids[valid], return_inverse=True, return_counts=True)
    keep = counts[inv] > 1
    pos = np.flatnonzero(valid)[keep]
    _, row = np.unique(inv[keep], return_inverse=True)
    n_rows = int(row.max()) + 1 if row.size else 0
    return sp.csr_matrix((np.ones(pos.size), (row, pos)), shape=(n_rows, cols.size))


def _build_model(
    prob: _Problem, *, k: float | None, target: float | None, cols: np.ndarray | None = None
) -> dict[str, Any]:
    """Arrays of the MILP over columns ``cols`` (default: all). ``target`` switches to min #sites.

    Variables: ``x_j`` (binary, open column j) for j in cols, then

    * MCLP: ``y_g`` in [0, 1] (group g covered) for groups not covered by fixed columns;
      rows ``y_g - sum_{j covers g} x_j <= 0``.
    * capacitated: ``z_gj`` in [0, 1] (share of group g assigned to j) for each serving pair;
      rows ``sum_j z_gj <= 1``, ``sum_g W_g z_gj - cap_j x_j <= 0`` (finite cap) and
      ``z_gj - min(1, cap_j / W_g) x_j <= 0`` (a valid strengthening; the only link if cap is inf).

    Plus ``sum_{free j} x_j <= k`` (or, for a target, objective >= target and minimise that sum)
    and ``sum x_j <= 1`` over each exclusive group. Fixed columns have ``x_j = 1``.
    """
    cols = np.arange(prob.cover.shape[1]) if cols is None else np.asarray(cols)
    nx = cols.size
    cover = prob.cover[:, cols]
    fixed = prob.fixed[cols]
    cap = prob.capacity[cols]
    W = prob.weight
    col_lo = fixed.astype(np.float64)
    col_hi = (~prob.dominated[cols]).astype(np.float64)
    free = (~fixed).astype(np.float64)
    offset = 0.0
    if not prob.capacitated:
        by_fixed = np.asarray(cover[:, fixed].sum(axis=1)).reshape(-1) > 0
        offset = float(W[by_fixed].sum())
        keep = np.flatnonzero(~by_fixed)
        A = cover[keep].tocsr()
        ng = keep.size
        obj = np.concatenate([np.zeros(nx), W[keep]])
        link = sp.hstack([-A, sp.identity(ng, format="csr")], format="csr")
        blocks = [link]
        lo = [np.full(ng, -_INF)]
        hi = [np.zeros(ng)]
        n_y = ng
        col_lo = np.concatenate([col_lo, np.zeros(ng)])
        col_hi = np.concatenate([col_hi, np.ones(ng)])
    else:
        coo = cover.tocoo()
        g, j = coo.row, coo.col  # pairs, sorted by column (CSC)
        npair = g.size
        ng = cover.shape[0]
        pid = np.arange(npair)
        obj = np.concatenate([np.zeros(nx), W[g]])
        # demand rows: sum_j z_gj <= 1
        dem = sp.csr_matrix((np.ones(npair), (g, nx + pid)), shape=(ng, nx + npair))
        # capacity rows only where capacity can bind: a column whose places are at least all the
        # weight it could serve is effectively uncapacitated (linked by VUBs instead)
        reachable = np.asarray(cover.T @ W).reshape(-1)
        fin = np.isfinite(cap) & (cap < reachable - _EPS)
        cap_cols = np.flatnonzero(fin)
        rowpos = np.full(nx, -1)
        rowpos[cap_cols] = np.arange(cap_cols.size)
        pm = fin[j]
        capm = sp.csr_matrix(
            (
                np.concatenate([W[g[pm]], -cap[cap_cols]]),
                (
                    np.concatenate([rowpos[j[pm]], np.arange(cap_cols.size)]),
                    np.concatenate([nx + pid[pm], cap_cols]),
                ),
            ),
            shape=(cap_cols.size, nx + npair),
        )
        # variable upper bounds z_gj <= x_j: needed where a column that may close has no
        # capacity row (infinite capacity); everywhere if _STRONG_VUB (tighter, but a much bigger,
        # degenerate LP: HiGHS took 45 s on a 300 x 300 root LP).
        vm = (~fin[j] & ~fixed[j]) | _STRONG_VUB
        nv = int(vm.sum())
        with np.errstate(divide="ignore"):
            coef = np.minimum(1.0, cap[j[vm]] / W[g[vm]])
        vub = sp.csr_matrix(
            (
                np.concatenate([np.ones(nv), -coef]),
                (np.tile(np.arange(nv), 2), np.concatenate([nx + pid[vm], j[vm]])),
            ),
            shape=(nv, nx + npair),
        )
        # cover links sum_j z_gj - sum_{j serves g} x_j <= 0 (the MCLP link, implied by the VUBs):
        # one row per group keeps the MCLP bound when capacities are loose
        link = sp.csr_matrix(
            (
                np.concatenate([np.ones(npair), -np.ones(npair)]),
                (np.concatenate([g, g]), np.concatenate([nx + pid, j])),
            ),
            shape=(ng, nx + npair),
        )
        blocks = [dem, capm, vub] + ([link] if _COVER_LINKS else [])
        lo = [np.full(ng, -_INF), np.full(cap_cols.size, -_INF), np.full(nv, -_INF)] + (
            [np.full(ng, -_INF)] if _COVER_LINKS else []
        )
        hi = [np.ones(ng), np.zeros(cap_cols.size), np.zeros(nv)] + (
            [np.zeros(ng)] if _COVER_LINKS else []
        )
        n_y = npair
        col_lo = np.concatenate([col_lo, np.zeros(npair)])
        col_hi = np.concatenate([col_hi, np.ones(npair)])
    excl = _exclusive_rows(prob.exclusive, cols)
    if excl.shape[0]:
        blocks.append(sp.hstack([excl, sp.csr_matrix((excl.shape[0], n_y))], format="csr"))
        lo.append(np.full(excl.shape[0], -_INF))
        hi.append(np.ones(excl.shape[0]))
    count = sp.csr_matrix(np.concatenate([free, np.zeros(n_y)])[None, :])
    if target is None:
        blocks.append(count)
        lo.append(np.array([-_INF]))
        hi.append(np.array([float(k if k is not None else nx)]))
        cost, maximise = obj, True
    else:
        blocks.append(sp.csr_matrix(obj[None, :]))
        lo.append(np.array([target - offset - 1e-6]))
        hi.append(np.array([_INF]))
        cost, maximise, offset = count.toarray().reshape(-1), False, 0.0
    A_all = sp.vstack(blocks, format="csc")
    A_all.sort_indices()
    return {
        "cost": cost,
        "a": A_all,
        "row_lower": np.concatenate(lo),
        "row_upper": np.concatenate(hi),
        "col_lower": col_lo,
        "col_upper": col_hi,
        "n_int": nx,
        "maximise": maximise,
        "offset": offset,
        "n_x": nx,
    }


_MODEL_ARGS = (
    "cost",
    "a",
    "row_lower",
    "row_upper",
    "col_lower",
    "col_upper",
    "n_int",
    "maximise",
    "offset",
)


def _model_args(m: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`_solve_highs` arguments held in a :func:`_build_model` result."""
    return {key: m[key] for key in _MODEL_ARGS}


def _evaluate(
    prob: _Problem, open_cols: np.ndarray, *, with_flows: bool = True
) -> tuple[float, sp.csc_matrix]:
    """Exact objective of opening ``open_cols`` (plus fixed), and the flow of weight per group/site.

    Returns (objective, flows) where flows is a sparse (n_groups, n_cols) matrix of weight assigned
    (MCLP: empty unless ``with_flows``; the capacitated LP always gives them).
    """
    n_col = prob.cover.shape[1]
    cols = np.union1d(np.flatnonzero(prob.fixed), np.asarray(open_cols, dtype=np.int64))
    ng = prob.cover.shape[0]
    if cols.size == 0 or ng == 0:
        return 0.0, sp.csc_matrix((ng, n_col))
    sub = prob.cover[:, cols]
    if not prob.capacitated:
        served = np.asarray(sub.sum(axis=1)).reshape(-1) > 0
        if not with_flows:
            return float(prob.weight[served].sum()), sp.csc_matrix((ng, n_col))
        # assign each group to the first serving column (nearest is resolved per demand row later)
        sub_r = sub.tocsr()
        g = np.flatnonzero(served)
        first = sub_r.indices[sub_r.indptr[g]]
        flows = sp.csc_matrix((prob.weight[g], (g, cols[first])), shape=(ng, n_col))
        return float(prob.weight[served].sum()), flows
    # Transportation LP with the sites fixed open: a plain LP (integral for integral data).
    fixed_prob = dataclasses.replace(prob, fixed=np.ones(n_col, bool), exclusive=np.full(n_col, -1))
    m = _build_model(fixed_prob, k=0, target=None, cols=cols)
    status, x, obj, *_ = _solve_highs(**{**_model_args(m), "n_int": 0})
    if status != "Optimal":  # pragma: no cover - an LP with x fixed is always feasible (z = 0)
        raise RuntimeError(f"HiGHS could not evaluate a site set: {status}")
    coo = sub.tocoo()
    z = x[cols.size :]
    flows = sp.csc_matrix((prob.weight[coo.row] * z, (coo.row, cols[coo.col])), shape=(ng, n_col))
    flows.eliminate_zeros()
    return float(obj), flows


def _greedy(prob: _Problem, k: int) -> np.ndarray:
    """Greedy: repeatedly open the free column with the largest marginal gain.

    MCLP: the gain is the uncovered weight the column covers (exact). Capacitated: the gain is
    ``min(places, weight it could serve that is not yet assigned)``, with assignments re-optimised
    exactly (transportation LP) after each addition.
    """
    ng, n_col = prob.cover.shape
    cover_csr = prob.cover.tocsr()
    free = ~prob.fixed
    allowed = free & ~prob.dominated
    chosen: list[int] = []
    open_cols = np.flatnonzero(prob.fixed)
    if prob.capacitated:
        _, flows = _evaluate(prob, open_cols)
        residual = prob.weight - np.asarray(flows.sum(axis=1)).reshape(-1)
    else:
        residual = prob.weight * (
            np.asarray(prob.cover[:, prob.fixed].sum(axis=1)).reshape(-1) == 0
        )
    for _ in range(k):
        gains = np.asarray(cover_csr.T @ np.maximum(residual, 0.0)).reshape(-1)
        gains = np.minimum(gains, prob.capacity)
        gains[~allowed] = -1.0
        j = int(np.argmax(gains))
        if gains[j] <= _EPS:
            break
        chosen.append(j)
        allowed[j] = False
        if prob.exclusive[j] >= 0:
            allowed[prob.exclusive == prob.exclusive[j]] = False
        if prob.capacitated:
            _, flows = _evaluate(prob, np.array(chosen))
            residual = prob.weight - np.asarray(flows.sum(axis=1)).reshape(-1)
        else:
            residual[prob.cover[:, j].indices] = 0.0
    return np.array(chosen, dtype=np.int64)


def _swap_search(prob: _Problem, chosen: np.ndarray, *, max_swaps: int = 200) -> np.ndarray:
    """Improve an MCLP solution by best single swaps (Teitz-Bart interchange), vectorised.

    The gain of swapping open column ``a`` for closed column ``b`` is
    ``add_b + both_ab - loss_a``: weight only ``b`` would newly cover, plus weight covered only
    by ``a`` that ``b`` also covers, minus weight covered only by ``a``. Used as the MIP start.
    """
    A = prob.cover
    W = prob.weight
    cur = [int(c) for c in chosen]
    if not cur or prob.capacitated:
        return np.array(cur, dtype=np.int64)
    fixed_cols = np.flatnonzero(prob.fixed)
    for _ in range(max_swaps):
        open_cols = np.concatenate([fixed_cols, cur]).astype(np.int64)
        count = np.asarray(A[:, open_cols].sum(axis=1)).reshape(-1)
        u0 = W * (count == 0)
        u1 = W * (count == 1)
        add = np.asarray(A.T @ u0).reshape(-1)
        a_cur = A[:, cur]
        loss = np.asarray(a_cur.T @ u1).reshape(-1)
        both = (a_cur.multiply(u1[:, None])).T.tocsr() @ A
        gain = both.toarray() + add[None, :] - loss[:, None]
        gain[:, open_cols] = -np.inf
        gain[:, prob.dominated] = -np.inf
        for r, a in enumerate(cur):
            others = {int(prob.exclusive[c]) for c in cur if c != a and prob.exclusive[c] >= 0}
            if others:
                gain[r, np.isin(prob.exclusive, list(others))] = -np.inf
        rr, bb = np.unravel_index(int(np.argmax(gain)), gain.shape)
        r, b = int(rr), int(bb)
        if gain[r, b] <= _EPS * max(1.0, float(W.sum())):
            break
        cur[int(r)] = int(b)
    return np.array(cur, dtype=np.int64)


def _prefer_ties(prob: _Problem, chosen: np.ndarray, prefer: np.ndarray, *, top: int = 20) -> np.ndarray:
    """Swap chosen columns for better-preferred ones while the objective stays the same."""
    n_col = prob.cover.shape[1]
    if prefer.size != n_col:
        raise InputFileError(f"prefer has {prefer.size} values for {n_col} columns.")
    pref = np.where(np.isfinite(prefer), prefer, -np.inf)

    def f(cols: list[int]) -> float:
        return _evaluate(prob, np.asarray(cols, dtype=np.int64), with_flows=False)[0]

    cur = [int(c) for c in chosen]
    base = f(cur)
    free = np.flatnonzero(~prob.fixed)
    for _ in range(len(cur) * top + 1):
        swapped = False
        for j in sorted(cur, key=lambda c: (pref[c], c)):
            others = [c for c in cur if c != j]
            used = {int(prob.exclusive[c]) for c in others if prob.exclusive[c] >= 0}
            better = [int(c) for c in free if c not in cur and pref[c] > pref[j] + 1e-12 and (prob.exclusive[c] < 0 or int(prob.exclusive[c]) not in used)]
            for c in sorted(better, key=lambda c: (-pref[c], c))[:top]:
                if f([*others, c]) >= base - 1e-9:
                    cur = [*others, c]
                    swapped = True
                    break
            if swapped:
                break
        if not swapped:
            break
    return np.array(sorted(cur), dtype=np.int64)


def _order_and_gains(
    prob: _Problem, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Order chosen columns by exact best-next gain; leave-one-out gains; return objective too."""
    chosen = np.asarray(chosen, dtype=np.int64)

    def f(cols: Sequence[int] | np.ndarray) -> float:
        return _evaluate(prob, np.asarray(cols, dtype=np.int64), with_flows=False)[0]

    full = f(chosen)
    remaining = list(chosen)
    order: list[int] = []
    add_gain: list[float] = []
    current = f([])
    while remaining:
        vals = [f([*order, j]) for j in remaining]
        b = int(np.argmax(vals))
        order.append(remaining.pop(b))
        add_gain.append(vals[b] - current)
        current = vals[b]
    loo = np.array([full - f(chosen[chosen != j]) for j in order])
    return np.array(order, dtype=np.int64), np.array(add_gain), loo, full


def _allocate_rows(
    prob: _Problem, flows: sp.csc_matrix, weights: np.ndarray, open_cols: np.ndarray
) -> sp.csr_matrix:
    """Turn group-level flows into weight per (demand row, column).

    MCLP: every served row goes wholly to its nearest open column. Capacitated: the rows of a
    group (all served by the same columns) take the group's flows in order of their best travel
    time; with integral weights and capacities every assigned child gets exactly one site.
    """
    n_dem, n_col = prob.cost.shape
    if not prob.capacitated:
        cols = np.union1d(np.flatnonzero(prob.fixed), open_cols).astype(np.int64)
        if cols.size == 0:
            return sp.csr_matrix((n_dem, n_col))
        sub = prob.cost[:, cols]
        best = np.argmin(sub, axis=1)
        rows = np.flatnonzero(np.isfinite(sub[np.arange(n_dem), best]))
        return sp.csr_matrix((weights[rows], (rows, cols[best[rows]])), shape=(n_dem, n_col))
    fl = flows.tocsr()
    order = np.argsort(prob.group_of, kind="stable")
    g_sorted = prob.group_of[order]
    ids = np.arange(fl.shape[0])
    starts = np.searchsorted(g_sorted, ids)
    ends = np.searchsorted(g_sorted, ids, side="right")
    out_r: list[int] = []
    out_c: list[int] = []
    out_v: list[float] = []
    for g in np.flatnonzero(np.diff(fl.indptr) > 0):
        rows = order[starts[g] : ends[g]]
        cols = fl.indices[fl.indptr[g] : fl.indptr[g + 1]]
        amount = fl.data[fl.indptr[g] : fl.indptr[g + 1]].copy()
        sub = prob.cost[np.ix_(rows, cols)]
        cols_sorted = np.argsort(sub.mean(axis=0))
        rows_sorted = rows[np.argsort(sub.min(axis=1), kind="stable")]
        ci = 0
        for r in rows_sorted:
            need = float(weights[r])
            while need > 1e-9 and ci < cols_sorted.size:
                c = cols_sorted[ci]
                take = min(need, amount[c])
                if take > 1e-9:
                    out_r.append(int(r))
                    out_c.append(int(cols[c]))
                    out_v.append(take)
                    need -= take
                    amount[c] -= take
                if amount[c] <= 1e-9:
                    ci += 1
            if ci == cols_sorted.size:
                break
    return sp.csr_matrix((out_v, (out_r, out_c)), shape=(n_dem, n_col))


def from_cost_matrix(
    cost_minutes: Any,
    *,
    max_minutes: float,
    k: int | None = None,
    target: float | None = None,
    weights: Any | None = None,
    capacities: Any | None = None,
    fixed: Any | None = None,
    compatible: Any | None = None,
    exclusive: Any | None = None,
    capacitated: bool | None = None,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
    prefer: Any | None = None,
) -> Selection:
    """Choose ``k`` sites maximising (capacitated) coverage of demand, solved exactly with HiGHS.

    Parameters
    ----------
    cost_minutes : array_like, shape (n_demand, n_columns)
        Travel time in minutes from each demand point (child's home) to each column (candidate
        or fixed existing site). ``inf``/``nan`` = unreachable.
    max_minutes : float
        A column serves demand within this many minutes (inclusive, as spopt's MCLP).
    k : int, optional
        Number of new (non-fixed) columns to open. Exactly one of ``k`` / ``target``.
    target : float, optional
        Open the fewest columns whose objective reaches ``target`` (demand weight), then maximise
        the objective for that number of sites.
    weights : array_like, shape (n_demand,), optional
        Demand weight (children); default 1 each.
    capacities : array_like, shape (n_columns,), optional
        Places per column (``inf`` = unlimited). Required for a meaningful capacitated model.
    fixed : array_like of bool, shape (n_columns,), optional
        Existing sites: always open, not counted in ``k``.
    compatible : array_like of bool, shape (n_demand, n_columns), optional
        False where a column cannot serve a demand row (need or age not served).
    exclusive : array_like of int, shape (n_columns,), optional
        Columns sharing an id >= 0 are alternatives (the same building for different uses): at
        most one opens.
    capacitated : bool, optional
        Enforce capacities (default: whether ``capacities`` was given). False gives the classic
        maximal covering location problem (MCLP).
    mip_rel_gap : float
        Relative gap at which HiGHS may stop; 0 proves optimality.
    time_limit_s : float
        HiGHS time limit (s). If reached, the best solution found is returned with its gap.
    prefer : array_like, shape (n_columns,), optional
        A tie-break (e.g. each candidate's total score): where other sets reach the same optimum,
        columns with a higher value are preferred (a swap search after the MILP that never lowers
        the objective).

    Returns
    -------
    Selection
        Chosen columns, optimum and bound, greedy comparison, gains, assignment.
    """
    t_start = time.perf_counter()
    if (k is None) == (target is None):
        raise ConfigError("Give exactly one of k (number of sites) or target (children to reach).")
    if k is not None and (isinstance(k, bool) or int(k) != k or k < 0):
        raise ConfigError(f"k must be a whole number >= 0 (got {k!r}).")
    if capacitated is None:
        capacitated = capacities is not None
    prob = _prepare(
        cost_minutes,
        max_minutes=max_minutes,
        weights=weights,
        capacities=capacities,
        fixed=fixed,
        compatible=compatible,
        exclusive=exclusive,
        capacitated=capacitated,
    )
    n_col = prob.cover.shape[1]
    fixed_objective, fixed_flows = _evaluate(prob, np.array([], dtype=np.int64))
    build_s = 0.0
    solve_s = 0.0
    if target is not None:
        t0 = time.perf_counter()
        m = _build_model(prob, k=None, target=float(target))
        build_s += time.perf_counter() - t0
        status, x, obj, _, _, run_s = _solve_highs(
            **_model_args(m),
            mip_rel_gap=0.0,
            time_limit_s=time_limit_s,
        )
        solve_s += run_s
        if status == "Infeasible":
            best = _build_model(prob, k=None, target=None)
            _, _, most, *_ = _solve_highs(
                **_model_args(best),
                mip_rel_gap=mip_rel_gap,
                time_limit_s=time_limit_s,
            )
            raise ConfigError(
                f"The target of {target:g} children cannot be reached: opening every eligible "
                f"candidate reaches {most:g}.",
                fix="Lower the target, add candidates or raise max_minutes.",
            )
        if status != "Optimal":
            logger.warning(
                "Fewest-sites search stopped with status %s; using its best count.", status
            )
        k = int(round(obj))
    assert k is not None
    g_chosen = _greedy(prob, k)
    start_cols = _swap_search(prob, g_chosen)
    t0 = time.perf_counter()
    m = _build_model(prob, k=k, target=None)
    build_s += time.perf_counter() - t0
    start = prob.fixed.astype(np.float64)
    start[start_cols] = 1.0
    status, x, obj, bound, gap, run_s = _solve_highs(
        **_model_args(m),
        mip_rel_gap=mip_rel_gap,
        time_limit_s=time_limit_s,
        start=start,
    )
    solve_s += run_s
    if not np.isfinite(x).all():
        raise RuntimeError(f"HiGHS found no solution: {status}.")
    xs = x[: m["n_x"]]
    chosen = np.flatnonzero((xs > 0.5) & ~prob.fixed)
    if prefer is not None:
        chosen = _prefer_ties(prob, chosen, np.asarray(prefer, dtype=np.float64).reshape(-1))
    order, add_gain, loo, exact = _order_and_gains(prob, chosen)
    if abs(exact - obj) > 1e-6 * max(1.0, abs(obj)):
        logger.debug("MILP objective %.6f, exact re-evaluation %.6f", obj, exact)
    g_obj, _ = _evaluate(prob, g_chosen)
    _, flows = _evaluate(prob, order)
    load = np.asarray(flows.sum(axis=0)).reshape(-1)
    w = (
        np.ones(prob.group_of.size)
        if weights is None
        else np.asarray(weights, dtype=np.float64).reshape(-1)
    )
    allocation = _allocate_rows(prob, flows, w, order)
    fixed_allocation = _allocate_rows(prob, fixed_flows, w, np.array([], dtype=np.int64))
    assignment = np.where(
        allocation.getnnz(axis=1) > 0, np.asarray(allocation.argmax(axis=1)).reshape(-1), -1
    )
    a = m["a"]
    return Selection(
        chosen=order,
        objective=exact,
        fixed_objective=fixed_objective,
        bound=bound,
        mip_gap=gap,
        status=status,
        solve_time_s=solve_s,
        build_time_s=build_s,
        total_time_s=time.perf_counter() - t_start,
        greedy_chosen=g_chosen,
        greedy_objective=g_obj,
        greedy_gap=(exact - g_obj) / exact if exact > 0 else 0.0,
        addition_gain=add_gain,
        marginal_gain=loo,
        site_load=load,
        assignment=assignment,
        allocation=allocation,
        fixed_allocation=fixed_allocation,
        capacitated=bool(capacitated),
        k=int(k),
        model_size={
            "rows": int(a.shape[0]),
            "cols": int(a.shape[1]),
            "nonzeros": int(a.nnz),
            "demand_groups": int(prob.cover.shape[0]),
            "columns": int(n_col),
        },
        chosen_ids=tuple(int(c) for c in order),
    )


def straight_line_minutes(
    origins_xy: Any, destinations_xy: Any, *, speed_kph: float = CROW_FLY_SPEED_KPH
) -> np.ndarray:
    """Crow-fly travel time in minutes between BNG points at ``speed_kph``.

    Parameters
    ----------
    origins_xy, destinations_xy : array_like, shape (n, 2) / (m, 2)
        Easting, northing in metres (EPSG:27700).
    speed_kph : float
        Assumed speed in km/h.

    Returns
    -------
    ndarray, shape (n, m)
        Minutes.
    """
    from scipy.spatial.distance import cdist

    o = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(destinations_xy, dtype=np.float64).reshape(-1, 2)
    return cdist(o, d) / 1000.0 / speed_kph * 60.0


# ---------------------------------------------------------------------------------------------
# Candidates, demand and eligibility
# ---------------------------------------------------------------------------------------------

_CANDIDATE_COLUMNS = ("candidate_id", "easting", "northing", "bedrooms", "uses")


def _norm_token(text: str) -> str:
    return str(text).strip().lower().replace("-", "_").replace(" ", "_")


def _parse_uses(value: Any) -> tuple[str, ...]:
    """Uses listed for one candidate: a list, or text separated by ';' or ','. Empty = none given."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.replace(",", ";").split(";")
    elif isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        items = value
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        tok = _norm_token(item)
        if tok and tok not in out:
            out.append(tok)
    return tuple(out)


def _site_type_groups() -> dict[str, set[str]]:
    """``site_types.csv``: site type -> placement groups it serves."""
    path = resources.files("geosuff").joinpath("data/site_types.csv")
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return {
        str(r.type): {g for g in str(r.serves_groups).split(";") if g}
        for r in table.itertuples(index=False)
    }


@dataclass(frozen=True, eq=False)
class _Demand:
    weight: np.ndarray
    far: np.ndarray
    need: np.ndarray  # object, None = unknown
    age: np.ndarray  # float, nan = unknown

    def compatible(self, rules: EligibilityRules) -> np.ndarray:
        ok = np.ones(self.weight.size, dtype=bool)
        if rules.serves_needs:
            known = np.array([n is not None for n in self.need], dtype=bool)
            ok &= ~known | np.isin(self.need.astype(str), list(rules.serves_needs))
        with np.errstate(invalid="ignore"):
            ok &= np.isnan(self.age) | ((self.age >= rules.min_age) & (self.age < rules.max_age))
        return ok


def _bool_column(df: pd.DataFrame, name: str) -> np.ndarray:
    """A yes/no column as float (1, 0, nan = not known)."""
    col = df[name]
    if col.dtype == bool:
        return col.to_numpy(dtype=np.float64)
    mapping = {
        "true": 1.0,
        "yes": 1.0,
        "y": 1.0,
        "1": 1.0,
        "false": 0.0,
        "no": 0.0,
        "n": 0.0,
        "0": 0.0,
    }
    out = np.full(len(df), np.nan)
    for i, v in enumerate(col.tolist()):
        if isinstance(v, (bool, np.bool_)):
            out[i] = float(v)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v):
            out[i] = 1.0 if v else 0.0
        elif isinstance(v, str) and v.strip().lower() in mapping:
            out[i] = mapping[v.strip().lower()]
    return out


def _demand_arrays(
    demand: pd.DataFrame, settings: SitingSettings, *, what: str = "demand"
) -> _Demand:
    """Weights, placed-far flags, needs and ages of a demand table.

    Columns used (all optional): ``weight`` (default 1), ``over_20_miles`` and ``outside_la``
    (yes/no; combined by ``settings.far_rule``; without either column every row counts as far),
    ``need`` (placement group), ``age`` (years).
    """
    n = len(demand)
    if "weight" in demand:
        weight = pd.to_numeric(demand["weight"], errors="coerce").to_numpy(dtype=np.float64)
        if np.any(~np.isfinite(weight)) or np.any(weight < 0):
            raise InputFileError(
                f"The {what} table has missing or negative weights.",
                fix="Give every row a weight >= 0 (number of children).",
            )
    else:
        weight = np.ones(n)
    over = _bool_column(demand, "over_20_miles") if "over_20_miles" in demand else None
    outside = _bool_column(demand, "outside_la") if "outside_la" in demand else None
    if over is None and outside is None:
        far = np.ones(n, dtype=bool)
    else:
        over_b = np.nan_to_num(over, nan=0.0) > 0 if over is not None else np.zeros(n, bool)
        out_b = np.nan_to_num(outside, nan=0.0) > 0 if outside is not None else np.zeros(n, bool)
        far = {"either": over_b | out_b, "over_20_miles": over_b, "outside_la": out_b}[
            settings.far_rule
        ]
    if "need" in demand:
        need = np.array(
            [
                None if pd.isna(v) or str(v).strip() == "" else _norm_token(v)
                for v in demand["need"]
            ],
            dtype=object,
        )
    else:
        need = np.full(n, None, dtype=object)
    age = (
        pd.to_numeric(demand["age"], errors="coerce").to_numpy(dtype=np.float64)
        if "age" in demand
        else np.full(n, np.nan)
    )
    return _Demand(weight, far, need, age)


def _check_matrix(m: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    arr = np.asarray(m, dtype=np.float64)
    if arr.shape != shape:
        raise InputFileError(
            f"{name} has shape {arr.shape}, expected {shape}.",
            fix="Compute it for the same rows and columns, in the same order, as the tables given.",
        )
    return arr


def _check_candidates(candidates: pd.DataFrame) -> None:
    missing = [c for c in _CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise InputFileError(
            "The candidates table lacks column(s): " + ", ".join(missing) + ".",
            fix="Give candidate_id, easting, northing (EPSG:27700), bedrooms and uses.",
        )
    ids = candidates["candidate_id"]
    if ids.isna().any() or ids.duplicated().any():
        dup = ids[ids.duplicated()].astype(str).unique()[:5]
        raise InputFileError(
            "candidate_id must be filled in and unique"
            + (f" (repeated: {', '.join(dup)})" if len(dup) else "")
            + ".",
            fix="Give each candidate building its own id.",
        )


def _exclusion_hits(xy: np.ndarray, zones: Any, settings: SitingSettings) -> list[list[str]]:
    """For each point, the reasons (zone names) it falls within an exclusion zone plus buffer."""
    import shapely

    hits: list[list[str]] = [[] for _ in range(xy.shape[0])]
    if zones is None or len(zones) == 0:
        return hits
    import geopandas as gpd

    gdf = (
        zones
        if isinstance(zones, gpd.GeoDataFrame)
        else gpd.GeoDataFrame(geometry=gpd.GeoSeries(zones))
    )
    if gdf.crs is not None and not gdf.crs.equals("EPSG:27700"):
        gdf = gdf.to_crs("EPSG:27700")
    pts = shapely.points(xy[:, 0], xy[:, 1])
    valid = np.isfinite(xy).all(axis=1)
    names = (
        gdf["name"].astype(str).tolist()
        if "name" in gdf
        else [f"zone {i + 1}" for i in range(len(gdf))]
    )
    buffers = (
        pd.to_numeric(gdf["buffer_m"], errors="coerce").fillna(0.0).to_numpy()
        if "buffer_m" in gdf
        else np.zeros(len(gdf))
    )
    for geom, name, buf in zip(gdf.geometry.to_numpy(), names, buffers, strict=True):
        if geom is None or geom.is_empty:
            continue
        dist = float(buf) + settings.exclusion_buffer_m
        inside = shapely.dwithin(geom, pts, dist) & valid
        for i in np.flatnonzero(inside):
            hits[i].append(f"in exclusion zone '{name}'" + (f" (+{dist:g} m)" if dist > 0 else ""))
    return hits


def _options(
    candidates: pd.DataFrame, settings: SitingSettings, exclusion_zones: Any
) -> pd.DataFrame:
    """One row per (candidate, use considered): places, eligibility and reasons.

    Columns: ``cand`` (row position), ``use``, ``places``, ``eligible``, ``reason`` (of this
    option), ``cand_reason`` (hard constraints on the building, shared by its uses).
    """
    _check_candidates(candidates)
    xy = (
        candidates[["easting", "northing"]]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(np.float64)
    )
    bedrooms = pd.to_numeric(candidates["bedrooms"], errors="coerce").to_numpy(np.float64)
    cand_reasons: list[list[str]] = _exclusion_hits(xy, exclusion_zones, settings)
    for i_bad in np.flatnonzero(~np.isfinite(xy).all(axis=1)):
        cand_reasons[i_bad].insert(0, "no grid reference (easting/northing)")
    if "condition" in candidates and settings.excluded_conditions:
        bad = {_norm_token(c) for c in settings.excluded_conditions}
        for i, v in enumerate(candidates["condition"].tolist()):
            if not pd.isna(v) and _norm_token(v) in bad:
                cand_reasons[i].append(f"condition '{v}' is excluded")
    if "cost" in candidates and math.isfinite(settings.max_cost):
        cost = pd.to_numeric(candidates["cost"], errors="coerce").to_numpy(np.float64)
        for i in map(int, np.flatnonzero(cost > settings.max_cost)):
            cand_reasons[i].append(f"cost {cost[i]:,.0f} above max_cost {settings.max_cost:,.0f}")
    if "tenure" in candidates and settings.allowed_tenures:
        ok = {_norm_token(t) for t in settings.allowed_tenures}
        for i, v in enumerate(candidates["tenure"].tolist()):
            if not pd.isna(v) and _norm_token(v) not in ok:
                cand_reasons[i].append(
                    f"tenure '{v}' not allowed (allowed: {', '.join(settings.allowed_tenures)})"
                )
    if "available_from" in candidates and settings.available_by:
        avail = pd.to_datetime(candidates["available_from"], errors="coerce")
        limit = pd.Timestamp(settings.available_by)
        for i in map(int, np.flatnonzero((avail > limit).to_numpy())):
            cand_reasons[i].append(
                f"available from {avail.iloc[i].date().isoformat()}, after {settings.available_by}"
            )
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(candidates["uses"].tolist()):
        listed = _parse_uses(raw)
        unknown = [u for u in listed if u not in settings.rules]
        if unknown:
            raise InputFileError(
                f"Candidate {candidates['candidate_id'].iloc[i]!r} lists unknown use(s): "
                + ", ".join(unknown)
                + ".",
                fix="Use " + ", ".join(sorted(settings.rules)) + " or add [siting.rules.<use>].",
            )
        uses = [u for u in (listed or settings.uses) if u in settings.uses]
        if not uses:
            rows.append(
                dict(
                    cand=i,
                    use="",
                    places=0,
                    eligible=False,
                    reason="none of its uses is considered ([siting] uses)",
                )
            )
            continue
        for use in uses:
            rules = settings.rules[use]
            b = bedrooms[i]
            if not np.isfinite(b):
                reason, places = "bedrooms not known", 0
            elif not rules.min_bedrooms <= b <= rules.max_bedrooms:
                reason = (
                    f"{use} needs {rules.min_bedrooms}-{rules.max_bedrooms} bedrooms (has {b:g})"
                )
                places = rules.places(int(b))
            else:
                places = rules.places(int(b))
                reason = "" if places > 0 else f"{use} gives no places with {b:g} bedrooms"
            rows.append(dict(cand=i, use=use, places=places, eligible=not reason, reason=reason))
    opts = pd.DataFrame(rows, columns=["cand", "use", "places", "eligible", "reason"])
    opts["cand_reason"] = ["; ".join(cand_reasons[c]) for c in opts["cand"]]
    opts["eligible"] = opts["eligible"] & (opts["cand_reason"] == "")
    return opts.reset_index(drop=True)


def _existing_compat(
    existing: pd.DataFrame | None, dem: _Demand, settings: SitingSettings
) -> np.ndarray:
    """(n_demand, n_existing): whether each existing site can serve each demand row."""
    if existing is None or len(existing) == 0:
        return np.zeros((dem.weight.size, 0), dtype=bool)
    if "site_type" not in existing:
        return np.ones((dem.weight.size, len(existing)), dtype=bool)
    groups = _site_type_groups()
    by_type = {r.site_type: u for u, r in settings.rules.items() if r.site_type}
    cols: dict[str, np.ndarray] = {}
    out = np.ones((dem.weight.size, len(existing)), dtype=bool)
    for e, t in enumerate(existing["site_type"].tolist()):
        t = "" if pd.isna(t) else _norm_token(t)
        if t not in cols:
            if t in by_type:
                cols[t] = dem.compatible(settings.rules[by_type[t]])
            elif t in groups and groups[t]:
                cols[t] = dem.compatible(EligibilityRules(serves_needs=tuple(sorted(groups[t]))))
            else:
                cols[t] = np.ones(dem.weight.size, dtype=bool)
        out[:, e] = cols[t]
    return out


def _within(minutes: np.ndarray, limit: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(minutes) & (minutes <= limit)


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------

SCORE_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "use",
    "places",
    "eligible",
    "ineligible_reason",
    "eligible_uses",
    "rehoming_reachable",
    "rehoming_children",
    "coverage_gain",
    "access_minutes",
    "homes_nearby",
    "rehoming_norm",
    "coverage_norm",
    "access_norm",
    "clustering_norm",
    "total",
    "rank",
)


def score_candidates(
    candidates: pd.DataFrame,
    demand: pd.DataFrame,
    demand_minutes: Any,
    *,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
    population: pd.DataFrame | None = None,
    population_minutes: Any | None = None,
    population_existing_minutes: Any | None = None,
    services_minutes: Any | None = None,
    existing_candidate_minutes: Any | None = None,
    exclusion_zones: Any | None = None,
) -> pd.DataFrame:
    """Score every candidate building, component by component, with eligibility reasons.

    Parameters
    ----------
    candidates : DataFrame
        One row per building: ``candidate_id``, ``easting``, ``northing`` (m, EPSG:27700),
        ``bedrooms``, ``uses`` (list or ';'-separated; empty = every use in ``settings.uses``);
        optional ``condition``, ``cost``, ``tenure``, ``available_from``.
    demand : DataFrame
        Children (or aggregated points), one row per row of ``demand_minutes``: optional
        ``weight``, ``over_20_miles``, ``outside_la``, ``need``, ``age`` (see module docs).
    demand_minutes : array_like, shape (n_demand, n_candidates)
        Minutes from each child's home to each candidate (inf/nan = unreachable).
    settings : SitingSettings, optional
        Thresholds, weights and eligibility rules.
    existing : DataFrame, optional
        Existing sites: ``site_type`` (site_types.csv), ``easting``/``northing`` (for clustering).
    existing_minutes : array_like, shape (n_demand, n_existing), optional
        Minutes from homes to existing sites (for coverage already there).
    population, population_minutes, population_existing_minutes : optional
        A separate demand layer for the coverage component (e.g. LSOA child population with
        ``weight``) and its minute matrices to candidates / existing sites. Default: ``demand``.
    services_minutes : array_like, shape (n_candidates,) or (n_services, n_candidates), optional
        Minutes from each candidate to services (the nearest counts). Absent = no access component.
    existing_candidate_minutes : array_like, shape (n_existing, n_candidates), optional
        Used for clustering instead of metres when ``settings.cluster_minutes > 0``.
    exclusion_zones : GeoDataFrame, optional
        Polygons (optional ``name``, ``buffer_m`` columns) where candidates are ineligible.

    Returns
    -------
    DataFrame
        One row per candidate (input order), columns :data:`SCORE_COLUMNS`: the use scored (the
        eligible use with the best total), places, eligibility and reason, raw components
        (children, weight, minutes, count), normalised components (0-1; NaN if ineligible),
        ``total`` (0-1) and ``rank`` (1 = best, eligible only).

    Notes
    -----
    Normalisation (each in 0-1): re-homing and coverage are divided by their maximum over the
    eligible options (0 if that maximum is 0); access is ``1 - min(t, cap)/cap`` with
    ``cap = access_max_minutes``; clustering is ``min(n, cluster_full_count)/cluster_full_count``
    and counts as ``1 - clustering_norm``. ``total`` is the weighted mean of the benefits over the
    components computed (access needs ``services_minutes``, clustering needs ``existing``).
    """
    settings = settings or SitingSettings()
    opts = _options(candidates, settings, exclusion_zones)
    n_c = len(candidates)
    dem = _demand_arrays(demand, settings)
    t_dem = _check_matrix(demand_minutes, (len(demand), n_c), "demand_minutes")
    reach = _within(t_dem, settings.max_minutes)
    T = settings.max_minutes

    # coverage layer
    if population is not None:
        pop = _demand_arrays(population, settings, what="population")
        if population_minutes is None:
            raise InputFileError("population was given without population_minutes.")
        t_pop = _check_matrix(population_minutes, (len(population), n_c), "population_minutes")
        t_pop_ex = population_existing_minutes
    else:
        pop, t_pop, t_pop_ex = dem, t_dem, existing_minutes
    n_ex = 0 if existing is None else len(existing)
    pop_reach = _within(t_pop, T)
    if n_ex and t_pop_ex is not None:
        t_pe = _check_matrix(
            t_pop_ex,
            (pop.weight.size, n_ex),
            "population_existing_minutes" if population is not None else "existing_minutes",
        )
        within_ex = _within(t_pe, T) & _existing_compat(existing, pop, settings)
    else:
        if n_ex:
            logger.warning(
                "Existing sites given without minutes to them: coverage gain ignores them."
            )
        within_ex = np.zeros((pop.weight.size, 0), dtype=bool)

    def covered_before(rules: EligibilityRules) -> np.ndarray:
        """Coverage layer rows already within T of an existing site *of a kind that serves this
        use* (a foster cluster nearby does not make a small children's home redundant)."""
        if within_ex.shape[1] == 0 or existing is None or "site_type" not in existing:
            return within_ex.any(axis=1) if within_ex.shape[1] else np.zeros(pop.weight.size, bool)
        groups = _site_type_groups()
        serves = set(rules.serves_needs)
        kinds = np.array(
            [
                (not pd.isna(t))
                and (
                    _norm_token(t) == _norm_token(rules.site_type or "")
                    or (not serves)
                    or bool(groups.get(_norm_token(t), set()) & serves)
                )
                for t in existing["site_type"]
            ],
            dtype=bool,
        )
        return within_ex[:, kinds].any(axis=1)

    # per-option raw components
    cand = opts["cand"].to_numpy()
    rehoming_reach = np.zeros(len(opts))
    coverage = np.zeros(len(opts))
    far_need: dict[str, np.ndarray] = {}
    for use in opts["use"].unique():
        if not use:
            continue
        sel = np.flatnonzero(opts["use"].to_numpy() == use)
        cols = cand[sel]
        rules = settings.rules[use]
        far_need[use] = dem.far & dem.compatible(rules)
        wf = dem.weight * far_need[use]
        rehoming_reach[sel] = wf @ reach[:, cols]
        wp = pop.weight * (pop.compatible(rules) & ~covered_before(rules))
        coverage[sel] = wp @ pop_reach[:, cols]
    places = opts["places"].to_numpy(np.float64)
    rehoming = np.minimum(rehoming_reach, places)

    # access (per candidate)
    has_access = services_minutes is not None
    access = np.full(n_c, np.nan)
    if has_access:
        sm = np.asarray(services_minutes, dtype=np.float64)
        if sm.ndim == 1:
            sm = sm[None, :]
        sm = _check_matrix(sm, (sm.shape[0], n_c), "services_minutes")
        with np.errstate(invalid="ignore"):
            sm = np.where(np.isfinite(sm), sm, np.inf)
        access = sm.min(axis=0) if sm.shape[0] else np.full(n_c, np.inf)
    access_norm_c = (
        1.0 - np.minimum(access, settings.access_max_minutes) / settings.access_max_minutes
    )

    # clustering (per candidate)
    has_cluster = n_ex > 0
    nearby = np.zeros(n_c)
    if has_cluster:
        assert existing is not None
        homes = np.ones(n_ex, dtype=bool)
        if "site_type" in existing:
            types = {_norm_token(t) for t in settings.cluster_site_types}
            homes = np.array(
                [not pd.isna(t) and _norm_token(t) in types for t in existing["site_type"]]
            )
        if settings.cluster_minutes > 0 and existing_candidate_minutes is not None:
            tec = _check_matrix(
                existing_candidate_minutes, (n_ex, n_c), "existing_candidate_minutes"
            )
            nearby = _within(tec[homes], settings.cluster_minutes).sum(axis=0).astype(np.float64)
        else:
            if not {"easting", "northing"} <= set(existing.columns):
                raise InputFileError(
                    "Existing sites need easting/northing for the clustering penalty.",
                    fix="Add the columns (EPSG:27700) or set weight_clustering = 0.",
                )
            from scipy.spatial import cKDTree

            exy = existing.loc[homes, ["easting", "northing"]].to_numpy(np.float64)
            exy = exy[np.isfinite(exy).all(axis=1)]
            cxy = (
                candidates[["easting", "northing"]]
                .apply(pd.to_numeric, errors="coerce")
                .to_numpy(np.float64)
            )
            ok = np.isfinite(cxy).all(axis=1)
            if exy.shape[0]:
                cnt = cKDTree(exy).query_ball_point(
                    cxy[ok], r=settings.cluster_radius_m, return_length=True
                )
                nearby[ok] = np.asarray(cnt, dtype=np.float64)
    cluster_norm_c = np.minimum(nearby, settings.cluster_full_count) / settings.cluster_full_count

    # normalise over eligible options and total
    elig = opts["eligible"].to_numpy(bool)

    def _by_best(raw: np.ndarray) -> np.ndarray:
        top = raw[elig].max() if elig.any() else 0.0
        out = raw / top if top > 0 else np.zeros_like(raw)
        return np.where(elig, out, np.nan)

    rehoming_norm = _by_best(rehoming)
    coverage_norm = _by_best(coverage)
    w = settings.weights()
    used = {"rehoming": True, "coverage": True, "access": has_access, "clustering": has_cluster}
    benefit = {
        "rehoming": rehoming_norm,
        "coverage": coverage_norm,
        "access": access_norm_c[cand],
        "clustering": 1.0 - cluster_norm_c[cand],
    }
    wsum = sum(w[c] for c in w if used[c])
    if wsum <= 0:
        raise ConfigError(
            "All score components in use have weight 0.",
            fix="Raise weight_rehoming or weight_coverage (access/clustering need their layers).",
        )
    total = sum(w[c] * benefit[c] for c in w if used[c]) / wsum
    total = np.where(elig, total, np.nan)

    # pick the best option per candidate
    use_rank = {u: i for i, u in enumerate(settings.uses)}
    key = pd.DataFrame(
        {
            "cand": cand,
            "elig": elig,
            "total": np.nan_to_num(total, nan=-1.0),
            "use_order": [use_rank.get(u, len(use_rank)) for u in opts["use"]],
        }
    )
    key = key.sort_values(
        ["cand", "elig", "total", "use_order"], ascending=[True, False, False, True]
    )
    best = key.drop_duplicates("cand").sort_values("cand").index.to_numpy()
    elig_uses = opts[opts["eligible"]].groupby("cand")["use"].agg(";".join)

    reasons = []
    for b in best:
        r = opts.loc[b]
        if r["eligible"]:
            reasons.append("")
            continue
        parts = [r["cand_reason"]] if r["cand_reason"] else []
        use_reasons = opts.loc[
            (opts["cand"] == r["cand"]) & (opts["reason"] != ""), "reason"
        ].tolist()
        parts += use_reasons
        reasons.append("; ".join(p for p in parts if p))
    out = pd.DataFrame(
        {
            "candidate_id": candidates["candidate_id"].to_numpy(),
            "use": opts["use"].to_numpy()[best],
            "places": opts["places"].to_numpy()[best].astype(np.int64),
            "eligible": elig[best],
            "ineligible_reason": reasons,
            "eligible_uses": [elig_uses.get(c, "") for c in range(n_c)],
            "rehoming_reachable": rehoming_reach[best],
            "rehoming_children": rehoming[best],
            "coverage_gain": coverage[best],
            "access_minutes": access,
            "homes_nearby": nearby.astype(np.int64),
            "rehoming_norm": rehoming_norm[best],
            "coverage_norm": coverage_norm[best],
            "access_norm": np.where(elig[best], access_norm_c, np.nan) if has_access else np.nan,
            "clustering_norm": np.where(elig[best], cluster_norm_c, np.nan)
            if has_cluster
            else np.nan,
            "total": total[best],
        }
    )
    out["rank"] = out["total"].rank(ascending=False, method="min").astype("Int64")
    # which demand rows each candidate's re-homing count counts (for linked disclosure control)
    members = []
    for b in best:
        use = opts["use"].to_numpy()[b]
        col = int(cand[b])
        rows = far_need.get(use)
        members.append(
            np.flatnonzero(rows & reach[:, col]) if rows is not None else np.zeros(0, np.int64)
        )
    out.attrs["rehoming_members"] = members
    logger.info(
        "Scored %d candidates (%d eligible) against %d demand rows at %g min.",
        n_c,
        int(out["eligible"].sum()),
        len(demand),
        T,
    )
    return out[list(SCORE_COLUMNS)]


# ---------------------------------------------------------------------------------------------
# Selection wrappers and scenario comparison
# ---------------------------------------------------------------------------------------------


def _site_xy(df: pd.DataFrame | None) -> np.ndarray:
    if df is None or not {"easting", "northing"} <= set(df.columns):
        return np.full((0 if df is None else len(df), 2), np.nan)
    return df[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)


def select_sites(
    candidates: pd.DataFrame,
    demand: pd.DataFrame,
    demand_minutes: Any,
    *,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
    exclusion_zones: Any | None = None,
    k: int | None = None,
    target: float | None = None,
    capacitated: bool | None = None,
    prefer: Mapping[Any, float] | None = None,
) -> Selection:
    """Choose the best set of candidate buildings together (exact MILP, HiGHS).

    Maximises the number of children placed far away (``settings.far_rule``) who could be placed
    within ``settings.max_minutes`` of home in a site that serves their need and age, each child
    counted once and each site holding at most its places (``capacitated``) - or, uncapacitated,
    the children within reach of any open site (MCLP). Each building opens for at most one use.
    Existing sites stay open: their ``vacancies`` column (default 0) is their capacity.

    Parameters
    ----------
    candidates, demand, demand_minutes, existing, existing_minutes, exclusion_zones
        As for :func:`score_candidates` (``existing_minutes`` has shape (n_demand, n_existing)).
    settings : SitingSettings, optional
        ``k``, ``target``, ``capacitated``, ``mip_rel_gap``, ``time_limit_s`` and the rules.
    k, target, capacitated : optional
        Override the settings. A ``target`` (children, > 0) picks the fewest sites reaching it.
    prefer : mapping, optional
        Candidate id -> tie-break value (e.g. the total score from :func:`score_candidates`):
        among sets reaching the same optimum, buildings with higher values are chosen.

    Returns
    -------
    Selection
        As :func:`from_cost_matrix`, with ``chosen_ids`` the candidate ids and ``sites`` a table
        (``order``, ``candidate_id``, ``use``, ``places``, ``children_assigned``,
        ``addition_gain``, ``marginal_gain``). ``allocation`` rows follow ``demand``; its columns
        are the eligible (candidate, use) options then the existing sites (``columns`` table in
        ``selection.sites.attrs["columns"]``).
    """
    settings = settings or SitingSettings()
    opts = _options(candidates, settings, exclusion_zones)
    opts = opts[opts["eligible"]].reset_index(drop=True)
    n_c = len(candidates)
    dem = _demand_arrays(demand, settings)
    t_dem = _check_matrix(demand_minutes, (len(demand), n_c), "demand_minutes")
    n_ex = 0 if existing is None else len(existing)
    cap_mode = settings.capacitated if capacitated is None else capacitated
    if target is None and k is None:
        if settings.target > 0:
            target = settings.target
        else:
            k = settings.k
    far = np.flatnonzero(dem.far & (dem.weight > 0))
    cols_cost = [t_dem[np.ix_(far, opts["cand"].to_numpy())]]
    compat = np.zeros((far.size, len(opts)), dtype=bool)
    for use in opts["use"].unique():
        which = np.flatnonzero(opts["use"].to_numpy() == use)
        compat[:, which] = dem.compatible(settings.rules[use])[far, None]
    caps = [opts["places"].to_numpy(np.float64)]
    fixed = [np.zeros(len(opts), dtype=bool)]
    excl = [opts["cand"].to_numpy(np.int64)]
    compat_all = [compat]
    if n_ex:
        assert existing is not None
        if existing_minutes is None:
            raise InputFileError(
                "Existing sites were given without existing_minutes.",
                fix="Pass the minutes from each child's home to each existing site.",
            )
        t_ex = _check_matrix(existing_minutes, (len(demand), n_ex), "existing_minutes")
        cols_cost.append(t_ex[far])
        compat_all.append(_existing_compat(existing, dem, settings)[far])
        if "vacancies" in existing:
            vac = (
                pd.to_numeric(existing["vacancies"], errors="coerce")
                .fillna(0.0)
                .to_numpy(np.float64)
            )
        else:
            vac = np.zeros(n_ex)
        caps.append(vac)
        fixed.append(np.ones(n_ex, dtype=bool))
        excl.append(np.full(n_ex, -1, dtype=np.int64))
    cost = np.hstack(cols_cost) if far.size else np.zeros((0, sum(c.shape[1] for c in cols_cost)))
    sel = from_cost_matrix(
        cost,
        max_minutes=settings.max_minutes,
        k=k,
        target=target,
        weights=dem.weight[far],
        capacities=np.concatenate(caps),
        fixed=np.concatenate(fixed),
        compatible=np.hstack(compat_all),
        exclusive=np.concatenate(excl),
        capacitated=cap_mode,
        mip_rel_gap=settings.mip_rel_gap,
        time_limit_s=settings.time_limit_s,
        prefer=None
        if prefer is None
        else np.concatenate(
            [
                np.array(
                    [
                        float(prefer.get(c, -np.inf))
                        for c in candidates["candidate_id"].to_numpy()[opts["cand"].to_numpy(np.int64)]
                    ]
                ),
                np.full(n_ex, -np.inf),
            ]
        ),
    )
    ids = candidates["candidate_id"].to_numpy()
    n_opt = len(opts)
    columns = pd.DataFrame(
        {
            "kind": ["candidate"] * n_opt + ["existing"] * n_ex,
            "row": np.concatenate([opts["cand"].to_numpy(np.int64), np.arange(n_ex)]),
            "candidate_id": np.concatenate(
                [ids[opts["cand"].to_numpy(np.int64)], np.full(n_ex, None)]
            ),
            "use": np.concatenate([opts["use"].to_numpy(object), np.full(n_ex, None)]),
            "places": np.concatenate(caps),
        }
    )
    chosen = sel.chosen
    sites = pd.DataFrame(
        {
            "order": np.arange(1, chosen.size + 1),
            "candidate_id": columns["candidate_id"].to_numpy()[chosen],
            "use": columns["use"].to_numpy()[chosen],
            "places": columns["places"].to_numpy()[chosen].astype(np.int64),
            "children_assigned": sel.site_load[chosen],
            "addition_gain": sel.addition_gain,
            "marginal_gain": sel.marginal_gain,
        }
    )
    sites.attrs["columns"] = columns
    # expand child-level allocation to every demand row (non-far rows are never assigned)
    alloc = sel.allocation.tocoo()
    allocation = sp.csr_matrix(
        (alloc.data, (far[alloc.row], alloc.col)), shape=(len(demand), alloc.shape[1])
    )
    fixed_allocation = None
    if sel.fixed_allocation is not None:
        fa = sel.fixed_allocation.tocoo()
        fixed_allocation = sp.csr_matrix(
            (fa.data, (far[fa.row], fa.col)), shape=(len(demand), fa.shape[1])
        )
    assignment = np.full(len(demand), -1, dtype=np.int64)
    assignment[far] = sel.assignment
    logger.info(
        "Selected %d site(s): %s children could come home (%s before), HiGHS %s, greedy gap %.2f%%.",
        chosen.size,
        f"{sel.objective:g}",
        f"{sel.fixed_objective:g}",
        sel.status,
        100 * sel.greedy_gap,
    )
    return dataclasses.replace(
        sel,
        chosen_ids=tuple(sites["candidate_id"].tolist()),
        sites=sites,
        allocation=allocation,
        fixed_allocation=fixed_allocation,
        assignment=assignment,
    )


def from_geodataframe(
    demand: Any,
    sites: Any,
    *,
    max_minutes: float,
    k: int | None = None,
    target: float | None = None,
    cost_minutes: Any | None = None,
    speed_kph: float = CROW_FLY_SPEED_KPH,
    weight_col: str | None = None,
    capacity_col: str | None = None,
    fixed_col: str | None = None,
    capacitated: bool | None = None,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
) -> Selection:
    """:func:`from_cost_matrix` on GeoDataFrames of demand points and sites (spopt-style).

    Parameters
    ----------
    demand, sites : GeoDataFrame
        Points (other geometries use their representative point); reprojected to EPSG:27700.
    max_minutes, k, target, capacitated, mip_rel_gap, time_limit_s
        As for :func:`from_cost_matrix`.
    cost_minutes : array_like, shape (n_demand, n_sites), optional
        Road minutes (e.g. ``geosuff.traveltime.od_matrix``). Default: straight line at
        ``speed_kph``, a stand-in only.
    weight_col, capacity_col, fixed_col : str, optional
        Demand weight, site places and existing-site (bool) columns.

    Returns
    -------
    Selection
        With ``chosen_ids`` taken from ``sites.index``.
    """
    if cost_minutes is None:
        cost_minutes = straight_line_minutes(
            _points_xy(demand), _points_xy(sites), speed_kph=speed_kph
        )
    sel = from_cost_matrix(
        cost_minutes,
        max_minutes=max_minutes,
        k=k,
        target=target,
        weights=None if weight_col is None else demand[weight_col].to_numpy(np.float64),
        capacities=None if capacity_col is None else sites[capacity_col].to_numpy(np.float64),
        fixed=None if fixed_col is None else sites[fixed_col].to_numpy(bool),
        capacitated=capacitated,
        mip_rel_gap=mip_rel_gap,
        time_limit_s=time_limit_s,
    )
    return dataclasses.replace(sel, chosen_ids=tuple(sites.index.to_numpy()[sel.chosen].tolist()))


def _points_xy(gdf: Any) -> np.ndarray:
    """(n, 2) BNG coordinates of a GeoDataFrame's points."""
    if gdf.crs is not None and not gdf.crs.equals("EPSG:27700"):
        gdf = gdf.to_crs("EPSG:27700")
    geom = gdf.geometry
    if not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])


def dfe_miles(distance_m: Any) -> np.ndarray:
    """DfE placement distance in miles: ``round(d_m / 1000 / 1.6093, 1)``."""
    return np.round(np.asarray(distance_m, dtype=np.float64) / 1000.0 / DFE_KM_PER_MILE, 1)


#: Start of the before/after indicator of children placed far away who could come home (the
#: selection's objective); :mod:`geosuff.publish` keeps it as a headline figure.
COME_HOME_LABEL = "Placed far who could come home"


def scenario_masks(
    demand: pd.DataFrame,
    selection: Selection,
    *,
    candidates: pd.DataFrame,
    demand_minutes: Any,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Which demand rows each before/after indicator of :func:`scenario_table` counts.

    Child-level (for disclosure control of the published table): never publish these arrays.

    Returns
    -------
    dict
        Indicator label -> (before, after) boolean arrays over the rows of ``demand``.
        "Placed ... miles or less": before, rows with ``within_20_miles`` true (else
        ``over_20_miles`` known to be false); after, those that stay plus the re-homed whose new
        straight-line distance is within the line. "Placed inside the council": ``inside_la``
        true (else ``outside_la`` known false), plus the re-homed to a site inside. "Home within T
        min of a suitable site": uncapacitated reach by existing sites, then with the chosen ones.
        "Placed far who could come home ...": rows the selection assigns (fixed sites alone for
        before).
    """
    settings = settings or SitingSettings()
    if selection.sites is None:
        raise InputFileError("scenario_table needs a Selection from select_sites.")
    columns: pd.DataFrame = selection.sites.attrs["columns"]
    dem = _demand_arrays(demand, settings)
    w = dem.weight
    n = w.size
    T = settings.max_minutes
    alloc = selection.allocation.tocsr()
    moved = np.asarray(alloc.sum(axis=1)).reshape(-1) > 0.5 * np.maximum(w, 1e-9)
    assigned = np.where(
        alloc.getnnz(axis=1) > 0, np.asarray(alloc.argmax(axis=1)).reshape(-1), -1
    )
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "Children in scope": (w > 0, w > 0)
    }

    # site coordinates and inside-LA flag per allocation column
    cand_xy = _site_xy(candidates)
    ex_xy = _site_xy(existing)
    kind = columns["kind"].to_numpy()
    idx = columns["row"].to_numpy(np.int64)
    col_xy = np.full((len(columns), 2), np.nan)
    for which, xy in (("candidate", cand_xy), ("existing", ex_xy)):
        m = kind == which
        col_xy[m] = xy[idx[m]]

    def _inside(df: pd.DataFrame | None, which: str) -> np.ndarray:
        m = kind == which
        res = np.ones(int(m.sum()), dtype=bool)
        if df is not None and "inside_la" in df:
            flags = _bool_column(df, "inside_la")
            res = np.nan_to_num(flags[idx[m]], nan=1.0) > 0
        return res

    col_inside = np.ones(len(columns), dtype=bool)
    col_inside[kind == "candidate"] = _inside(candidates, "candidate")
    col_inside[kind == "existing"] = _inside(existing, "existing")
    rows = np.flatnonzero(moved & (assigned >= 0))

    def _known(name: str, fallback: str) -> np.ndarray | None:
        if name in demand:
            return np.nan_to_num(_bool_column(demand, name), nan=0.0) > 0
        if fallback in demand:
            return np.nan_to_num(_bool_column(demand, fallback), nan=1.0) == 0
        return None

    within = _known("within_20_miles", "over_20_miles")
    if within is not None and {"easting", "northing"} <= set(demand.columns):
        home = _site_xy(demand)
        d = np.hypot(*(home[rows] - col_xy[assigned[rows]]).T)
        after = within & ~moved
        after[rows[dfe_miles(d) <= settings.far_miles]] = True
        out[f"Placed {settings.far_miles:g} miles or less from home"] = (within, after)
    inside = _known("inside_la", "outside_la")
    if inside is not None:
        after = inside & ~moved
        after[rows[col_inside[assigned[rows]]]] = True
        out["Placed inside the council"] = (inside, after)

    # within T of a suitable site (uncapacitated reach), all demand rows
    t_dem = _check_matrix(demand_minutes, (n, len(candidates)), "demand_minutes")
    n_ex = 0 if existing is None else len(existing)
    covered = np.zeros(n, dtype=bool)
    if n_ex and existing_minutes is not None:
        t_ex = _check_matrix(existing_minutes, (n, n_ex), "existing_minutes")
        covered = (_within(t_ex, T) & _existing_compat(existing, dem, settings)).any(axis=1)
    after_cov = covered.copy()
    for cid, use in zip(selection.sites["candidate_id"], selection.sites["use"], strict=True):
        j = int(np.flatnonzero(candidates["candidate_id"].to_numpy() == cid)[0])
        after_cov |= _within(t_dem[:, j], T) & dem.compatible(settings.rules[use])
    out[f"Home within {T:g} min of a suitable site"] = (covered, after_cov)
    fixed = selection.fixed_allocation
    before_far = (
        np.asarray(fixed.tocsr().sum(axis=1)).reshape(-1) > 0.5 * np.maximum(w, 1e-9)
        if fixed is not None
        else np.zeros(n, dtype=bool)
    )
    label = f"{COME_HOME_LABEL} within {T:g} min" + (
        " (within places)" if selection.capacitated else ""
    )
    out[label] = (before_far, moved)
    return out


def scenario_table(
    demand: pd.DataFrame,
    selection: Selection,
    *,
    candidates: pd.DataFrame,
    demand_minutes: Any,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
) -> pd.DataFrame:
    """Indicators before and after opening the selected sites, as a table.

    Re-homed children are those the selection assigns (capacity-limited). Their new distance is
    the DfE straight-line measure from home (demand ``easting``/``northing``) to the site; new
    sites are inside the council unless the candidate has ``inside_la`` false. Children whose
    distance (or placement LA) is not known count as neither within the line nor inside.

    Parameters
    ----------
    demand : DataFrame
        As for :func:`select_sites` (same rows); ``within_20_miles`` / ``inside_la`` (or
        ``over_20_miles`` / ``outside_la``) give the "before" state, ``easting``/``northing``
        the home (for the after-distance).
    selection : Selection
        From :func:`select_sites` on the same inputs.
    candidates, demand_minutes, settings, existing, existing_minutes
        As for :func:`select_sites`.

    Returns
    -------
    DataFrame
        Columns ``indicator``, ``before``, ``after``, ``change`` (children, weighted), counted
        from :func:`scenario_masks`, plus "Places in new sites". Aggregate counts only: apply
        the disclosure rules before publishing small numbers (:mod:`geosuff.publish`).
    """
    settings = settings or SitingSettings()
    masks = scenario_masks(
        demand,
        selection,
        candidates=candidates,
        demand_minutes=demand_minutes,
        settings=settings,
        existing=existing,
        existing_minutes=existing_minutes,
    )
    w = _demand_arrays(demand, settings).weight
    rows: list[tuple[str, float, float]] = [
        (label, float(w[b].sum()), float(w[a].sum())) for label, (b, a) in masks.items()
    ]
    assert selection.sites is not None
    new_places = float(selection.sites["places"].sum())
    rows.append(("Places in new sites", 0.0, new_places))
    table = pd.DataFrame(rows, columns=["indicator", "before", "after"])
    table["change"] = table["after"] - table["before"]
    return table
