"""The code lists of :mod:`geosuff.reference`: site types, PLACE codes and groups, bands. A new
provision type is one row of ``site_types.csv`` and every lookup (sites loader, gaps, siting
demand, map style, disclosure) picks it up."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff import reference
from geosuff._errors import InputFileError

LE15_6AA = (485996.0, 308869.0)  # Oakham, Rutland (Code-Point Open 2014)


@pytest.fixture()
def site_types_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Path]]:
    """A copy of the shipped ``site_types.csv`` with extra rows, used in place of it."""

    shipped = reference.SITE_TYPES_FILE.read_text(encoding="utf-8")

    def use(rows: str) -> Path:
        p = tmp_path / "site_types.csv"
        p.write_text(shipped + rows, "utf-8")
        monkeypatch.setattr(reference, "SITE_TYPES_FILE", p)
        reference.clear_caches()
        return p

    yield use
    monkeypatch.undo()
    reference.clear_caches()


def test_shipped_site_types_carry_style_and_sensitivity() -> None:
    st = reference.site_types()
    assert list(st) == [
        "childrens_home",
        "secure_home",
        "foster_cluster",
        "supported_accommodation",
        "care_leaver_unit",
        "short_breaks",
    ]
    assert (st["childrens_home"].marker, st["childrens_home"].colour) == ("H", "#b5175a")
    assert st["foster_cluster"].serves == ("foster",)
    assert st["short_breaks"].serves == ()
    sensitive = {t for t, s in st.items() if s.sensitive}
    assert sensitive == {"childrens_home", "secure_home", "foster_cluster", "short_breaks"}
    # every type has its own marker and colour
    assert len({s.marker for s in st.values()}) == len({s.colour for s in st.values()}) == len(st)
    assert reference.normalise_site_type("Children’s Home") == "childrens_home"
    assert reference.normalise_site_type("K1") == "secure_home"
    assert reference.normalise_site_type("care_leaver_unit") == "care_leaver_unit"
    assert reference.normalise_site_type("hostel") is None
    # fail closed: a type site_types.csv does not know is sensitive
    assert reference.is_sensitive_site_type("hostel") is True
    assert reference.is_sensitive_site_type("supported_accommodation") is False


def test_place_codes_groups_and_site_types_agree() -> None:
    codes = reference.placement_codes()
    groups = reference.placement_groups()
    assert codes["K2"].group == "childrens_home" and codes["U4"].group == "foster"
    assert list(groups)[:2] == ["foster", "childrens_home"]
    assert [g.order for g in groups.values()] == sorted(g.order for g in groups.values())
    assert {c.group for c in codes.values()} <= set(groups)
    types = reference.site_types()
    for g in groups.values():
        assert set(g.site_types) <= set(types), g
    for t in types.values():
        assert set(t.serves) <= set(groups), t
    # the inputs layer's tables are views of the same lists
    from geosuff import inputs

    assert inputs.placement_codes().set_index("code")["group"].to_dict() == {
        c: v.group for c, v in codes.items()
    }
    assert inputs.placement_groups()["group"].tolist() == list(groups)


def test_age_and_count_bands_are_the_reference_bands() -> None:
    from geosuff.analysis import gaps
    from geosuff.inputs.placements import age_band as input_age_band

    ages = [0, 0.5, 1, 4.9, 5, 10, 15.99, 16, 17, 250, np.nan]
    expected = [
        "Under 1",
        "Under 1",
        "1 to 4",
        "1 to 4",
        "5 to 9",
        "10 to 15",
        "10 to 15",
        "16 and over",
        "16 and over",
        "16 and over",
        reference.AGE_NOT_KNOWN,
    ]
    assert gaps.age_band(ages).tolist() == expected
    assert input_age_band(pd.Series(ages)).tolist() == expected
    assert gaps.count_band([0, 1, 4, 5, 9, 10, 300]).tolist() == [
        "0",
        "1–4",
        "1–4",
        "5–9",
        "5–9",
        "10+",
        "10+",
    ]
    assert reference.COUNT_BANDS[-1][1] == math.inf


def test_one_row_of_site_types_adds_a_provision_type_end_to_end(
    site_types_with: Callable[[str], Path], tmp_path: Path
) -> None:
    from geosuff.analysis import gaps
    from geosuff.inputs import Boundaries, default_lookup, load_sites, site_types
    from geosuff.inputs._base import DEMO_POSTCODES
    from geosuff.publication import disclosure, maps
    from geosuff.siting import demand

    assert "respite_home" not in reference.site_types()
    site_types_with('respite_home,"Respite home",childrens_home,R,#123456,yes,"respite;k9"\n')
    rh = reference.site_types()["respite_home"]
    assert (rh.label, rh.serves, rh.marker, rh.colour, rh.sensitive) == (
        "Respite home",
        ("childrens_home",),
        "R",
        "#123456",
        True,
    )
    # the sites loader accepts it (by code and by alias) ...
    p = tmp_path / "sites.csv"
    e, n = LE15_6AA
    p.write_text(
        "site_id,type,places,easting,northing\n"
        f"S1,respite_home,3,{e:.0f},{n:.0f}\nS2,Respite,2,{e:.0f},{n:.0f}\n"
        f"S3,day centre,2,{e:.0f},{n:.0f}\n",
        encoding="utf-8",
    )
    loaded = load_sites(p, lookup=default_lookup(DEMO_POSTCODES), boundaries=Boundaries.load())
    t = loaded.table
    assert t["type"].tolist()[:2] == ["respite_home", "respite_home"]
    assert t["status"].tolist() == ["used", "used", "excluded"]
    assert "respite_home" in site_types()["type"].tolist()
    # ... gaps and siting count it as serving children's-home placements ...
    assert "respite_home" in gaps.site_types_serving("childrens_home")
    assert gaps.site_type_labels()["respite_home"] == "Respite home"
    assert demand._site_type_groups()["respite_home"] == {"childrens_home"}
    # ... the map draws it with its own marker and label ...
    assert maps.site_style("respite_home") == ("R", "#123456")
    assert maps._site_labels()["respite_home"] == "Respite home"
    assert maps._ordered_types(["respite_home", "childrens_home"]) == [
        "childrens_home",
        "respite_home",
    ]
    # ... and its locations are withheld as its sensitive flag says
    assert disclosure.sensitive_site_rows(t).tolist() == [True, True, True]


def test_sensitive_flag_fails_closed(site_types_with: Callable[[str], Path]) -> None:
    site_types_with("day_centre,Day centre,,D,#000000,,\n")
    assert reference.site_types()["day_centre"].sensitive is True  # blank: sensitive
    site_types_with("day_centre,Day centre,,D,#000000,maybe,\n")
    with pytest.raises(InputFileError, match="sensitive"):
        reference.site_types()


def test_uk_speeds_are_typed_rows_the_network_uses(tmp_path: Path) -> None:
    from geosuff._errors import ConfigError
    from geosuff.network import load_speed_table

    speeds = reference.uk_speeds()
    mw = speeds["motorway"]
    assert isinstance(mw, reference.RoadSpeed)
    assert mw.kph == pytest.approx(70 * reference.MPH_TO_KPH)
    assert "70 mph" in mw.basis
    assert load_speed_table() == {hw: s.kph for hw, s in speeds.items()}
    assert reference.speed_table() is speeds  # cached
    own = tmp_path / "speeds.csv"
    own.write_text("highway,speed_kph\nresidential,30\n", encoding="utf-8")
    assert reference.speed_table(own) == {"residential": reference.RoadSpeed("residential", 30.0)}
    own.write_text("highway,speed_mph\nresidential,fast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad speed for highway 'residential'"):
        reference.speed_table(own)


def test_use_aliases_and_cluster_types_come_from_the_rules_file() -> None:
    """Issue #11: the other spellings of candidate uses and the clustering score's site types are
    data (``siting_rules.toml``), not code; every alias names a shipped use and every cluster type
    is a shipped site type."""
    import tomllib

    from geosuff.config.siting import SitingSettings
    from geosuff.inputs import candidates

    raw = tomllib.loads((reference.DATA_DIR / "siting_rules.toml").read_text(encoding="utf-8"))
    assert reference.candidate_use_aliases() == raw["aliases"]
    assert candidates._USE_ALIASES == raw["aliases"]
    assert set(raw["aliases"].values()) <= set(reference.candidate_uses())
    assert not set(raw["aliases"]) & set(reference.candidate_uses())
    assert reference.cluster_site_types() == tuple(raw["clustering"]["site_types"])
    assert SitingSettings().cluster_site_types == reference.cluster_site_types()
    assert set(reference.cluster_site_types()) <= set(reference.site_types())


def test_method_text_states_the_reference_constants() -> None:
    """The report's method paragraph quotes the DfE km-per-mile from :mod:`geosuff.reference`."""
    import inspect

    from geosuff.publication.report import method

    src = inspect.getsource(method)
    assert "1.6093" not in src and "1.609344" not in src
    assert f"{reference.DFE_KM_PER_MILE:g}" == "1.6093"
