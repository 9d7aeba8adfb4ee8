"""Map the free-form config sections ``[network]``, ``[snapping]`` and ``[siting]`` onto the
dataclasses that consume them, so that unknown keys and wrong types are reported with the key name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from geosuff._errors import ConfigError
from geosuff.config import did_you_mean

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from geosuff.config import Scenario
    from geosuff.config.costs import CostSettings
    from geosuff.config.siting import SitingSettings

_T = TypeVar("_T", bound="DataclassInstance")


#: Points further than this from any drivable road (m) are not snapped but estimated.
MAX_SNAP_M = 1000.0
#: Speed of the off-network leg between a point and its snapped road position, km/h
#: (driving slowly along a private drive, car park or farm track).
ACCESS_SPEED_KPH = 20.0
#: Ratio of road distance to straight-line distance used for estimated pairs. UK road networks
#: typically give 1.2-1.4 (shorter trips higher); 1.3 is the usual planning value.
CIRCUITY_FACTOR = 1.3
#: Average door-to-door car speed used for estimated pairs, km/h (typical of mixed urban and
#: rural English trips, well below speed limits).
FALLBACK_SPEED_KPH = 40.0

#: Upper bound applied to any parsed or tabled speed, km/h (no UK road is signed faster).
MAX_SPEED_KPH = 130.0


@dataclass(frozen=True)
class SpeedSettings:
    """How edge speeds are modelled. Field names are the keys of the config's ``[network]`` table.

    Base speed of a way: its tagged ``maxspeed`` (parsed with :func:`parse_maxspeed`, per direction
    when ``maxspeed:forward``/``maxspeed:backward`` are tagged; ``maxspeed:type`` or
    ``source:maxspeed`` such as ``GB:nsl_single`` when there is no ``maxspeed``), otherwise the speed
    of its ``highway`` class in the speed table (``geosuff/data/uk_speeds.csv``). Speed limits are
    not driving speeds, so the base speed is then multiplied by a calibration factor:
    ``urban_congestion_factor`` for roads whose base speed is at most ``urban_limit_kph``
    (30 mph: towns and villages; junctions, parked cars, traffic) and ``congestion_factor`` for
    faster roads. The defaults bring car times close to typical daytime (not free-flow) driving.

    Attributes
    ----------
    congestion_factor : float
        Multiplier (0-1.5] for roads faster than ``urban_limit_kph``. Default 0.85.
    urban_congestion_factor : float
        Multiplier (0-1.5] for roads at or below ``urban_limit_kph``. Default 0.70.
    urban_limit_kph : float
        Base speed (km/h) at or below which a road counts as urban. Default 48.3 (30 mph).
    min_speed_kph : float
        Floor on the calibrated speed, km/h. Default 5.
    use_maxspeed : bool
        Use tagged ``maxspeed`` (True) or only the class table (False).
    speed_table : str or None
        Path to a CSV with columns ``highway,speed_mph`` (or ``highway,speed_kph``) replacing the
        shipped UK table; None uses ``geosuff/data/uk_speeds.csv``.
    """

    congestion_factor: float = 0.85
    urban_congestion_factor: float = 0.70
    urban_limit_kph: float = 48.3
    min_speed_kph: float = 5.0
    use_maxspeed: bool = True
    speed_table: str | None = None

    def __post_init__(self) -> None:
        for name in ("congestion_factor", "urban_congestion_factor"):
            val = getattr(self, name)
            if not isinstance(val, int | float) or not (0.0 < float(val) <= 1.5):
                raise ConfigError(
                    f"network.{name} must be a number in (0, 1.5], got {val!r}.",
                    fix="Use e.g. 0.85 (speeds 15% below the speed limit).",
                )
        for name in ("urban_limit_kph", "min_speed_kph"):
            val = getattr(self, name)
            if not isinstance(val, int | float) or not (0.0 < float(val) < MAX_SPEED_KPH):
                raise ConfigError(
                    f"network.{name} must be a positive speed in km/h below {MAX_SPEED_KPH:g}, got {val!r}.",
                    fix="Give the speed in km/h, e.g. 48.3 for 30 mph.",
                )
        if self.speed_table is not None and not Path(self.speed_table).expanduser().is_file():
            raise ConfigError(
                f"network.speed_table file not found: {self.speed_table}.",
                fix="Give the path of a CSV with columns highway,speed_mph, or remove the key.",
            )


@dataclass(frozen=True)
class SnapSettings:
    """How points join the road network.

    Attributes
    ----------
    max_snap_m : float
        Largest distance (m) from a point to the nearest drivable road for it to be snapped.
        Default :data:`MAX_SNAP_M`.
    access_speed_kph : float
        Speed of the point-to-road leg, km/h. Default :data:`ACCESS_SPEED_KPH`.
    circuity_factor : float
        Road / straight-line distance ratio for estimated pairs. Default :data:`CIRCUITY_FACTOR`.
    fallback_speed_kph : float
        Speed of estimated pairs, km/h. Default :data:`FALLBACK_SPEED_KPH`.
    """

    max_snap_m: float = MAX_SNAP_M
    access_speed_kph: float = ACCESS_SPEED_KPH
    circuity_factor: float = CIRCUITY_FACTOR
    fallback_speed_kph: float = FALLBACK_SPEED_KPH

    def __post_init__(self) -> None:
        checks = {
            "max_snap_m": (0.0, 1e6),
            "access_speed_kph": (0.1, 200.0),
            "circuity_factor": (1.0, 5.0),
            "fallback_speed_kph": (1.0, 200.0),
        }
        for name, (lo, hi) in checks.items():
            val = getattr(self, name)
            if not isinstance(val, int | float) or not (lo <= float(val) <= hi):
                raise ConfigError(
                    f"Snap setting {name} must be a number in [{lo:g}, {hi:g}], got {val!r}.",
                    fix=f"Use the default {getattr(SnapSettings, name)!r} unless you have a reason.",
                )


def _build(cls: type[_T], data: dict[str, Any], section: str, origin: str) -> _T:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key(s) in [{section}]: "
            + ", ".join(f"'{k}'" + did_you_mean(k, names) for k in unknown)
            + ".",
            fix="Allowed keys are: " + ", ".join(sorted(names)) + ".",
        )
    clean: dict[str, Any] = {}
    for key, value in data.items():
        default = getattr(cls, key, None) if not callable(getattr(cls, key, None)) else None
        f = names[key]
        if f.default is not dataclasses.MISSING:
            default = f.default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(
                f"{origin}: key '[{section}] {key}' must be true or false (got {value!r})."
            )
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(
                    f"{origin}: key '[{section}] {key}' must be a number (got {value!r})."
                )
            value = type(default)(value) if isinstance(default, float) else value
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{origin}: key '[{section}] {key}' must be text (got {value!r}).")
        clean[key] = value
    try:
        return cls(**clean)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{origin}: [{section}] {err}.") from None


def speed_settings(scenario: Scenario, origin: str = "config") -> SpeedSettings:
    """The scenario's ``[network]`` speed calibration, validated."""
    return _build(SpeedSettings, scenario.network, "network", origin)


def snap_settings(scenario: Scenario, origin: str = "config") -> SnapSettings:
    """The scenario's ``[snapping]`` settings, validated."""
    return _build(SnapSettings, scenario.snapping, "snapping", origin)


def siting_settings(scenario: Scenario, origin: str = "config") -> SitingSettings:
    """The scenario's ``[siting]`` settings (weights, k, eligibility rules), validated."""
    from geosuff.config.siting import settings_from_dict

    return settings_from_dict(scenario.siting)


def cost_settings(scenario: Scenario, origin: str = "config") -> CostSettings:
    """The scenario's ``[costs]`` weekly placement costs (defaults from
    ``geosuff/data/placement_costs.csv``), validated.
    """
    from geosuff.config.costs import cost_settings_from_dict

    return cost_settings_from_dict(scenario.costs, origin=origin)


def check_keys(scenario: Scenario, *, origin: str = "config") -> None:
    """Validate every free-form section; raises :class:`ConfigError` naming the key."""
    speed_settings(scenario, origin)
    snap_settings(scenario, origin)
    siting_settings(scenario, origin)
    cost_settings(scenario, origin)
