"""The optional ``[costs]`` section: weekly placement costs by placement group and provider sector.

Defaults come from ``geosuff/data/placement_costs.csv`` (indicative published figures, with their
source and price year); a scenario overrides any of them::

    [costs]
    weeks_per_year = 52
    lease_discount = 0.10          # a home leased to a provider: its price is the external price less this share
    [costs.weekly_gbp]
    childrens_home = { in_house = 5200, external = 6100 }
    supported = { in_house = 900, external = 1400 }
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from geosuff._errors import ConfigError
from geosuff.config import did_you_mean
from geosuff.reference import COST_SECTORS, placement_costs, placement_groups

#: Keys of ``[costs]``.
COST_KEYS: tuple[str, ...] = ("weeks_per_year", "lease_discount", "weekly_gbp")
#: Where a weekly cost came from when the scenario set it.
FROM_CONFIG = "scenario [costs]"


def _defaults() -> Mapping[tuple[str, str], float]:
    return MappingProxyType({k: c.weekly_cost_gbp for k, c in placement_costs().items()})


def _default_sources() -> Mapping[tuple[str, str], str]:
    return MappingProxyType(
        {k: f"{c.source} ({c.price_year} prices)" for k, c in placement_costs().items()}
    )


@dataclass(frozen=True)
class CostSettings:
    """Weekly placement costs and how yearly savings are counted.

    Attributes
    ----------
    weekly_gbp : mapping of (group, sector) to float
        Cost of one child's placement for one week, pounds, by placement group
        (``placement_groups.csv``) and sector (``in_house``, ``external``).
    weeks_per_year : float
        Weeks a saving counts for in a year (default 52).
    lease_discount : float
        Share (0-1) off the external weekly price for a home the council leases to a provider
        (a use whose rule has ``operator = "external"``); default 0, no saving.
    sources : mapping of (group, sector) to str
        Where each weekly cost comes from (the data file's source and price year, or the scenario).
    """

    weekly_gbp: Mapping[tuple[str, str], float] = field(default_factory=_defaults)
    weeks_per_year: float = 52.0
    lease_discount: float = 0.0
    sources: Mapping[tuple[str, str], str] = field(default_factory=_default_sources)

    def weekly(self, group: str, sector: str) -> float:
        """The weekly cost of ``group`` in ``sector`` (pounds); NaN when none is known."""
        return float(self.weekly_gbp.get((group, sector), math.nan))


def _number(value: Any, where: str, *, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number (got {value!r}).", fix="Write e.g. 5200.")
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ConfigError(
            f"{where} = {value!r} is out of range.", fix=f"Use a number from {lo:g} to {hi:g}."
        )
    return v


def cost_settings_from_dict(
    data: Mapping[str, Any] | None, *, origin: str = "config"
) -> CostSettings:
    """Build :class:`CostSettings` from the parsed ``[costs]`` table (None or empty: defaults).

    Raises
    ------
    ConfigError
        On an unknown key, group or sector (the message names it), a wrong type or a value out of
        range (weekly costs 0-1,000,000 pounds, weeks_per_year 1-53, lease_discount 0-1).
    """
    data = dict(data or {})
    for key in data:
        if key not in COST_KEYS:
            raise ConfigError(
                f"{origin}: unknown key '{key}' in [costs]{did_you_mean(key, COST_KEYS)}.",
                fix="Allowed keys are: " + ", ".join(COST_KEYS) + ".",
            )
    weekly = dict(_defaults())
    sources = dict(_default_sources())
    table = data.get("weekly_gbp", {})
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"{origin}: [costs] weekly_gbp must be a table of placement groups.",
            fix="Write [costs.weekly_gbp] childrens_home = { in_house = 5200, external = 6100 }.",
        )
    groups = tuple(placement_groups())
    for group, by_sector in table.items():
        if group not in groups:
            raise ConfigError(
                f"{origin}: unknown placement group '{group}' in [costs.weekly_gbp]"
                f"{did_you_mean(str(group), groups)}.",
                fix="Groups are: " + ", ".join(groups) + ".",
            )
        if not isinstance(by_sector, Mapping):
            raise ConfigError(
                f"{origin}: [costs.weekly_gbp] {group} must be a table of sectors.",
                fix=f"Write {group} = {{ in_house = 5200, external = 6100 }}.",
            )
        for sector, value in by_sector.items():
            if sector not in COST_SECTORS:
                raise ConfigError(
                    f"{origin}: unknown sector '{sector}' in [costs.weekly_gbp] {group}"
                    f"{did_you_mean(str(sector), COST_SECTORS)}.",
                    fix="Sectors are: " + ", ".join(COST_SECTORS) + ".",
                )
            weekly[(group, sector)] = _number(
                value, f"{origin}: [costs.weekly_gbp] {group}.{sector}", lo=0.0, hi=1e6
            )
            sources[(group, sector)] = FROM_CONFIG
    kw: dict[str, float] = {}
    if "weeks_per_year" in data:
        kw["weeks_per_year"] = _number(
            data["weeks_per_year"], f"{origin}: [costs] weeks_per_year", lo=1.0, hi=53.0
        )
    if "lease_discount" in data:
        kw["lease_discount"] = _number(
            data["lease_discount"], f"{origin}: [costs] lease_discount", lo=0.0, hi=1.0
        )
    return CostSettings(
        weekly_gbp=MappingProxyType(weekly), sources=MappingProxyType(sources), **kw
    )
