"""Siting settings: eligibility rules per candidate use, weights, k."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from geosuff._errors import ConfigError
from geosuff.config import did_you_mean
from geosuff.reference import (
    SITING_RULES_FILE,
    candidate_uses,
    cluster_site_types,
    needs,
    normalise_need,
    siting_rules,
)

#: Candidate uses the shipped rules file (``geosuff/data/siting_rules.toml``) defines.
DEFAULT_USES: tuple[str, ...] = candidate_uses()
#: Site types the clustering score counts by default (``[clustering]`` of siting_rules.toml).
DEFAULT_CLUSTER_SITE_TYPES: tuple[str, ...] = cluster_site_types()
FAR_RULES: tuple[str, ...] = ("either", "over_20_miles", "outside_la")
#: ``[siting] demand``: today's children placed far, or them scaled to the projection
#: (tables/projection.csv: projected / current children of each placement group).
DEMAND_MODES: tuple[str, ...] = ("current", "projected")

logger = logging.getLogger(__name__)


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
    operator : {"in_house", "external"}
        Who runs the home: the council (``in_house``, default) or a provider the council leases
        the property to (``external``); decides the weekly cost the saving is counted against
        (``[costs]``).
    serves_need_codes : tuple of str
        Children's needs (``needs.csv`` codes, e.g. ``"disabled"``) the use is equipped for;
        empty means none in particular. When the demand records needs (placements' ``DISABLED``
        / ``NEED``), a use with codes serves only children with one of them.
    """

    min_bedrooms: int = 1
    max_bedrooms: int = 99
    staff_bedrooms: int = 0
    max_places: int = 99
    min_age: float = 0.0
    max_age: float = 26.0
    serves_needs: tuple[str, ...] = ()
    site_type: str = ""
    operator: str = "in_house"
    serves_need_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "serves_needs", tuple(str(s) for s in self.serves_needs))
        codes = []
        for tok in self.serves_need_codes:
            code = normalise_need(tok)
            if code is None:
                raise ConfigError(
                    f"serves_need_codes: need {tok!r} is not known.",
                    fix="Use codes of geosuff's needs list: " + ", ".join(needs()) + ".",
                )
            codes.append(code)
        object.__setattr__(self, "serves_need_codes", tuple(dict.fromkeys(codes)))
        if self.operator not in ("in_house", "external"):
            raise ConfigError(
                f"operator = {self.operator!r} is not known.",
                fix='Use operator = "in_house" (the council runs it) or "external" (leased to a provider).',
            )
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
    return MappingProxyType(
        {
            use: _rules_from_dict(d, use, SITING_RULES_FILE.rsplit("/", 1)[-1])
            for use, d in siting_rules().items()
        }
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
        Existing site types (``site_type`` column) that count for clustering (default: the
        ``[clustering]`` table of ``geosuff/data/siting_rules.toml``).
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
        Uses considered (each must have rules). Default: every use of the shipped rules; in a
        scenario without ``uses``, also every use its ``[siting.rules.<use>]`` tables add.
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
    demand : {"current", "projected"}
        ``"projected"``: each child placed far weighs the projected / current ratio of their
        placement group at the end of the projection (``[analysis] projection_years`` ahead);
        ``"current"`` (default): every child weighs 1.
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
    cluster_site_types: tuple[str, ...] = DEFAULT_CLUSTER_SITE_TYPES
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
    demand: str = "current"

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
        if self.demand not in DEMAND_MODES:
            raise ConfigError(
                f"[siting] demand = {self.demand!r} is not known.",
                fix="Use one of: " + ", ".join(DEMAND_MODES) + ".",
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
                f"{origin}: unknown key '{key}' in [siting.rules.{use}]{did_you_mean(key, names)}.",
                fix="Allowed keys are: " + ", ".join(names) + ".",
            )
        clean[key] = _coerce(
            value, getattr(base, key), f"{origin}: key '[siting.rules.{use}] {key}'"
        )
    try:
        return dataclasses.replace(base, **clean)
    except ConfigError as err:
        raise ConfigError(f"{origin}: [siting.rules.{use}] {err.message}", fix=err.fix) from None


def scenario_uses(siting: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Candidate uses a scenario recognises: the shipped rules' uses plus every use its
    ``[siting.rules.<use>]`` tables add (``siting`` = the parsed ``[siting]`` table).

    Lenient on purpose (never raises): a malformed ``[siting]`` table is reported by
    :func:`settings_from_dict`, and loading the inputs should still report their own problems.
    """
    rules = (siting or {}).get("rules") if isinstance(siting, Mapping) else None
    extra = [str(u) for u in rules] if isinstance(rules, Mapping) else []
    return tuple(dict.fromkeys([*DEFAULT_USES, *extra]))


def settings_from_dict(data: Mapping[str, Any] | None, *, origin: str = "config") -> SitingSettings:
    """Build :class:`SitingSettings` from the ``[siting]`` table of a scenario.

    Keys map 1:1 to the dataclass fields. ``rules`` is a table of per-use tables
    (``[siting.rules.small_home] max_bedrooms = 4``) that *update* the default rules field by field;
    a new use name adds a use (fields it omits take :class:`EligibilityRules` defaults), and it is
    considered unless ``uses`` is given.

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
                f"{origin}: unknown key '{key}' in [siting]{did_you_mean(key, names)}.",
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
    if "rules" in clean and "uses" not in clean:
        clean["uses"] = tuple(clean["rules"])
    try:
        return SitingSettings(**clean)
    except ConfigError as err:
        raise ConfigError(f"{origin}: {err.message}", fix=err.fix) from None
