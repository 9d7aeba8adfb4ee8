"""Map the free-form config sections ``[network]``, ``[snapping]`` and ``[siting]`` onto the
dataclasses that consume them, so that unknown keys and wrong types are reported with the key name.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from geosuff._errors import ConfigError

if TYPE_CHECKING:
    from geosuff.config import Scenario


def _build(cls: type, data: dict[str, Any], section: str, origin: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key(s) in [{section}]: " + ", ".join(f"'{k}'" for k in unknown) + ".",
            fix="Allowed keys are: " + ", ".join(sorted(names)) + ".",
        )
    clean: dict[str, Any] = {}
    for key, value in data.items():
        default = getattr(cls, key, None) if not callable(getattr(cls, key, None)) else None
        f = names[key]
        if f.default is not dataclasses.MISSING:
            default = f.default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{origin}: key '[{section}] {key}' must be true or false (got {value!r}).")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{origin}: key '[{section}] {key}' must be a number (got {value!r}).")
            value = type(default)(value) if isinstance(default, float) else value
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{origin}: key '[{section}] {key}' must be text (got {value!r}).")
        clean[key] = value
    try:
        return cls(**clean)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{origin}: [{section}] {err}.") from None


def speed_settings(scenario: Scenario, origin: str = "config") -> Any:
    from geosuff.network import SpeedSettings

    return _build(SpeedSettings, scenario.network, "network", origin)


def snap_settings(scenario: Scenario, origin: str = "config") -> Any:
    from geosuff.traveltime import SnapSettings

    return _build(SnapSettings, scenario.snapping, "snapping", origin)


def siting_settings(scenario: Scenario, origin: str = "config") -> Any:
    from geosuff import siting

    loader = getattr(siting, "settings_from_dict", None)
    if loader is not None:
        return loader(scenario.siting)
    return _build(siting.SitingSettings, scenario.siting, "siting", origin)


def check_keys(scenario: Scenario, *, origin: str = "config") -> None:
    """Validate every free-form section; raises :class:`ConfigError` naming the key."""
    speed_settings(scenario, origin)
    snap_settings(scenario, origin)
    siting_settings(scenario, origin)
