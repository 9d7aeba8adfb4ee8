"""Scenario configuration: a TOML file -> a typed, validated :class:`Scenario`.

Unknown keys and wrong types are errors that name the key. Relative paths resolve against the
folder of the config file. The whole scenario is written into every report and run manifest.

Example
-------
.. code-block:: toml

    council = "E06000017"            # GSS code of the responsible upper-tier LA
    [inputs]
    placements = "placements.csv"    # SSDA903-style episodes
    sites = "sites.csv"              # provision sites
    candidates = "candidates.csv"    # council properties
    postcodes = "postcodes.csv"      # ONSPD or Code-Point Open
    network = "roads.osm.pbf"        # OSM file covering the council (optional with travel = "estimate")
    [analysis]
    minutes = [15, 30, 45, 60]       # catchment thresholds
    far_miles = 20                   # the DfE distance line
    local_target = 0.75              # share to be placed inside the LA
    travel = "road"                  # "road" (needs [inputs] network) or "estimate" (straight line)
    [disclosure]
    min_count = 5
    [output]
    dir = "outputs/rutland"
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geosuff._errors import ConfigError
from geosuff.config.database import DatabaseSchema, DatabaseTable, is_database_url, resolve_input

GSS_RE = re.compile(r"^[EWSN]\d{8}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputsConfig(_Section):
    """Input files. Relative paths are resolved against the config file's folder. placements,
    sites, candidates, areas and exclusions may also be PostgreSQL tables
    (:class:`~geosuff.config.database.DatabaseTable`).
    """

    placements: DatabaseTable | Path
    sites: DatabaseTable | Path
    candidates: DatabaseTable | Path | None = None
    postcodes: Path | None = None
    #: OSM road network covering the council; may be omitted only with ``[analysis] travel = "estimate"``.
    network: Path | None = None
    boundaries: Path | None = None
    areas: DatabaseTable | Path | None = None
    exclusions: DatabaseTable | Path | None = None
    services: Path | None = None
    #: optional SSDA903 OC3-style care leavers table (CHILD, DOB, IN_TOUCH, ACCOM,
    #: ACCOM_SUITABLE, ACCOM_POST): tables/care_leavers.csv and care-leaver unit demand
    care_leavers: Path | None = None
    use_onspd_fallback: bool = True
    #: optional polygons of the council's own sub-areas (localities: "West Kent", "East Kent"),
    #: for the indicators by sub-area of the child's home; ``subareas_name`` is their name column
    subareas: Path | None = None
    subareas_name: str = "name"


class AnalysisConfig(_Section):
    """Thresholds and targets."""

    minutes: list[float] = Field(default_factory=lambda: [15.0, 30.0, 45.0, 60.0])
    local_minutes: float = 30.0
    far_miles: float = 20.0
    far_minutes: float = 45.0
    local_target: float = 0.75
    within_miles_target: float | None = None
    reference_date: dt.date | None = None
    sensitivity_miles: list[float] = Field(default_factory=lambda: [10.0, 20.0, 30.0])
    sensitivity_minutes: list[float] = Field(default_factory=lambda: [30.0, 45.0, 60.0])
    access_m: float = 250.0
    raster_cell_m: float = 250.0
    #: "road": travel times on the [inputs] network (which must cover the council); "estimate":
    #: straight-line estimates (no network needed; published labels say "estimated").
    travel: Literal["road", "estimate"] = "road"
    #: years whose 31 March snapshot ``tables/trend.csv`` shows (None: every 31 March the
    #: episodes cover)
    years: list[int] | None = None
    #: care leavers counted: aged care_leaver_min_age to care_leaver_max_age (inclusive, whole
    #: years at the reference date); the DfE publishes 19-21 (and 17-18), duties run to 25
    care_leaver_min_age: int = Field(default=18, ge=16, le=25)
    care_leaver_max_age: int = Field(default=21, ge=16, le=25)
    #: years ahead of the reference year that tables/projection.csv projects
    projection_years: int = Field(default=3, ge=1, le=10)
    #: annual growth of the child population (0.01 = 1% a year) applied on top of the fitted
    #: trend; 0 by default (geosuff ships ONS LSOA child population for mid-2020 only, no series)
    child_population_growth: float = Field(default=0.0, ge=-0.5, le=0.5)

    @model_validator(mode="after")
    def _care_leaver_ages(self) -> AnalysisConfig:
        if self.care_leaver_min_age > self.care_leaver_max_age:
            raise ValueError("care_leaver_min_age must not be above care_leaver_max_age")
        return self

    @field_validator("years")
    @classmethod
    def _years(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(not 1990 <= y <= 2100 for y in v):
            raise ValueError("years must be calendar years such as 2024 (the 31 March snapshot)")
        return sorted(set(v)) if v is not None else None

    @field_validator("minutes", "sensitivity_minutes", "sensitivity_miles")
    @classmethod
    def _positive_sorted(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("must list at least one value")
        if any(x <= 0 for x in v):
            raise ValueError("values must be greater than 0")
        return sorted(set(v))

    @field_validator("local_target", "within_miles_target")
    @classmethod
    def _share(cls, v: float | None) -> float | None:
        if v is not None and not 0 <= v <= 1:
            raise ValueError("must be a share between 0 and 1 (e.g. 0.75 for 75%)")
        return v

    @field_validator("far_miles", "far_minutes", "local_minutes", "access_m", "raster_cell_m")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be greater than 0")
        return v


class DisclosureConfig(_Section):
    """``[disclosure]``: counts below ``min_count`` children are suppressed; ``previous``: earlier
    runs' output folders (or folders of them) whose published figures this run must not be
    differenced against (see :mod:`geosuff.publication.ledger.previous`).
    """

    min_count: int = Field(default=5, ge=1)
    previous: list[Path] = Field(default_factory=list)

    @field_validator("previous", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str | Path) else v


class OutputConfig(_Section):
    """``[output]``: where the outputs go and how they are written."""

    dir: Path = Path("outputs")
    self_contained: bool = False
    restricted: bool = False
    excel: bool = True
    #: also write every published table and layer to this PostgreSQL schema (replacing the last run's)
    database: DatabaseSchema | None = None
    #: the map's background: "roads" (drawn from the run's own OSM extract, inlined), "osm"
    #: (OpenStreetMap tiles, needs a network) or "none"; None: "roads" when self_contained, else "osm"
    basemap: Literal["roads", "osm", "none"] | None = None

    @model_validator(mode="after")
    def _basemap_offline(self) -> OutputConfig:
        if self.self_contained and self.basemap == "osm":
            raise ValueError(
                'basemap = "osm" needs OpenStreetMap tiles from the internet, which a self_contained '
                'map never loads: use basemap = "roads" (drawn from your OSM extract) or set '
                "self_contained = false"
            )
        return self

    @property
    def background(self) -> Literal["roads", "osm", "none"]:
        """The map background in effect: ``basemap``, or its default for ``self_contained``."""
        if self.basemap is not None:
            return self.basemap
        return "roads" if self.self_contained else "osm"


class Scenario(_Section):
    """A whole geosuff scenario."""

    council: str
    title: str | None = None
    synthetic: bool = False
    seed: int = 2026
    inputs: InputsConfig
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    network: dict[str, Any] = Field(default_factory=dict)
    snapping: dict[str, Any] = Field(default_factory=dict)
    siting: dict[str, Any] = Field(default_factory=dict)
    costs: dict[str, Any] = Field(default_factory=dict)
    disclosure: DisclosureConfig = Field(default_factory=DisclosureConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    source: Path | None = None
    mode: Literal["published", "restricted"] = "published"

    @field_validator("council")
    @classmethod
    def _gss(cls, v: str) -> str:
        v = v.strip().upper()
        if not GSS_RE.match(v):
            raise ValueError("must be a 9-character GSS code such as 'E06000017' (Rutland)")
        if not v.startswith("E"):
            raise ValueError("must be an English upper-tier LA (code starting with E)")
        return v

    def to_toml_dict(self) -> dict[str, Any]:
        """The scenario as plain data (paths as strings), for reports and manifests."""
        return self.model_dump(mode="json", exclude={"source"})


def road_times(scenario: Scenario) -> bool:
    """True when travel times come from a road network, False when they are straight-line estimates
    (``[analysis] travel = "estimate"``, or no network given).
    """
    return scenario.analysis.travel == "road" and scenario.inputs.network is not None


def travel_phrase(scenario: Scenario) -> str:
    """How published labels qualify travel minutes: "by road", or "estimated" (straight line)."""
    return "by road" if road_times(scenario) else "estimated"


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) == 1:
        return parts[0]
    return f"[{'.'.join(parts[:-1])}] {parts[-1]}"


def did_you_mean(key: str, allowed: Any) -> str:
    """`` (did you mean 'x'?)`` for the allowed key closest to a misspelt ``key``, else ``""``."""
    close = difflib.get_close_matches(str(key), sorted(str(a) for a in allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where the (unknown) key at ``loc`` was found: the fields of the section."""
    model: Any = Scenario
    for part in loc[:-1]:
        field_info = getattr(model, "model_fields", {}).get(str(part))
        if field_info is None:
            return []
        model = field_info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def _explain(err: ValidationError, origin: str) -> ConfigError:
    lines = []
    for e in err.errors():
        key = _format_loc(e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(
                f"unknown key '{key}'"
                + did_you_mean(str(e["loc"][-1]), _allowed_keys(tuple(e["loc"])))
            )
        elif e["type"] == "missing":
            lines.append(f"missing required key '{key}'")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"key '{key}' {msg} (got {e.get('input')!r})")
    return ConfigError(
        f"{origin}: " + "; ".join(lines) + ".",
        fix="Check the spelling and type of these keys against the README's configuration section.",
    )


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    data = dict(data)
    inputs = dict(data.get("inputs", {}) or {})
    for key, value in inputs.items():
        if is_database_url(value):
            inputs[key] = resolve_input(key, value)
        elif isinstance(value, str) and key not in ("use_onspd_fallback", "subareas_name"):
            p = Path(value).expanduser()
            inputs[key] = (p if p.is_absolute() else (base / p)).resolve()
    if "inputs" in data:
        data["inputs"] = inputs
    out = dict(data.get("output", {}) or {})
    if isinstance(out.get("dir"), str):
        from geosuff.config.safety import check_output_dir

        p = Path(out["dir"]).expanduser()
        out["dir"] = check_output_dir(p if p.is_absolute() else (base / p))
    disc = dict(data.get("disclosure", {}) or {})
    prev = disc.get("previous")
    if isinstance(prev, str | list):
        items = [prev] if isinstance(prev, str) else prev
        disc["previous"] = [
            (Path(x).expanduser() if Path(x).expanduser().is_absolute() else base / x).resolve()
            if isinstance(x, str)
            else x
            for x in items
        ]
        data["disclosure"] = disc
    if isinstance(out.get("database"), str):
        out["database"] = DatabaseSchema(out["database"])
    if out:
        data["output"] = out
    return data


