"""Solver options and constants of siting."""

from __future__ import annotations

import logging
from typing import Any

import highspy

from geosuff import reference

logger = logging.getLogger(__name__)


#: Crow-fly speed used by :func:`straight_line_minutes` when no road travel times are given.
CROW_FLY_SPEED_KPH = 40.0
#: DfE placement-distance measure: km per mile used in ``round(d_km / 1.6093, 1)``.
DFE_KM_PER_MILE = reference.DFE_KM_PER_MILE

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
