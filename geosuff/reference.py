"""Reference data: the one reader of geosuff's code lists, bands and fixed constants.

Everything a later layer needs to know about SSDA903 codes, site types, candidate uses, age and
count bands, LTLA -> UTLA and the DfE distance formula comes from here, read from the files in
``geosuff/data/`` (so that a new provision type or a new PLACE code is a data row, not code).
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from geosuff._errors import ConfigError, InputFileError

#: British National Grid: all metric work.
BNG = "EPSG:27700"
#: WGS84 lon/lat: only at the map boundary and for lon/lat inputs.
WGS84 = "EPSG:4326"

#: The DfE placement-distance formula: ``round(sqrt(dE² + dN²) / 1000 / DFE_KM_PER_MILE, 1)``.
DFE_KM_PER_MILE = 1.6093

#: Folder of the shipped data files.
DATA_DIR = Path(str(resources.files("geosuff") / "data"))
LTLA_UTLA_FILE = DATA_DIR / "ltla_utla_apr23.csv"
SITE_TYPES_FILE = DATA_DIR / "site_types.csv"
PLACEMENT_CODES_FILE = DATA_DIR / "placement_codes.csv"
PLACEMENT_GROUPS_FILE = DATA_DIR / "placement_groups.csv"
UK_SPEEDS_FILE = DATA_DIR / "uk_speeds.csv"
PLACEMENT_PROVIDERS_FILE = DATA_DIR / "placement_providers.csv"
PLACEMENT_COSTS_FILE = DATA_DIR / "placement_costs.csv"
OC3_CODES_FILE = DATA_DIR / "oc3_codes.csv"
NEEDS_FILE = DATA_DIR / "needs.csv"

#: Miles per hour to km/h (exact: 1 mile = 1.609344 km).
MPH_TO_KPH = 1.609344

#: DfE age bands for children looked after: (lower, upper) years, label.
AGE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 1, "Under 1"),
    (1, 5, "1 to 4"),
    (5, 10, "5 to 9"),
    (10, 16, "10 to 15"),
    (16, math.inf, "16 and over"),
)
#: Age band of a child whose age is not known.
AGE_NOT_KNOWN = "Not known"
#: Count bands for publication, (lower, upper) children and label (raw counts stay internal).
COUNT_BANDS: tuple[tuple[int, float, str], ...] = (
    (1, 5, "1–4"),
    (5, 10, "5–9"),
    (10, math.inf, "10+"),
)


@dataclass(frozen=True)
class LocalAuthority:
    """A lower-tier LA (district or unitary) and the upper-tier LA it belongs to (April 2023)."""

    code: str
    name: str
    utla_code: str
    utla_name: str

    @property
    def is_district(self) -> bool:
        return self.code != self.utla_code


@cache
def local_authorities() -> dict[str, LocalAuthority]:
    """Every English/Welsh LTLA of April 2023 by GSS code (``geosuff/data/ltla_utla_apr23.csv``)."""
    with LTLA_UTLA_FILE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        r["LTLA23CD"]: LocalAuthority(r["LTLA23CD"], r["LTLA23NM"], r["UTLA23CD"], r["UTLA23NM"])
        for r in rows
    }


@cache
def ltla_to_utla() -> dict[str, str]:
    """LTLA GSS code -> UTLA GSS code (unitary authorities map to themselves); cached, do not mutate."""
    return {code: la.utla_code for code, la in local_authorities().items()}


def describe_la_code(code: str) -> str | None:
    """A sentence for a code that is a district rather than a council with the duty, e.g.
    "E07000114 is Thanet, a district of Kent (E10000016)"; None when the code is not a district.
    """
    la = local_authorities().get(code)
    if la is None or not la.is_district:
        return None
    return f"{code} is {la.name}, a district of {la.utla_name} ({la.utla_code})"


# ----------------------------------------------------------------------------------------------
# Road speeds by OSM highway class
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoadSpeed:
    """One row of a highway-class speed table (``geosuff/data/uk_speeds.csv``).

    Attributes
    ----------
    highway : str
        The OSM ``highway`` value (``motorway``, ``residential``...).
    kph : float
        Free-flow speed in km/h (the row's ``speed_kph``, or ``speed_mph`` converted).
    basis : str
        Why the speed is what it is (the ``basis`` column; empty when the table has none).
    """

    highway: str
    kph: float
    basis: str = ""


@cache
def _uk_speeds_text() -> str:
    return UK_SPEEDS_FILE.read_text(encoding="utf-8")


def speed_table_text(path: str | Path | None = None) -> str:
    """The text of a highway-class speed table.

    Parameters
    ----------
    path : str or Path, optional
        A scenario's own table (``[network] speed_table``); None for the shipped UK table
        ``geosuff/data/uk_speeds.csv`` (read once, cached).

    Returns
    -------
    str
        The CSV text (its sha256 keys the network cache).
    """
    if path is None:
        return _uk_speeds_text()
    return Path(path).expanduser().read_text(encoding="utf-8")


def _road_speed(row: dict[str, str], name: str) -> RoadSpeed:
    hw = (row.get("highway") or "").strip()
    try:
        if row.get("speed_kph") not in (None, ""):
            kph = float(row["speed_kph"])
        else:
            kph = float(row["speed_mph"]) * MPH_TO_KPH
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"Speed table {name}: bad speed for highway {hw!r}.",
            fix="Every row needs a number in speed_mph (or speed_kph).",
        ) from exc
    return RoadSpeed(hw, kph, (row.get("basis") or "").strip())


def _parse_speed_table(text: str, name: str) -> dict[str, RoadSpeed]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "highway" not in rows[0]:
        raise ConfigError(
            f"Speed table {name} has no 'highway' column.",
            fix="Use columns highway,speed_mph (see geosuff/data/uk_speeds.csv).",
        )
    out: dict[str, RoadSpeed] = {}
    for row in rows:
        rs = _road_speed(row, name)
        if rs.highway:
            out[rs.highway] = rs
    return out


@cache
def uk_speeds() -> Mapping[str, RoadSpeed]:
    """The shipped UK speed table ``geosuff/data/uk_speeds.csv`` by highway class, in file
    order; cached, do not mutate.
    """
    return _parse_speed_table(_uk_speeds_text(), UK_SPEEDS_FILE.name)


def speed_table(path: str | Path | None = None) -> Mapping[str, RoadSpeed]:
    """A highway-class speed table by highway class.

    Parameters
    ----------
    path : str or Path, optional
        CSV with a ``highway`` column and ``speed_mph`` or ``speed_kph`` (optional ``basis``).
        None gives the shipped UK table (:func:`uk_speeds`).

    Returns
    -------
    Mapping of str to RoadSpeed
        Each highway class's row.

    Raises
    ------
    ConfigError
        When the table has no ``highway`` column or a row has no number for its speed.
    """
    if path is None:
        return uk_speeds()
    return _parse_speed_table(speed_table_text(path), str(path))


# ----------------------------------------------------------------------------------------------
# Candidate uses: the shipped siting rules
# ----------------------------------------------------------------------------------------------
#: The shipped eligibility rules, one table per candidate use.
SITING_RULES_FILE = "data/siting_rules.toml"


@functools.cache
def _siting_rules_text() -> str:
    return resources.files("geosuff").joinpath(SITING_RULES_FILE).read_text("utf-8")


def siting_rules() -> dict[str, dict[str, object]]:
    """The shipped ``geosuff/data/siting_rules.toml``: candidate use -> its rule fields (raw TOML
    values; :mod:`geosuff.config.siting` checks and types them).
    """
    data = tomllib.loads(_siting_rules_text()).get("rules", {})
    return {str(use): dict(table) for use, table in data.items()}


def candidate_use_aliases() -> dict[str, str]:
    """Other spellings of the candidate uses (``[aliases]`` of ``geosuff/data/siting_rules.toml``):
    spelling -> use.
    """
    data = tomllib.loads(_siting_rules_text()).get("aliases", {})
    return {str(k): str(v) for k, v in data.items()}


def cluster_site_types() -> tuple[str, ...]:
    """Site types counted as a cluster of registered homes by the clustering score
    (``[clustering] site_types`` of ``geosuff/data/siting_rules.toml``).
    """
    data = tomllib.loads(_siting_rules_text()).get("clustering", {})
    return tuple(str(t) for t in data.get("site_types", ()))


def candidate_uses() -> tuple[str, ...]:
    """Candidate uses the shipped siting rules define, in file order. A scenario adds more with
    ``[siting.rules.<use>]``.
    """
    return tuple(siting_rules())


# ----------------------------------------------------------------------------------------------
# Provision (site) types, SSDA903 PLACE codes and placement groups
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiteType:
    """A provision type: one row of ``geosuff/data/site_types.csv``.

    Attributes
    ----------
    type : str
        The type code (``childrens_home``).
    label : str
        Display label ("Children's home").
    serves : tuple of str
        Placement groups (``placement_groups.csv``) the type serves; empty for none.
    marker : str
        Map marker letter.
    colour : str
        Map marker colour (CSS hex).
    sensitive : bool
        True when children live there, so its exact location is never published.
    aliases : tuple of str
        Other spellings accepted in a sites file (lower case, single spaces).
    serves_need_codes : tuple of str
        Children's needs (``needs.csv`` codes, e.g. ``disabled``) the type is equipped for
        (column ``serves_need_codes``); empty for none in particular.
    """

    type: str
    label: str
    serves: tuple[str, ...]
    marker: str
    colour: str
    sensitive: bool
    aliases: tuple[str, ...] = ()
    serves_need_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceCode:
    """An SSDA903 PLACE code: one row of ``geosuff/data/placement_codes.csv``."""

    code: str
    description: str
    group: str
    dfe_group: str


@dataclass(frozen=True)
class PlacementGroup:
    """A placement-type group: one row of ``geosuff/data/placement_groups.csv``.

    ``site_types`` are the provision types that group is placed in; ``order`` is the row order of
    published tables.
    """

    group: str
    label: str
    order: int
    site_types: tuple[str, ...]


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in str(value or "").split(";") if t.strip())


def _read_rows(path: Path) -> list[dict[str, str]]:
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        return [{k: (v or "") for k, v in r.items() if k is not None} for r in csv.DictReader(fh)]


def _sensitive_flag(value: str, typ: str, path: Path) -> bool:
    v = value.strip().lower()
    if not v or v in _YES:  # blank: fail closed
        return True
    if v in _NO:
        return False
    raise InputFileError(
        f"{path.name}: site type {typ!r} has sensitive = {value!r}.",
        fix="Use yes or no in the sensitive column (yes when children live there).",
    )


@cache
def site_types() -> Mapping[str, SiteType]:
    """Every provision type of ``geosuff/data/site_types.csv``, in file order; cached, do not
    mutate.
    """
    path = SITE_TYPES_FILE
    out: dict[str, SiteType] = {}
    for r in _read_rows(path):
        typ = r.get("type", "").strip()
        if not typ:
            continue
        out[typ] = SiteType(
            type=typ,
            label=r.get("label", "").strip() or typ,
            serves=_split(r.get("serves_groups")),
            marker=r.get("marker", "").strip() or "?",
            colour=r.get("colour", "").strip() or UNKNOWN_SITE_COLOUR,
            sensitive=_sensitive_flag(r.get("sensitive", ""), typ, path),
            aliases=tuple(_norm_type_text(a) for a in _split(r.get("aliases"))),
            serves_need_codes=_need_codes_of(r.get("serves_need_codes"), f"site type {typ!r}"),
        )
    return out


#: Map marker colour of a site whose type is not in ``site_types.csv``.
UNKNOWN_SITE_COLOUR = "#616e7c"
#: Map marker letter of a site whose type is not in ``site_types.csv``.
UNKNOWN_SITE_MARKER = "?"


def _norm_type_text(value: object) -> str:
    return re.sub(r"\s+", " ", str(value).strip().lower().replace("_", " ").replace("’", "'"))


@cache
def _site_type_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for st in site_types().values():
        for a in st.aliases:
            out.setdefault(a, st.type)
    return out


def normalise_site_type(value: object) -> str | None:
    """The ``site_types.csv`` type of a site-type text as a sites file spells it ("Children's
    home", "K2", "childrens_home"); None when it is none of them.
    """
    v = _norm_type_text(value)
    if v.replace(" ", "_") in site_types():
        return v.replace(" ", "_")
    return _site_type_aliases().get(v)


def is_sensitive_site_type(value: object) -> bool:
    """True when a site of this type may not have its exact location published: the type's
    ``sensitive`` flag, and True (fail closed) for a type not in ``site_types.csv``.
    """
    st = site_types().get(str(value))
    return True if st is None else st.sensitive


@cache
def placement_codes() -> Mapping[str, PlaceCode]:
    """SSDA903 PLACE codes of ``geosuff/data/placement_codes.csv``, in file order; cached."""
    return {
        r["code"].strip(): PlaceCode(
            r["code"].strip(), r.get("description", ""), r.get("group", ""), r.get("dfe_group", "")
        )
        for r in _read_rows(PLACEMENT_CODES_FILE)
        if r.get("code", "").strip()
    }


@cache
def placement_groups() -> Mapping[str, PlacementGroup]:
    """Placement groups of ``geosuff/data/placement_groups.csv``, in ``order``; cached."""
    rows = [
        PlacementGroup(
            r["group"].strip(), r.get("label", ""), int(r["order"]), _split(r.get("site_types"))
        )
        for r in _read_rows(PLACEMENT_GROUPS_FILE)
        if r.get("group", "").strip()
    ]
    return {g.group: g for g in sorted(rows, key=lambda g: g.order)}


# ----------------------------------------------------------------------------------------------
# SSDA903 PLACE_PROVIDER codes and weekly placement costs
# ----------------------------------------------------------------------------------------------
#: Provider sectors: the council's own provision, every other provider, a parent (PR0).
SECTOR_IN_HOUSE = "in_house"
SECTOR_EXTERNAL = "external"
SECTOR_PARENT = "parent"
#: Sector of a placement whose PLACE_PROVIDER is blank or not a code of the file.
SECTOR_NOT_KNOWN = "not_known"
#: The sectors a weekly cost may be given for (``placement_costs.csv``, ``[costs]``).
COST_SECTORS: tuple[str, ...] = (SECTOR_IN_HOUSE, SECTOR_EXTERNAL)


@dataclass(frozen=True)
class ProviderCode:
    """An SSDA903 PLACE_PROVIDER code: one row of ``geosuff/data/placement_providers.csv``.

    ``sector`` is ``in_house`` (PR1), ``external`` (PR2-PR5) or ``parent`` (PR0).
    """

    code: str
    description: str
    sector: str
    sector_label: str


@cache
def provider_codes() -> Mapping[str, ProviderCode]:
    """PLACE_PROVIDER codes of ``geosuff/data/placement_providers.csv``, in file order; cached."""
    out: dict[str, ProviderCode] = {}
    for r in _read_rows(PLACEMENT_PROVIDERS_FILE):
        code = r.get("code", "").strip().upper()
        if not code:
            continue
        sector = r.get("sector", "").strip()
        if sector not in (SECTOR_IN_HOUSE, SECTOR_EXTERNAL, SECTOR_PARENT):
            raise InputFileError(
                f"{PLACEMENT_PROVIDERS_FILE.name}: code {code} has sector {sector!r}.",
                fix="Use in_house, external or parent in the sector column.",
            )
        out[code] = ProviderCode(
            code, r.get("description", ""), sector, r.get("sector_label", "") or sector
        )
    return out


@dataclass(frozen=True)
class PlacementCost:
    """A default weekly placement cost: one row of ``geosuff/data/placement_costs.csv``.

    Attributes
    ----------
    group : str
        Placement group (``placement_groups.csv``).
    sector : str
        ``in_house`` or ``external``.
    weekly_cost_gbp : float
        Cost of one child's placement for one week, pounds.
    price_year : str
        The financial year of the prices (e.g. 2018-19).
    source : str
        Where the figure comes from.
    note : str
        Caveats (the shipped figures are indicative defaults).
    """

    group: str
    sector: str
    weekly_cost_gbp: float
    price_year: str
    source: str
    note: str = ""


@cache
def placement_costs() -> Mapping[tuple[str, str], PlacementCost]:
    """Default weekly costs of ``geosuff/data/placement_costs.csv`` by (group, sector); cached."""
    out: dict[tuple[str, str], PlacementCost] = {}
    for r in _read_rows(PLACEMENT_COSTS_FILE):
        group, sector = r.get("group", "").strip(), r.get("sector", "").strip()
        if not group:
            continue
        try:
            cost = float(r["weekly_cost_gbp"])
        except (KeyError, ValueError) as exc:
            raise InputFileError(
                f"{PLACEMENT_COSTS_FILE.name}: no weekly_cost_gbp number for {group} {sector}.",
                fix="Give every row a weekly cost in pounds.",
            ) from exc
        out[(group, sector)] = PlacementCost(
            group, sector, cost, r.get("price_year", ""), r.get("source", ""), r.get("note", "")
        )
    return out


@dataclass(frozen=True)
class OC3Code:
    """One code of an SSDA903 OC3 (care leavers) field: a row of ``geosuff/data/oc3_codes.csv``.

    ``field`` is ``IN_TOUCH``, ``ACCOM`` (the accommodation letter, or ``0`` not applicable) or
    ``ACCOM_SUITABLE`` (the second character of the 903 ``ACCOM`` code: 1 suitable, 2 not);
    ``category`` is geosuff's grouping (``in_touch``, ``suitable``...); ``suitability`` lists the
    suitability digits the DfE allows with an accommodation letter (``S`` and ``X``: only 2).
    """

    field: str
    code: str
    label: str
    category: str
    suitability: tuple[str, ...]


@cache
def oc3_codes() -> Mapping[str, Mapping[str, OC3Code]]:
    """The OC3 code lists of ``geosuff/data/oc3_codes.csv`` by field, then code; cached."""
    out: dict[str, dict[str, OC3Code]] = {}
    for r in _read_rows(OC3_CODES_FILE):
        fld, code = r.get("field", "").strip(), r.get("code", "").strip()
        if not fld or not code:
            continue
        out.setdefault(fld, {})[code] = OC3Code(
            fld,
            code,
            r.get("label", "").strip(),
            r.get("category", "").strip(),
            _split(r.get("suitability")),
        )
    return out


# ----------------------------------------------------------------------------------------------
# Children's needs (placements' DISABLED / NEED columns)
# ----------------------------------------------------------------------------------------------
#: The need code a placement's ``DISABLED = Y`` stands for (a row of ``needs.csv``).
DISABLED_NEED = "disabled"


@dataclass(frozen=True)
class Need:
    """A child's need: one row of ``geosuff/data/needs.csv`` (``code``, ``label``, ``aliases``)."""

    code: str
    label: str
    aliases: tuple[str, ...] = ()


def _norm_need_text(value: object) -> str:
    return re.sub(r"[\s_\-]+", " ", str(value).strip().lower().replace("’", "'"))


@cache
def needs() -> Mapping[str, Need]:
    """Every need of ``geosuff/data/needs.csv``, in file order; cached, do not mutate."""
    out: dict[str, Need] = {}
    for r in _read_rows(NEEDS_FILE):
        code = r.get("code", "").strip()
        if code:
            out[code] = Need(
                code,
                r.get("label", "").strip() or code,
                tuple(_norm_need_text(a) for a in _split(r.get("aliases"))),
            )
    if DISABLED_NEED not in out:
        raise InputFileError(
            f"{NEEDS_FILE.name} has no {DISABLED_NEED!r} row.",
            fix=f"Keep the {DISABLED_NEED!r} need: DISABLED = Y stands for it.",
        )
    return out


def normalise_need(value: object) -> str | None:
    """The ``needs.csv`` code of a need as a placements file spells it ("SEMH", "complex
    needs", "semh"); None when it is none of them.
    """
    v = _norm_need_text(value)
    for nd in needs().values():
        if v in (_norm_need_text(nd.code), _norm_need_text(nd.label), *nd.aliases):
            return nd.code
    return None


def _need_codes_of(value: str | None, where: str) -> tuple[str, ...]:
    """Need codes of a data cell (``;``-separated); unknown codes are an error naming the file."""
    codes = []
    for tok in _split(value):
        code = normalise_need(tok)
        if code is None:
            raise InputFileError(
                f"{where}: need {tok!r} is not in {NEEDS_FILE.name}.",
                fix="Use one of: " + ", ".join(needs()) + ".",
            )
        codes.append(code)
    return tuple(dict.fromkeys(codes))


def clear_caches() -> None:
    """Forget the code lists read so far (after changing a data path, e.g. in tests)."""
    for f in (
        site_types,
        _site_type_aliases,
        placement_codes,
        placement_groups,
        _uk_speeds_text,
        uk_speeds,
        provider_codes,
        placement_costs,
        oc3_codes,
        needs,
    ):
        f.cache_clear()
