"""Scenario config: TOML -> validated Scenario; errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosuff._errors import ConfigError
from geosuff.config import load_config, scenario_from_dict

MINIMAL = """
council = "E06000017"
[inputs]
placements = "placements.csv"
sites = "sites.csv"
network = "roads.osm.pbf"
"""


def _write(tmp_path: Path, text: str, files: bool = True) -> Path:
    if files:
        for name in ("placements.csv", "sites.csv", "roads.osm.pbf"):
            (tmp_path / name).write_text("x\n")
    p = tmp_path / "scenario.toml"
    p.write_text(text)
    return p


def test_minimal_config_defaults_and_relative_paths(tmp_path: Path) -> None:
    sc = load_config(_write(tmp_path, MINIMAL))
    assert sc.council == "E06000017"
    assert sc.inputs.placements == (tmp_path / "placements.csv").resolve()
    assert sc.analysis.minutes == [15.0, 30.0, 45.0, 60.0]
    assert sc.analysis.far_miles == 20.0
    assert sc.analysis.local_target == 0.75
    assert sc.disclosure.min_count == 5
    assert sc.inputs.candidates is None


def test_full_example_from_issue(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace(
            'network = "roads.osm.pbf"', 'network = "roads.osm.pbf"\ncandidates = "placements.csv"'
        )
        + """
[analysis]
minutes = [60, 15, 30, 45]
far_miles = 20
local_target = 0.75
[disclosure]
min_count = 5
[output]
dir = "outputs/rutland"
"""
    )
    sc = load_config(_write(tmp_path, text))
    assert sc.analysis.minutes == [15.0, 30.0, 45.0, 60.0]  # sorted
    assert sc.output.dir == (tmp_path / "outputs" / "rutland").resolve()


@pytest.mark.parametrize(
    "extra, key",
    [
        ("[analysis]\nminuets = [15]\n", "minuets"),
        ("[analysis]\nfar_miles = 'twenty'\n", "far_miles"),
        ("[analysis]\nlocal_target = 75\n", "local_target"),
        ("[analysis]\nminutes = [-5]\n", "minutes"),
        ("[disclosure]\nmin_count = 0\n", "min_count"),
        ("[outputs]\ndir = 'x'\n", "outputs"),
        ("[network]\nspeed_factor_typo = 1\n", "speed_factor_typo"),
        ("[siting]\nkk = 3\n", "kk"),
    ],
)
def test_bad_keys_and_types_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, MINIMAL + extra))
    assert key in str(err.value)


def test_bad_council_code(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="council"):
        load_config(_write(tmp_path, MINIMAL.replace("E06000017", "Rutland")))
    with pytest.raises(ConfigError, match="English"):
        load_config(_write(tmp_path, MINIMAL.replace("E06000017", "W06000015")))


def test_missing_required_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inputs"):
        load_config(_write(tmp_path, 'council = "E06000017"\n'))


def test_missing_input_files_are_listed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, MINIMAL, files=False))
    msg = str(err.value)
    assert "placements" in msg and "sites" in msg and "network" in msg


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "council = E06000017\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_config_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        scenario_from_dict({"council": "E06000017"})


def test_a_district_code_names_its_county() -> None:
    """A district's code (Thanet) is refused with the county that has the duty (Kent)."""
    from geosuff._errors import UnknownCodeError
    from geosuff.analysis.distance import resolve_council
    from geosuff.inputs import Boundaries

    with pytest.raises(
        UnknownCodeError, match=r"E07000114 is Thanet, a district of Kent \(E10000016\)"
    ):
        Boundaries.load().geometry("E07000114")
    with pytest.raises(ValueError, match="Thanet, a district of Kent"):
        resolve_council("E07000114")


