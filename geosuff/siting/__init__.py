"""Choosing council properties for new homes: eligibility, scores with their reasons, and the best k chosen together by an exact optimiser (HiGHS MILP), with the greedy answer and its gap."""

from __future__ import annotations

from geosuff.config.siting import (
    DEFAULT_USES,
    FAR_RULES,
    EligibilityRules,
    SitingSettings,
    settings_from_dict,
)
from geosuff.siting._constants import (
    CROW_FLY_SPEED_KPH,
    DFE_KM_PER_MILE,
    HIGHS_MIP_OPTIONS,
)
from geosuff.siting.core import (
    Selection,
    from_cost_matrix,
)
from geosuff.siting.demand import (
    straight_line_minutes,
)
from geosuff.siting.joint import (
    REGION_TABLES,
    CouncilSiting,
    JointSelection,
    joint_council_summary,
    joint_from_cost_matrix,
    joint_siting_long,
    joint_siting_table,
    select_joint,
)
from geosuff.siting.scenario import (
    COME_HOME_LABEL,
    NEW_PLACES_LABEL,
    SCENARIO_COLUMNS,
    Effect,
    EffectMasks,
    scenario_effects,
    scenario_masks,
    scenario_table,
)
from geosuff.siting.scoring import (
    SCORE_COLUMNS,
    score_candidates,
)
from geosuff.siting.select import (
    dfe_miles,
    from_geodataframe,
    select_sites,
)

__all__ = [
    "DEFAULT_USES",
    "FAR_RULES",
    "EligibilityRules",
    "SitingSettings",
    "settings_from_dict",
    "CROW_FLY_SPEED_KPH",
    "DFE_KM_PER_MILE",
    "HIGHS_MIP_OPTIONS",
    "Selection",
    "from_cost_matrix",
    "straight_line_minutes",
    "SCORE_COLUMNS",
    "score_candidates",
    "select_sites",
    "from_geodataframe",
    "dfe_miles",
    "COME_HOME_LABEL",
    "NEW_PLACES_LABEL",
    "SCENARIO_COLUMNS",
    "Effect",
    "EffectMasks",
    "scenario_effects",
    "scenario_masks",
    "scenario_table",
    "REGION_TABLES",
    "CouncilSiting",
    "JointSelection",
    "joint_council_summary",
    "joint_from_cost_matrix",
    "joint_siting_long",
    "joint_siting_table",
    "select_joint",
]
