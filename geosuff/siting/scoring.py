"""Candidate scores with every component and its reason."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import ConfigError, InputFileError
from geosuff.config.siting import EligibilityRules, SitingSettings
from geosuff.siting.demand import (
    _check_matrix,
    _demand_arrays,
    _existing_compat,
    _norm_token,
    _options,
    _site_type_groups,
    _within,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------

#: Decimal places of the score ``total`` that ranks compare (the precision it is published at).
RANK_DECIMALS = 3

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


def score_candidates(  # noqa: C901
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
        ``total`` (0-1) and ``rank`` (1 = best, eligible only; dense: candidates whose
        totals agree to :data:`RANK_DECIMALS` dp share a rank and the next rank is one more).

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
        use* (a foster cluster nearby does not make a small children's home redundant).
        """
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
        result: np.ndarray = within_ex[:, kinds].any(axis=1)
        return result

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
    # dense ranks of the score as published (3 dp): equal scores share a rank, the next is one
    # more (1, 1, 2), so a reader of the table never sees a rank skipped or a tie split
    out["rank"] = (
        out["total"].round(RANK_DECIMALS).rank(ascending=False, method="dense").astype("Int64")
    )
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