def _readme_config_keys() -> dict[str, set[str]]:
    """Keys of the README's configuration block, by section ("" = top level)."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = text.split("## Configuration", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    keys: dict[str, set[str]] = {"": set()}
    section = ""
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
            keys.setdefault(section, set())
        elif "=" in line:
            keys[section].add(line.split("=", 1)[0].strip())
    return keys


def test_every_accepted_key_is_documented_and_every_documented_key_is_accepted() -> None:
    """No key is accepted silently without a README line, and no README key is refused."""
    from geosuff import config as C

    documented = _readme_config_keys()
    models = {
        "": C.Scenario,
        "inputs": C.InputsConfig,
        "analysis": C.AnalysisConfig,
        "disclosure": C.DisclosureConfig,
        "output": C.OutputConfig,
    }
    internal = {"source"}  # set by load_config (the config file's path), not a key users write
    for section, model in models.items():
        fields = set(model.model_fields) - internal
        if section == "":
            fields -= set(models) | {"network", "snapping", "siting", "costs"}
        assert fields - documented.get(section, set()) == set(), (
            f"[{section}] accepted but not in README"
        )
        assert documented.get(section, set()) - fields == set(), (
            f"[{section}] in README but not accepted"
        )


def test_within_miles_target_reaches_the_headline(tmp_path: Path) -> None:
    """[analysis] within_miles_target changes the report's first headline (it was accepted and ignored)."""
    import dataclasses

    from geosuff.publication import report
    from tests.fixtures_results import make_results

    res = make_results(tmp_path)
    base = report.headlines(res)[0].comparison
    assert "Target" not in base
    sc = res.scenario.model_copy(
        update={"analysis": res.scenario.analysis.model_copy(update={"within_miles_target": 0.99})}
    )
    res2 = dataclasses.replace(res, scenario=sc)
    text = report.headlines(res2)[0].comparison
    assert "Target 99% placed 20 miles or less from home" in text and "short of the target" in text


def test_unknown_key_names_its_section_and_suggests_the_spelling(tmp_path: Path) -> None:
    text = MINIMAL.replace('placements = "placements.csv"', 'placments = "placements.csv"')
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text), check_files=False)
    msg = str(err.value)
    assert "unknown key '[inputs] placments'" in msg
    assert "did you mean 'placements'?" in msg
    assert "missing required key '[inputs] placements'" in msg


@pytest.mark.parametrize(
    ("extra", "suggestion"),
    [
        ("[analysis]\nminuets = [15]\n", "did you mean 'minutes'?"),
        ("[siting]\nweight_coverag = 0.3\n", "did you mean 'weight_coverage'?"),
        ("[snapping]\nmax_snapm = 100\n", "did you mean 'max_snap_m'?"),
    ],
)
def test_unknown_section_keys_suggest_the_closest_key(
    tmp_path: Path, extra: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, MINIMAL + extra), check_files=False)
    assert suggestion in str(err.value)


def test_no_suggestion_for_a_key_like_nothing_allowed() -> None:
    from geosuff.config import did_you_mean

    assert did_you_mean("placments", ["placements", "sites"]) == " (did you mean 'placements'?)"
    assert did_you_mean("zzzz", ["placements", "sites"]) == ""


NO_NETWORK = """
council = "E06000047"
[inputs]
placements = "placements.csv"
sites = "sites.csv"
"""


def test_travel_defaults_to_road_and_is_validated(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, MINIMAL)).analysis.travel == "road"
    with pytest.raises(ConfigError, match=r"\[analysis\] travel"):
        load_config(_write(tmp_path, MINIMAL + '[analysis]\ntravel = "crow"\n'))


def test_network_may_be_omitted_only_with_estimated_travel(tmp_path: Path) -> None:
    from geosuff.config import road_times, travel_phrase

    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, NO_NETWORK))
    msg = str(err.value) + " " + str(getattr(err.value, "fix", ""))
    assert "[inputs] network" in msg and 'travel = "estimate"' in msg and "Geofabrik" in msg
    sc = load_config(_write(tmp_path, NO_NETWORK + '[analysis]\ntravel = "estimate"\n'))
    assert sc.inputs.network is None and not road_times(sc)
    assert travel_phrase(sc) == "estimated"
    assert travel_phrase(load_config(_write(tmp_path, MINIMAL))) == "by road"
    # a network given but travel = "estimate": still estimated
    assert not road_times(
        load_config(_write(tmp_path, MINIMAL + '[analysis]\ntravel = "estimate"\n'))
    )
