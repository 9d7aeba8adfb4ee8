"""Region files: several councils' ordinary scenario files run together (a consortium).

.. code-block:: toml

    name = "D2N2"                       # shown in titles
    councils = ["derby/config.toml", "nottinghamshire/config.toml"]
    network = "east-midlands.osm.pbf"   # optional: one network for all (overrides each council's)
    [siting]
    k = 6
    [output]
    dir = "outputs/d2n2"
    [compute]
    scheduler = ""      # "" = embedded dask LocalCluster; "none" = in process; or "tcp://host:8786"
    workers = 2

Relative paths are read from the region file's folder. Unknown keys are errors naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geosuff._errors import ConfigError
from geosuff.config import Scenario, did_you_mean, load_config

#: Worker processes of the embedded Dask cluster when ``[compute] workers`` is not given.
DEFAULT_WORKERS = 2


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComputeConfig(_Section):
    """``[compute]``: where the per-council runs execute.

    ``scheduler``: ``""`` an embedded Dask ``LocalCluster`` of ``workers`` processes, ``"none"``
    one after the other in this process, or a scheduler address (``tcp://host:8786``).
    """

    scheduler: str = ""
    workers: int = Field(default=DEFAULT_WORKERS, ge=1)

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        v = v.strip()
        if v in ("", "none") or "://" in v:
            return v
        raise ValueError(
            'must be "" (an embedded Dask cluster), "none" (in this process) or a Dask '
            'scheduler address such as "tcp://127.0.0.1:8786"'
        )


class RegionOutput(_Section):
    """``[output]``: the region's folder (each council under ``<dir>/<code>/``, the regional
    outputs under ``<dir>/region/``).
    """

    dir: Path = Path("outputs/region")


class RegionFile(_Section):
    """The region file as written (paths still relative)."""

    name: str
    councils: list[str]
    network: str | None = None
    siting: dict[str, Any] = Field(default_factory=dict)
    output: RegionOutput = Field(default_factory=RegionOutput)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @field_validator("councils")
    @classmethod
    def _councils(cls, v: list[str]) -> list[str]:
        if len(v) < 1:
            raise ValueError("must list at least one council scenario file")
        return v


class Region(BaseModel):
    """A loaded region: its councils' scenarios, each pointed at ``<dir>/<code>/``.

    Attributes
    ----------
    name : str
        Shown in titles.
    scenarios : list[Scenario]
        One per council, in the region file's order (output dirs and the shared network set).
    network : Path or None
        The shared road network (None: each council's own).
    siting : dict
        ``[siting]`` of the region (for joint siting; see :mod:`geosuff.region`).
    out_dir : Path
        The region's folder.
    compute : ComputeConfig
    source : Path or None
        The region file.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    scenarios: list[Scenario]
    network: Path | None
    siting: dict[str, Any]
    out_dir: Path
    compute: ComputeConfig
    source: Path | None = None

    @property
    def codes(self) -> list[str]:
        """The councils' GSS codes, in order."""
        return [s.council for s in self.scenarios]

    @property
    def synthetic(self) -> bool:
        """True when any council's data is synthetic."""
        return any(s.synthetic for s in self.scenarios)

    @property
    def region_dir(self) -> Path:
        """``<dir>/region/``: the regional outputs."""
        return self.out_dir / "region"


def _explain(err: ValidationError, origin: str) -> ConfigError:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        key = loc[0] if len(loc) == 1 else f"[{'.'.join(loc[:-1])}] {loc[-1]}"
        if e["type"] == "extra_forbidden":
            allowed: Any = RegionFile.model_fields
            if len(loc) == 2 and loc[0] in ("output", "compute"):
                allowed = (RegionOutput if loc[0] == "output" else ComputeConfig).model_fields
            lines.append(f"unknown key '{key}'" + did_you_mean(loc[-1], list(allowed)))
        elif e["type"] == "missing":
            lines.append(f"missing required key '{key}'")
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            lines.append(f"key '{key}' {msg} (got {e.get('input')!r})")
    return ConfigError(
        f"{origin}: " + "; ".join(lines) + ".",
        fix="Check these keys against the README's 'Regions' section (name, councils, network, "
        "[siting], [output] dir, [compute] scheduler and workers).",
    )


def _resolve(base: Path, value: str | Path) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def load_region(path: str | Path) -> Region:
    """Load a region file and every council scenario it names.

    Each council's ``[output] dir`` becomes ``<region dir>/<council code>/`` and, when the region
    gives ``network``, its ``[inputs] network`` that file (with ``travel = "road"``).

    Raises
    ------
    ConfigError
        Unknown or mistyped keys, missing council files (all named), a council listed twice, or
        councils whose ``[analysis] local_minutes`` differ (the regional "within T minutes" needs
        one T).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"Region file {path} does not exist.", fix="Give the path to your region .toml file."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"{path.name} is not valid TOML: {err}.",
            fix="Fix the syntax at that line (strings need quotes).",
        ) from None
    try:
        rf = RegionFile.model_validate(data)
    except ValidationError as err:
        raise _explain(err, path.name) from None
    base = path.parent.resolve()
    files = [_resolve(base, c) for c in rf.councils]
    missing = [
        f"{c} (looked for {f})" for c, f in zip(rf.councils, files, strict=True) if not f.is_file()
    ]
    if missing:
        raise ConfigError(
            f"{path.name}: these council files do not exist: " + "; ".join(missing) + ".",
            fix="Correct the paths in 'councils' (relative paths are read from the region file's folder).",
        )
    network = _resolve(base, rf.network) if rf.network else None
    if network is not None and not network.is_file():
        raise ConfigError(
            f"{path.name}: network file {network} does not exist.",
            fix="Correct 'network' or leave it out to use each council's own [inputs] network.",
        )
    out_dir = _resolve(base, rf.output.dir)
    scenarios = []
    for f in files:
        sc = load_config(f)
        update: dict[str, Any] = {
            "output": sc.output.model_copy(update={"dir": out_dir / sc.council})
        }
        if network is not None:
            update["inputs"] = sc.inputs.model_copy(update={"network": network})
            update["analysis"] = sc.analysis.model_copy(update={"travel": "road"})
        scenarios.append(sc.model_copy(update=update))
    codes = [s.council for s in scenarios]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise ConfigError(
            f"{path.name}: council {', '.join(twice)} is listed more than once.",
            fix="List each council's scenario file once in 'councils'.",
        )
    local = {s.analysis.local_minutes for s in scenarios}
    if len(local) > 1:
        raise ConfigError(
            f"{path.name}: the councils' [analysis] local_minutes differ ({sorted(local)}).",
            fix="Use the same local_minutes in every council's scenario file: the regional "
            "'within T minutes' figures need one T.",
        )
    return Region(
        name=rf.name,
        scenarios=scenarios,
        network=network,
        siting=dict(rf.siting),
        out_dir=out_dir,
        compute=rf.compute,
        source=path.resolve(),
    )


def with_compute(region: Region, *, scheduler: str | None, workers: int | None) -> Region:
    """``region`` with ``[compute]`` overridden from the command line (None: keep)."""
    upd: dict[str, Any] = {}
    if scheduler is not None:
        upd["scheduler"] = scheduler
    if workers is not None:
        upd["workers"] = workers
    if not upd:
        return region
    try:
        compute = ComputeConfig.model_validate(region.compute.model_dump() | upd)
    except ValidationError as err:
        raise _explain(err, "--scheduler/--workers") from None
    return region.model_copy(update={"compute": compute})
