"""Joint siting for a consortium of councils (issue #14, regions).

Several councils pool their candidate properties and choose the best ``k`` of them together for
the children of the whole region placed far, with the region's existing sites (and their spare
places) open. The objective and solver are those of the single-council selection
(:func:`geosuff.siting.core.from_cost_matrix`: capacitated coverage, greedy + swap MIP start,
HiGHS); this module adds the councils: who owns each chosen property, and whose children it
serves.

Two figures per chosen property and council, never mixed:

* ``gain_by_council``: the children of each council who could come home *because* the property
  was added (in the order of addition, with today's spare places and the properties chosen
  before it open). The served set only grows from one step to the next (each step's allocation
  keeps every child served at the step before), so every split is >= 0, a property's split sums
  to its addition gain, and all of them sum to the total gain. Where today's spare places could
  go to either of two councils' children, the split follows the assignment HiGHS finds for
  today (the total does not depend on it).
* ``new_sites_serve``: the children of each council the property takes when the new sites alone
  are open (today's spare places left as they are): the selection's ``new_allocation``. A
  property never serves more than its places (capacitated), so the per-council effect of the new
  sites alone never exceeds the places they add.

Child-level arrays (allocations) and small per-council counts are for disclosure control only:
publish through the disclosure ledger.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geosuff._errors import ConfigError, InputFileError
from geosuff.config.siting import SitingSettings
from geosuff.siting.core import (
    Selection,
    _build_model,
    _evaluate,
    _model_args,
    _prepare,
    _Problem,
    _solve_highs,
    from_cost_matrix,
)
from geosuff.siting.demand import (
    _check_matrix,
    _Demand,
    _demand_arrays,
    _existing_compat,
    _options,
    straight_line_minutes,
)

logger = logging.getLogger(__name__)

#: Tolerance (share of a demand group's weight) when carrying a step's served shares to the next.
_SHARE_TOL = 1e-9
#: Decimals the per-council counts (children) are rounded to, above the LP's tolerances.
_DECIMALS = 6


@dataclass(frozen=True, eq=False)
class JointSelection:
    """The best ``k`` properties of several councils chosen together.

    Candidate indices refer to the candidate columns given to :func:`joint_from_cost_matrix`
    (existing sites not counted). Weights are children (demand units).

    Attributes
    ----------
    chosen : ndarray of int, shape (k,)
        Candidate columns chosen, in order of addition (each added where it gains most).
    owner : ndarray of int, shape (k,)
        Council index owning each chosen property.
    places : ndarray of float, shape (k,)
        Places of each chosen property (``inf`` uncapacitated).
    gain : float
        Children who could come home with the chosen properties and not today: ``objective -
        before`` of the region (existing sites' spare places open in both).
    addition_gain : ndarray of float, shape (k,)
        Gain of each chosen property when added in the order of ``chosen``.
    marginal_gain : ndarray of float, shape (k,)
        Leave-one-out loss of each chosen property.
    gain_by_council : ndarray of float, shape (k, n_councils)
        Each chosen property's addition gain split by the council of the children it brings home;
        rows sum to ``addition_gain``, the whole to ``gain``; never negative.
    before_by_council, after_by_council : ndarray of float, shape (n_councils,)
        Children of each council who could come home today (spare places) and with the chosen
        properties too; ``after - before`` is ``gain_by_council.sum(axis=0)``.
    new_sites_serve : ndarray of float, shape (k, n_councils)
        Children of each council each chosen property takes with the new sites alone open
        (``selection.new_allocation``); capacitated, a row never exceeds the property's places.
    new_sites_effect : ndarray of float, shape (n_councils,)
        ``new_sites_serve.sum(axis=0)``: the effect of the new sites alone per council (never
        more, summed, than the places they add).
    selection : Selection
        The underlying selection over all columns (candidates, then existing sites): objective,
        bound, HiGHS status and gap, greedy comparison, allocations (child-level: never publish).
    councils : tuple of str
        Council codes by index (wrappers; ``("0", "1", ...)`` for the array core).
    sites : DataFrame or None
        One row per chosen property (wrappers only): see :func:`joint_siting_table`.
    demand_rows : ndarray of int or None
        Wrappers: the position, in the councils' demand tables stacked in order, of each demand
        row of ``selection`` (the children placed far).
    """

    chosen: np.ndarray
    owner: np.ndarray
    places: np.ndarray
    gain: float
    addition_gain: np.ndarray
    marginal_gain: np.ndarray
    gain_by_council: np.ndarray
    before_by_council: np.ndarray
    after_by_council: np.ndarray
    new_sites_serve: np.ndarray
    new_sites_effect: np.ndarray
    selection: Selection
    councils: tuple[str, ...] = ()
    sites: pd.DataFrame | None = None
    demand_rows: np.ndarray | None = None

    @property
    def n_councils(self) -> int:
        """Number of councils."""
        return int(self.gain_by_council.shape[1])

    @property
    def optimal(self) -> bool:
        """Whether HiGHS proved the joint choice optimal."""
        return self.selection.optimal

    @property
    def objective(self) -> float:
        """Children of the region who could come home with the chosen properties (incl. today's
        spare places).
        """
        return self.selection.objective


def _council_index(values: Any, n: int, name: str, n_councils: int | None) -> np.ndarray:
    arr = np.asarray(values).reshape(-1)
    if (
        arr.shape != (n,)
        or not np.issubdtype(arr.dtype, np.integer)
        or (arr.size and arr.min() < 0)
    ):
        raise InputFileError(
            f"{name} must give one council index (whole number >= 0) for each of the {n} rows.",
            fix="Number the councils 0, 1, ... and give each row its council's number.",
        )
    if n_councils is not None and arr.size and arr.max() >= n_councils:
        raise InputFileError(f"{name} has council index {arr.max()} but n_councils={n_councils}.")
    return arr.astype(np.int64)


def _by_council_groups(
    prob: _Problem, row_weight: np.ndarray, demand_council: np.ndarray, n_councils: int
) -> tuple[_Problem, np.ndarray]:
    """``prob`` with each demand group split by council (same model, council-pure groups).

    Returns the refined problem and the council of each of its groups.
    """
    rows = np.flatnonzero(prob.group_of >= 0)
    key = prob.group_of[rows] * n_councils + demand_council[rows]
    uniq, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    group_of = np.full(prob.group_of.size, -1, dtype=np.int64)
    group_of[rows] = inverse
    weight = np.bincount(inverse, weights=row_weight[rows], minlength=uniq.size)
    cover = sp.csc_matrix(prob.cover.tocsr()[uniq // n_councils])
    refined = dataclasses.replace(prob, cover=cover, weight=weight, group_of=group_of)
    return refined, (uniq % n_councils).astype(np.int64)


def _served_steps(
    prob: _Problem, order: np.ndarray, group_council: np.ndarray, n_councils: int
) -> np.ndarray:
    """Children served per council with the fixed columns and each prefix of ``order`` open.

    Returns an array (len(order) + 1, n_councils): row 0 the fixed columns alone. Capacitated,
    each step is the single-council transportation LP (:func:`_build_model` with the columns
    fixed open, as :func:`_evaluate`) with each group's served share held at least at the step
    before's, so the served set only grows (a maximum assignment can always keep everyone it
    served: augmenting paths never unassign a child) and the total equals :func:`_evaluate`'s.
    """
    ng, n_col = prob.cover.shape
    out = np.zeros((order.size + 1, n_councils))
    fixed_cols = np.flatnonzero(prob.fixed)
    if not prob.capacitated:
        covered = np.asarray(prob.cover[:, fixed_cols].sum(axis=1)).reshape(-1) > 0
        out[0] = np.bincount(group_council, weights=prob.weight * covered, minlength=n_councils)
        for i, j in enumerate(order):
            covered |= prob.cover[:, [int(j)]].toarray().reshape(-1) > 0
            out[i + 1] = np.bincount(
                group_council, weights=prob.weight * covered, minlength=n_councils
            )
        return out
    open_prob = dataclasses.replace(prob, fixed=np.ones(n_col, bool), exclusive=np.full(n_col, -1))
    share = np.zeros(ng)
    for i in range(order.size + 1):
        cols = np.union1d(fixed_cols, order[:i]).astype(np.int64)
        if cols.size == 0 or ng == 0:
            continue
        m = _build_model(open_prob, k=0, target=None, cols=cols)
        args = _model_args(m)
        lower = np.array(args["row_lower"], dtype=np.float64)
        held = share > _SHARE_TOL
        # the first ng rows of the model are the demand rows sum_j z_gj <= 1
        lower[:ng][held] = np.maximum(share[held] - _SHARE_TOL, 0.0)
        status, x, obj, *_ = _solve_highs(**{**args, "row_lower": lower, "n_int": 0})
        if status != "Optimal":  # pragma: no cover - feasible: the previous shares fit
            logger.warning("Nested evaluation %s at step %d; using a fresh assignment.", status, i)
            _, flows = _evaluate(prob, cols)
            served = np.asarray(flows.sum(axis=1)).reshape(-1)
            share = np.divide(served, prob.weight, out=np.zeros(ng), where=prob.weight > 0)
        else:
            coo = prob.cover[:, cols].tocoo()
            share = np.bincount(coo.row, weights=x[cols.size :], minlength=ng)
        out[i] = np.bincount(group_council, weights=prob.weight * share, minlength=n_councils)
    return out


def _stack_existing(
    cost: np.ndarray,
    capacities: Any,
    existing_minutes: Any,
    existing_places: Any,
    compatible: Any,
    exclusive: Any,
    prefer: Any,
) -> dict[str, Any]:
    """The single-selection arrays: candidate columns, then the existing sites as fixed columns."""
    n_dem, n_cand = cost.shape
    if existing_minutes is None:
        t_ex = np.zeros((n_dem, 0))
    else:
        t_ex = _check_matrix(
            existing_minutes, (n_dem, np.shape(existing_minutes)[-1]), "existing_minutes"
        )
    n_ex = t_ex.shape[1]
    cap_c = np.full(n_cand, np.inf) if capacities is None else np.asarray(capacities, np.float64)
    if cap_c.shape != (n_cand,):
        raise InputFileError(f"capacities must give the places of each of the {n_cand} candidates.")
    cap_e = np.zeros(n_ex) if existing_places is None else np.asarray(existing_places, np.float64)
    if cap_e.shape != (n_ex,):
        raise InputFileError(
            f"existing_places must give the spare places of each of the {n_ex} existing sites."
        )
    excl = (
        np.full(n_cand, -1, dtype=np.int64)
        if exclusive is None
        else np.asarray(exclusive, dtype=np.int64).reshape(-1)
    )
    if excl.shape != (n_cand,):
        raise InputFileError(f"exclusive must give one group id per candidate ({n_cand}).")
    pref = None
    if prefer is not None:
        p = np.asarray(prefer, dtype=np.float64).reshape(-1)
        if p.shape != (n_cand,):
            raise InputFileError(f"prefer must give one value per candidate ({n_cand}).")
        pref = np.concatenate([p, np.full(n_ex, -np.inf)])
    return {
        "cost_minutes": np.hstack([cost, t_ex]),
        "capacities": np.concatenate([cap_c, cap_e]),
        "fixed": np.concatenate([np.zeros(n_cand, bool), np.ones(n_ex, bool)]),
        "compatible": compatible,
        "exclusive": np.concatenate([excl, np.full(n_ex, -1, dtype=np.int64)]),
        "prefer": pref,
    }


def joint_from_cost_matrix(
    cost_minutes: Any,
    *,
    max_minutes: float,
    k: int,
    candidate_council: Any,
    demand_council: Any,
    n_councils: int | None = None,
    weights: Any | None = None,
    capacities: Any | None = None,
    existing_minutes: Any | None = None,
    existing_places: Any | None = None,
    compatible: Any | None = None,
    exclusive: Any | None = None,
    capacitated: bool | None = None,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
    prefer: Any | None = None,
) -> JointSelection:
    """Choose the best ``k`` of several councils' candidates together (array core).

    The objective and solver are :func:`geosuff.siting.core.from_cost_matrix`'s (the children
    placed far who could be placed within ``max_minutes`` of home, each once, each site at most
    its places; HiGHS with the greedy + swap answer as MIP start), over every council's
    candidates and children at once, the region's existing sites open with their spare places.

    Parameters
    ----------
    cost_minutes : array_like, shape (n_demand, n_candidates)
        Minutes from each demand point (a far-placed child's home, any council) to each candidate
        (any council). ``inf``/``nan`` = unreachable.
    max_minutes : float
        A site serves a home within this many minutes (inclusive).
    k : int
        Number of candidates to choose, all councils together.
    candidate_council, demand_council : array_like of int, shapes (n_candidates,), (n_demand,)
        Council index (0, 1, ...) owning each candidate / of each demand point.
    n_councils : int, optional
        Number of councils (default: the largest index + 1).
    weights : array_like, shape (n_demand,), optional
        Children at each demand point (default 1).
    capacities : array_like, shape (n_candidates,), optional
        Places of each candidate (default unlimited).
    existing_minutes : array_like, shape (n_demand, n_existing), optional
        Minutes to the region's existing sites (fixed open, not counted in ``k``).
    existing_places : array_like, shape (n_existing,), optional
        Spare places of each existing site (default 0).
    compatible : array_like of bool, shape (n_demand, n_candidates + n_existing), optional
        False where a site cannot serve a child (need or age), candidates then existing sites.
    exclusive : array_like of int, shape (n_candidates,), optional
        Candidates sharing an id >= 0 are alternatives (one building, several uses).
    capacitated : bool, optional
        Enforce places (default: whether ``capacities`` was given).
    mip_rel_gap, time_limit_s, prefer
        As for :func:`~geosuff.siting.core.from_cost_matrix` (``prefer`` one value per candidate).

    Returns
    -------
    JointSelection
        The chosen candidates, total gain, each one's gain split by council, the effect of the
        new sites alone per council, and the underlying :class:`Selection` (status, bound, gap).
    """
    cost = np.asarray(cost_minutes, dtype=np.float64)
    if cost.ndim != 2:
        raise InputFileError(
            f"cost_minutes must be a 2-D (demand x candidates) array, got shape {cost.shape}."
        )
    if isinstance(k, bool) or int(k) != k or k < 0:
        raise ConfigError(f"k must be a whole number >= 0 (got {k!r}).")
    n_dem, n_cand = cost.shape
    if n_cand == 0:
        raise InputFileError(
            "Joint siting has no candidate property to choose from.",
            fix="Give at least one eligible candidate of one council.",
        )
    cand_c = _council_index(candidate_council, n_cand, "candidate_council", n_councils)
    dem_c = _council_index(demand_council, n_dem, "demand_council", n_councils)
    if n_councils is None:
        n_councils = int(max(cand_c.max(initial=-1), dem_c.max(initial=-1)) + 1) or 1
    if capacitated is None:
        capacitated = capacities is not None
    args = _stack_existing(
        cost, capacities, existing_minutes, existing_places, compatible, exclusive, prefer
    )
    sel = from_cost_matrix(
        max_minutes=max_minutes,
        k=int(k),
        weights=weights,
        capacitated=capacitated,
        mip_rel_gap=mip_rel_gap,
        time_limit_s=time_limit_s,
        **args,
    )
    prob = _prepare(
        args["cost_minutes"],
        max_minutes=max_minutes,
        weights=weights,
        capacities=args["capacities"],
        fixed=args["fixed"],
        compatible=args["compatible"],
        exclusive=args["exclusive"],
        capacitated=capacitated,
    )
    w = np.ones(n_dem) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    refined, group_council = _by_council_groups(prob, w, dem_c, n_councils)
    # LP solutions carry the solver's tolerances (~1e-7): round to the micro-child
    served = np.round(_served_steps(refined, sel.chosen, group_council, n_councils), _DECIMALS)
    gain_by = np.maximum(np.diff(served, axis=0), 0.0)
    total = sel.objective - sel.fixed_objective
    if abs(served[-1].sum() - sel.objective) > 1e-6 * max(1.0, sel.objective):
        logger.warning(
            "Joint split: %.6f children after, the selection %.6f.", served[-1].sum(), sel.objective
        )
    new_alloc = (
        sp.csc_matrix((n_dem, n_cand)) if sel.new_allocation is None else sel.new_allocation.tocsc()
    )
    serve = np.zeros((sel.chosen.size, n_councils))
    for i, j in enumerate(sel.chosen):
        lo, hi = new_alloc.indptr[j], new_alloc.indptr[j + 1]
        serve[i] = np.bincount(
            dem_c[new_alloc.indices[lo:hi]], weights=new_alloc.data[lo:hi], minlength=n_councils
        )
    cap = args["capacities"] if capacitated else np.full(args["capacities"].size, np.inf)
    return JointSelection(
        chosen=sel.chosen,
        owner=cand_c[sel.chosen],
        places=np.asarray(cap, dtype=np.float64)[sel.chosen],
        gain=float(total),
        addition_gain=sel.addition_gain,
        marginal_gain=sel.marginal_gain,
        gain_by_council=gain_by,
        before_by_council=served[0],
        after_by_council=served[-1],
        new_sites_serve=np.round(serve, _DECIMALS),
        new_sites_effect=np.round(serve.sum(axis=0), _DECIMALS),
        selection=sel,
        councils=tuple(str(i) for i in range(n_councils)),
    )


# ---------------------------------------------------------------------------------------------
# DataFrame wrapper: the per-council tables the single-council siting stage builds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CouncilSiting:
    """One council's siting tables, as :func:`geosuff.pipeline.siting_stage` builds them.

    Attributes
    ----------
    council : str
        The council's code (e.g. ``"E06000047"``).
    candidates : DataFrame
        Its candidate properties (``candidate_id``, ``easting``, ``northing``, ``bedrooms``,
        ``uses``, ...), as for :func:`geosuff.siting.select_sites`.
    demand : DataFrame
        Its children (``weight``, ``over_20_miles``, ``outside_la``, ``need``, ``age``,
        ``easting``, ``northing``), as for :func:`~geosuff.siting.select_sites`.
    existing : DataFrame, optional
        Its existing sites (``site_type``, ``vacancies``, ``easting``, ``northing``).
    prefer : mapping, optional
        Candidate id -> tie-break value (the score ``total``).
    exclusion_zones : GeoDataFrame, optional
        The council's own exclusion zones (``name``, ``buffer_m``), applied to its candidates
        together with the region's.
    """

    council: str
    candidates: pd.DataFrame
    demand: pd.DataFrame
    existing: pd.DataFrame | None = None
    prefer: Mapping[Any, float] | None = None
    exclusion_zones: Any | None = None


#: ``minutes(origins_xy, destinations_xy) -> (n, m) minutes`` (BNG metres in, minutes out).
MinutesFunction = Callable[[np.ndarray, np.ndarray], Any]


def _xy(df: pd.DataFrame | None, what: str) -> np.ndarray:
    if df is None or len(df) == 0:
        return np.zeros((0, 2))
    if not {"easting", "northing"} <= set(df.columns):
        raise InputFileError(
            f"The {what} table has no easting/northing columns to compute travel times from.",
            fix="Give easting and northing (EPSG:27700), or pass the minutes matrices.",
        )
    result: np.ndarray = (
        df[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    )
    return result


def _check_councils(councils: Sequence[CouncilSiting]) -> None:
    if not councils:
        raise ConfigError("Joint siting needs at least one council.")
    codes = [c.council for c in councils]
    if any(not str(c).strip() for c in codes) or len(set(codes)) != len(codes):
        raise ConfigError(
            "Each council of a joint siting needs its own code (got "
            + ", ".join(map(repr, codes))
            + ").",
            fix="Give every council its LA code once.",
        )


def _zones(own: Any, region: Any) -> Any:
    """A council's exclusion zones and the region's together (either may be None)."""
    parts = [z for z in (own, region) if z is not None and len(z)]
    if len(parts) < 2:
        return parts[0] if parts else None
    import geopandas as gpd

    frames = [
        z if isinstance(z, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=gpd.GeoSeries(z))
        for z in parts
    ]
    crs = next((f.crs for f in frames if f.crs is not None), None)
    if crs is not None:
        frames = [f.to_crs(crs) if f.crs is not None else f.set_crs(crs) for f in frames]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)


def _region_matrix(
    given: Any, origins: np.ndarray, dests: np.ndarray, minutes: MinutesFunction, name: str
) -> np.ndarray:
    if given is not None:
        return _check_matrix(given, (origins.shape[0], dests.shape[0]), name)
    if origins.shape[0] == 0 or dests.shape[0] == 0:
        return np.zeros((origins.shape[0], dests.shape[0]))
    return _check_matrix(minutes(origins, dests), (origins.shape[0], dests.shape[0]), name)


def select_joint(  # noqa: C901
    councils: Sequence[CouncilSiting],
    *,
    settings: SitingSettings | None = None,
    demand_minutes: Any | None = None,
    existing_minutes: Any | None = None,
    minutes: MinutesFunction | None = None,
    exclusion_zones: Any | None = None,
    k: int | None = None,
    capacitated: bool | None = None,
) -> JointSelection:
    """Choose the best ``k`` properties of a consortium of councils together.

    Every council's candidates compete for every council's children placed far
    (``settings.far_rule``, judged in each child's own council's table), with every council's
    existing sites open with their ``vacancies``. Eligibility, uses, needs and ages are exactly
    as in :func:`geosuff.siting.select_sites` (with one council the choice is the same).

    Parameters
    ----------
    councils : sequence of CouncilSiting
        The councils' tables, each with its code.
    settings : SitingSettings, optional
        The region's siting settings (``max_minutes``, ``k``, ``capacitated``, rules, ...).
    demand_minutes : array_like, shape (n_demand, n_candidates), optional
        Minutes from every child's home (the councils' demand rows stacked in order) to every
        candidate (stacked likewise).
    existing_minutes : array_like, shape (n_demand, n_existing), optional
        Minutes from every home to every existing site (stacked likewise).
    minutes : callable, optional
        ``minutes(origins_xy, destinations_xy)`` for the matrices not given (e.g. a wrapper of
        :func:`geosuff.routing.od_matrix` on the region's graph). Default: straight line at
        40 km/h, a stand-in only (logged).
    exclusion_zones : GeoDataFrame, optional
        The region's exclusion zones (``name``, ``buffer_m``), applied to every council's
        candidates (with each council's own).
    k, capacitated : optional
        Override the settings (``k``: properties chosen, all councils together).

    Returns
    -------
    JointSelection
        With ``councils`` the codes and ``sites`` the table of :func:`joint_siting_table`.
    """
    _check_councils(councils)
    settings = settings or SitingSettings()
    if settings.target > 0:
        logger.warning(
            "Joint siting chooses k = %d properties; the [siting] target (%g) is not used.",
            settings.k if k is None else k,
            settings.target,
        )
    k = settings.k if k is None else k
    cap_mode = settings.capacitated if capacitated is None else capacitated
    codes = tuple(str(c.council) for c in councils)
    n_co = len(councils)
    # candidates: each council's eligible (candidate, use) options, numbered across the region
    opt_frames: list[pd.DataFrame] = []
    offset = 0
    for ci, c in enumerate(councils):
        o = _options(c.candidates, settings, _zones(c.exclusion_zones, exclusion_zones))
        o = o[o["eligible"]].assign(cand=o["cand"] + offset, council=ci)
        opt_frames.append(o)
        offset += len(c.candidates)
    opts = pd.concat(opt_frames, ignore_index=True)
    cand_ids = np.concatenate([c.candidates["candidate_id"].to_numpy(object) for c in councils])
    dems = [_demand_arrays(c.demand, settings, what=f"{c.council} demand") for c in councils]
    dem = _Demand(
        weight=np.concatenate([d.weight for d in dems]),
        far=np.concatenate([d.far for d in dems]),
        need=np.concatenate([d.need for d in dems]),
        age=np.concatenate([d.age for d in dems]),
    )
    dem_council = np.concatenate(
        [np.full(len(c.demand), i, dtype=np.int64) for i, c in enumerate(councils)]
    )
    all_cands = pd.concat([c.candidates for c in councils], ignore_index=True)
    exist = [c.existing for c in councils if c.existing is not None and len(c.existing)]
    all_exist = pd.concat(exist, ignore_index=True) if exist else None
    home = np.vstack([_xy(c.demand, f"{c.council} demand") for c in councils])
    if minutes is None and (demand_minutes is None or (existing_minutes is None and exist)):
        logger.warning("Joint siting: no travel times given; using straight lines at 40 km/h.")
    fn: MinutesFunction = minutes or straight_line_minutes
    t_dem = _region_matrix(
        demand_minutes,
        home,
        np.zeros((len(all_cands), 2))
        if demand_minutes is not None
        else _xy(all_cands, "candidates"),
        fn,
        "demand_minutes",
    )
    n_ex = 0 if all_exist is None else len(all_exist)
    t_ex = _region_matrix(
        existing_minutes,
        home,
        np.zeros((n_ex, 2)) if existing_minutes is not None else _xy(all_exist, "existing sites"),
        fn,
        "existing_minutes",
    )
    far = np.flatnonzero(dem.far & (dem.weight > 0))
    cand_col = opts["cand"].to_numpy(np.int64)
    compat = np.zeros((far.size, len(opts)), dtype=bool)
    for use in opts["use"].unique():
        which = np.flatnonzero(opts["use"].to_numpy() == use)
        compat[:, which] = dem.compatible(settings.rules[use])[far, None]
    ex_compat = _existing_compat(all_exist, dem, settings)[far]
    vac = (
        pd.to_numeric(all_exist["vacancies"], errors="coerce").fillna(0.0).to_numpy(np.float64)
        if all_exist is not None and "vacancies" in all_exist
        else np.zeros(n_ex)
    )
    pref_by = {(ci, cid): v for ci, c in enumerate(councils) for cid, v in (c.prefer or {}).items()}
    prefer = (
        None
        if not any(c.prefer is not None for c in councils)
        else np.array(
            [
                float(pref_by.get((int(ci), cand_ids[j]), -np.inf))
                for ci, j in zip(opts["council"], cand_col, strict=True)
            ]
        )
    )
    joint = joint_from_cost_matrix(
        t_dem[np.ix_(far, cand_col)],
        max_minutes=settings.max_minutes,
        k=int(k),
        candidate_council=opts["council"].to_numpy(np.int64),
        demand_council=dem_council[far],
        n_councils=n_co,
        weights=dem.weight[far],
        capacities=opts["places"].to_numpy(np.float64),
        existing_minutes=t_ex[far],
        existing_places=vac,
        compatible=np.hstack([compat, ex_compat]),
        exclusive=cand_col,
        capacitated=cap_mode,
        mip_rel_gap=settings.mip_rel_gap,
        time_limit_s=settings.time_limit_s,
        prefer=prefer,
    )
    chosen = joint.chosen
    joint = dataclasses.replace(joint, councils=codes, demand_rows=far)
    info = pd.DataFrame(
        {
            "candidate_id": cand_ids[cand_col[chosen]],
            "use": opts["use"].to_numpy(object)[chosen],
        }
    )
    sites = joint_siting_table(joint, ids=info)
    logger.info(
        "Joint siting of %d council(s): %d site(s), %s more children could come home (HiGHS %s).",
        n_co,
        chosen.size,
        f"{joint.gain:g}",
        joint.selection.status,
    )
    return dataclasses.replace(joint, sites=sites)


# ---------------------------------------------------------------------------------------------
# The region's output table
# ---------------------------------------------------------------------------------------------

#: Fixed columns of :func:`joint_siting_table` and their dtypes; then ``gain_<code>`` and
#: ``new_sites_serve_<code>`` (float) for each council, in the councils' order.
JOINT_SITING_COLUMNS: dict[str, str] = {
    "rank": "int64",
    "council": "string",
    "candidate_id": "string",
    "use": "string",
    "places": "float64",
    "gain": "float64",
    "marginal_gain": "float64",
    "new_sites_serve": "float64",
}

#: Columns of :func:`joint_siting_long` and their dtypes.
JOINT_SITING_LONG_COLUMNS: dict[str, str] = {
    "rank": "int64",
    "council": "string",
    "candidate_id": "string",
    "use": "string",
    "children_council": "string",
    "gain": "float64",
    "new_sites_serve": "float64",
}


def _ids(joint: JointSelection, ids: pd.DataFrame | None) -> pd.DataFrame:
    if ids is not None:
        return ids.reset_index(drop=True)
    if joint.sites is not None:
        return joint.sites[["candidate_id", "use"]]
    return pd.DataFrame(
        {"candidate_id": [str(int(c)) for c in joint.chosen], "use": [None] * joint.chosen.size}
    )


def joint_siting_table(joint: JointSelection, *, ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """The joint choice as a table: one row per chosen property, in order of addition.

    Parameters
    ----------
    joint : JointSelection
        From :func:`select_joint` (or :func:`joint_from_cost_matrix`: ids are column numbers).
    ids : DataFrame, optional
        ``candidate_id`` and ``use`` of each chosen property (default: ``joint.sites``).

    Returns
    -------
    DataFrame
        :data:`JOINT_SITING_COLUMNS` - ``rank`` (1 = added first), ``council`` (code owning the
        property), ``candidate_id``, ``use``, ``places``, ``gain`` (children it brings home, all
        councils), ``marginal_gain`` (lost if it alone were dropped), ``new_sites_serve``
        (children it takes with the new sites alone) - then ``gain_<code>`` and
        ``new_sites_serve_<code>`` per council. Counts of children: apply the disclosure rules
        (the ledger) before publishing.
    """
    info = _ids(joint, ids)
    codes = joint.councils or tuple(str(i) for i in range(joint.n_councils))
    k = joint.chosen.size
    out = pd.DataFrame(
        {
            "rank": np.arange(1, k + 1, dtype=np.int64),
            "council": [codes[int(o)] for o in joint.owner],
            "candidate_id": info["candidate_id"].astype(str).to_numpy(),
            "use": info["use"].to_numpy(object),
            "places": joint.places.astype(np.float64),
            "gain": np.asarray(joint.addition_gain, dtype=np.float64),
            "marginal_gain": np.asarray(joint.marginal_gain, dtype=np.float64),
            "new_sites_serve": joint.new_sites_serve.sum(axis=1),
        }
    ).astype(JOINT_SITING_COLUMNS)
    for i, code in enumerate(codes):
        out[f"gain_{code}"] = joint.gain_by_council[:, i].astype(np.float64)
    for i, code in enumerate(codes):
        out[f"new_sites_serve_{code}"] = joint.new_sites_serve[:, i].astype(np.float64)
    return out


def joint_siting_long(joint: JointSelection, *, ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`joint_siting_table` as long rows: one per chosen property and council of children.

    Returns
    -------
    DataFrame
        :data:`JOINT_SITING_LONG_COLUMNS`: ``rank``, ``council`` (owning the property),
        ``candidate_id``, ``use``, ``children_council``, ``gain``, ``new_sites_serve``.
    """
    info = _ids(joint, ids)
    codes = joint.councils or tuple(str(i) for i in range(joint.n_councils))
    k, n = joint.chosen.size, len(codes)
    out = pd.DataFrame(
        {
            "rank": np.repeat(np.arange(1, k + 1, dtype=np.int64), n),
            "council": np.repeat([codes[int(o)] for o in joint.owner], n),
            "candidate_id": np.repeat(info["candidate_id"].astype(str).to_numpy(), n),
            "use": np.repeat(info["use"].to_numpy(object), n),
            "children_council": np.tile(np.array(codes, dtype=object), k),
            "gain": joint.gain_by_council.reshape(-1).astype(np.float64),
            "new_sites_serve": joint.new_sites_serve.reshape(-1).astype(np.float64),
        }
    )
    return out.astype(JOINT_SITING_LONG_COLUMNS)


#: Columns of :func:`joint_council_summary` and their dtypes.
JOINT_COUNCIL_COLUMNS: dict[str, str] = {
    "council": "string",
    "properties_chosen": "int64",
    "places_added": "float64",
    "before": "float64",
    "after": "float64",
    "gain": "float64",
    "new_sites_effect": "float64",
}


def joint_council_summary(joint: JointSelection) -> pd.DataFrame:
    """One row per council: what it gives to the joint choice and what its children get.

    Returns
    -------
    DataFrame
        :data:`JOINT_COUNCIL_COLUMNS`: ``council``, ``properties_chosen`` (of its own),
        ``places_added`` (by them), ``before`` / ``after`` (its children placed far who could
        come home today / with the chosen properties, today's spare places of the region open),
        ``gain`` (``after - before``), ``new_sites_effect`` (its children the new sites alone
        take). Counts of children: apply the disclosure rules before publishing.
    """
    codes = joint.councils or tuple(str(i) for i in range(joint.n_councils))
    n = len(codes)
    return pd.DataFrame(
        {
            "council": list(codes),
            "properties_chosen": np.bincount(joint.owner, minlength=n).astype(np.int64),
            "places_added": np.bincount(joint.owner, weights=joint.places, minlength=n),
            "before": joint.before_by_council,
            "after": joint.after_by_council,
            "gain": joint.gain_by_council.sum(axis=0),
            "new_sites_effect": joint.new_sites_effect,
        }
    ).astype(JOINT_COUNCIL_COLUMNS)


#: The region's output tables built from a :class:`JointSelection`, by file name (for the region
#: orchestration to write; not wired into the single-council run).
REGION_TABLES: dict[str, Callable[[JointSelection], pd.DataFrame]] = {
    "joint_siting": joint_siting_table,
    "joint_siting_by_council": joint_siting_long,
    "joint_siting_councils": joint_council_summary,
}