def scenario_from_dict(
    data: dict[str, Any], *, base_dir: Path | None = None, origin: str = "config"
) -> Scenario:
    """Validate plain data (as parsed from TOML) into a :class:`Scenario`.

    Parameters
    ----------
    data : dict
        Parsed TOML.
    base_dir : Path, optional
        Folder against which relative paths resolve (default: current directory).
    origin : str
        Name used in error messages.
    """
    base = (base_dir or Path.cwd()).resolve()
    try:
        scenario = Scenario.model_validate(_resolve_paths(data, base))
    except ValidationError as err:
        raise _explain(err, origin) from None
    _check_subsections(scenario, origin)
    _check_travel(scenario, origin)
    return scenario


def _check_travel(scenario: Scenario, origin: str) -> None:
    """A road network is required unless travel times are straight-line estimates."""
    if scenario.analysis.travel == "road" and scenario.inputs.network is None:
        raise ConfigError(
            f"{origin}: missing key '[inputs] network' (a road network is needed for [analysis] travel = \"road\").",
            fix="Give an OpenStreetMap extract covering the council (e.g. the Geofabrik county extract from "
            'https://download.geofabrik.de/europe/united-kingdom/england.html), or set [analysis] travel = "estimate" '
            "to use straight-line estimates of travel time.",
        )


def _check_subsections(scenario: Scenario, origin: str) -> None:
    """Validate the free-form sections against the dataclasses that consume them."""
    from geosuff.config import sections as settings

    settings.check_keys(scenario, origin=origin)


#: Deepest nesting of tables and arrays read from a config file.
MAX_CONFIG_DEPTH = 12


def _depth(value: Any, level: int = 0) -> int:
    """How deeply ``value`` nests dicts and lists (stops counting past the limit)."""
    if level > MAX_CONFIG_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def load_config(path: str | Path, *, check_files: bool = True) -> Scenario:
    """Load and validate a scenario TOML file.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    check_files : bool
        Also check that every input file exists (default True).

    Raises
    ------
    ConfigError
        With a message naming the key at fault and how to fix it.
    """
    from geosuff.config.safety import MAX_CONFIG_BYTES

    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"Config file {path} does not exist.", fix="Give the path to your scenario .toml file."
        )
    if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path.name} is {path.stat().st_size:,} bytes; a geosuff config is a few kB "
            f"(at most {MAX_CONFIG_BYTES:,} bytes are read).",
            fix="Check that this is your scenario .toml file.",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise ConfigError(
            f"{path.name} nests arrays or tables too deeply to read.",
            fix="A geosuff config nests at most a few levels ([section] key = [values]): "
            "remove the deeply nested value.",
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"{path.name} is not valid TOML: {err}.",
            fix="Fix the syntax at that line (strings need quotes).",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path.name} is not a UTF-8 text file.", fix="Save the config as UTF-8 text."
        ) from None
    if _depth(data) > MAX_CONFIG_DEPTH:
        raise ConfigError(
            f"{path.name} nests arrays or tables {_depth(data)} levels deep; a geosuff config "
            f"needs at most a few (the limit is {MAX_CONFIG_DEPTH}).",
            fix="Remove the deeply nested value.",
        )
    scenario = scenario_from_dict(data, base_dir=path.parent, origin=path.name)
    scenario = scenario.model_copy(update={"source": path.resolve()})
    if check_files:
        check_input_files(scenario)
    return scenario


def check_input_files(scenario: Scenario) -> None:
    """Raise :class:`ConfigError` listing every configured input file that does not exist."""
    missing = []
    for key, value in scenario.inputs.model_dump().items():
        if isinstance(value, Path) and not value.exists():
            missing.append(f"[inputs] {key} = {value}")
    if missing:
        raise ConfigError(
            "These input files do not exist: " + "; ".join(missing) + ".",
            fix="Correct the paths (relative paths are read from the config file's folder).",
        )
    from geosuff.config.safety import previous_outputs

    for folder in scenario.disclosure.previous:
        previous_outputs(folder)
