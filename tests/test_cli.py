"""The CLI: clear one-sentence errors, no traceback unless --debug."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from geosuff.cli import app

runner = CliRunner()


def test_missing_config_is_one_clear_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["review", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2
    text = res.output
    assert "does not exist" in text
    assert "Traceback" not in text


def test_bad_key_names_the_key(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(
        'council = "E06000017"\ncouncill = 1\n[inputs]\nplacements="a"\nsites="b"\nnetwork="c"\n'
    )
    res = runner.invoke(app, ["review", str(p)])
    assert res.exit_code == 2
    assert "councill" in res.output
    assert "Traceback" not in res.output


def test_version_and_help() -> None:
    assert "geosuff" in runner.invoke(app, ["--version"]).output
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in (
        "demo",
        "review",
        "validate",
        "synth",
        "network",
        "traveltime",
        "catchments",
        "distances",
        "sites",
    ):
        assert cmd in res.output


# ---------------------------------------------------------------------------------------------
# The analyst commands on real data (the shipped Rutland extract; graph cached per session)
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from geosuff.inputs import DEMO_NETWORK  # noqa: E402


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    a = d / "from.csv"
    b = d / "to.csv"
    s = d / "sites.csv"
    # Oakham, Uppingham (lon/lat) and a point off the network in Leicester (easting/northing)
    pd.DataFrame(
        {"id": ["oakham", "uppingham"], "lon": [-0.7276, -0.7230], "lat": [52.6703, 52.5868]}
    ).to_csv(a, index=False)
    pd.DataFrame(
        {"id": ["oakham_e", "leicester"], "easting": [486000, 458600], "northing": [308700, 304400]}
    ).to_csv(b, index=False)
    pd.DataFrame(
        {
            "site_id": ["S1", "S2"],
            "type": ["childrens_home", "care_leaver_unit"],
            "places": [2, 3],
            "easting": [486000, 486700],
            "northing": [308700, 299900],
        }
    ).to_csv(s, index=False)
    p = d / "903.csv"
    pd.DataFrame(
        {
            "CHILD": ["A1", "A2", "A3"],
            "PLACE": ["U4", "K2", "H5"],
            "HOME_POST": ["LE15 6AB", "LE15 9AE", "LE15 6AB"],
            "PL_POST": ["LE15 9AE", "NG1 1AA", ""],
        }
    ).to_csv(p, index=False)
    return {"from": a, "to": b, "sites": s, "903": p, "dir": d}


def test_traveltime_command_keeps_unlocated_and_far_pairs(points: dict[str, Path]) -> None:
    d = points["dir"]
    a = d / "from_pc.csv"
    pd.DataFrame({"id": ["home", "nowhere"], "postcode": ["LE15 6AB", "ZZ99 9ZZ"]}).to_csv(
        a, index=False
    )
    out = d / "od_pc.csv"
    res = runner.invoke(
        app,
        [
            "traveltime",
            "--network",
            str(DEMO_NETWORK),
            "--from",
            str(a),
            "--to",
            str(points["to"]),
            "--max-minutes",
            "5",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    od = pd.read_csv(out, keep_default_na=False)
    assert len(od) == 4  # 2 x 2: every pair kept
    bad = od[od["from_id"] == "nowhere"]
    assert (bad["minutes"] == "").all() and bad["reason"].str.contains("not located").all()
    # Oakham home -> Leicester is over 5 minutes: kept, empty, with the reason
    far = od[(od["from_id"] == "home") & (od["to_id"] == "leicester")].iloc[0]
    assert far["minutes"] == "" and far["reason"] != ""


def test_traveltime_command_writes_every_pair(points: dict[str, Path]) -> None:
    out = points["dir"] / "od.csv"
    res = runner.invoke(
        app,
        [
            "traveltime",
            "--network",
            str(DEMO_NETWORK),
            "--from",
            str(points["from"]),
            "--to",
            str(points["to"]),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    od = pd.read_csv(out)
    assert list(od.columns[:5]) == ["from_id", "to_id", "minutes", "km", "estimated"]
    assert len(od) == 4
    oak = od[(od.from_id == "uppingham") & (od.to_id == "oakham_e")].iloc[0]
    assert (
        8 < oak["minutes"] < 25 and 8 < oak["km"] < 16
    )  # Uppingham -> Oakham is about 11 km by road
    assert od.loc[od.to_id == "leicester", "estimated"].all()  # off the Rutland extract: estimated


def test_catchments_command(points: dict[str, Path]) -> None:
    import geopandas as gpd

    out = points["dir"] / "c.gpkg"
    res = runner.invoke(
        app,
        [
            "catchments",
            "--network",
            str(DEMO_NETWORK),
            "--sites",
            str(points["sites"]),
            "--minutes",
            "10,20",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    g = gpd.read_file(out)
    assert len(g) == 4 and set(g["minutes"]) == {10.0, 20.0}
    assert g.crs.to_epsg() == 27700


def test_distances_command(points: dict[str, Path]) -> None:
    out = points["dir"] / "dist.csv"
    res = runner.invoke(
        app,
        [
            "distances",
            "--placements",
            str(points["903"]),
            "--council",
            "E06000017",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    d = pd.read_csv(out)
    assert len(d) == 3
    for col in ("CHILD", "dfe_miles", "dfe_category", "inside_la", "placement_la", "reason"):
        assert col in d.columns, col
    # LE15 6AB -> LE15 9AE: both in Rutland, a few miles; NG1 1AA is Nottingham, over 20 miles
    assert 0 < d.loc[0, "dfe_miles"] < 20 and d.loc[0, "dfe_category"] == "20 miles or less"
    assert d.loc[0, "placement_la"] == "E06000017" and d.loc[0, "inside_la"] == True  # noqa: E712
    assert d.loc[1, "dfe_category"] == "Over 20 miles" and d.loc[1, "inside_la"] == False  # noqa: E712
    assert d.loc[1, "placement_la"] == "E06000018"  # Nottingham
    assert (
        d.loc[2, "dfe_category"] == "Not known or not recorded"
        and "missing" in str(d.loc[2, "reason"]).lower()
    )
    assert "OFFICIAL-SENSITIVE" in res.output
    # with the road network: road minutes and km too (estimated where off the Rutland extract)
    out2 = points["dir"] / "dist_road.csv"
    res = runner.invoke(
        app,
        [
            "distances",
            "--placements",
            str(points["903"]),
            "--council",
            "E06000017",
            "--network",
            str(DEMO_NETWORK),
            "--out",
            str(out2),
        ],
    )
    assert res.exit_code == 0, res.output
    d2 = pd.read_csv(out2)
    assert {"road_minutes", "road_km", "road_estimated"} <= set(d2.columns)
    assert 3 < d2.loc[0, "road_minutes"] < 30 and not bool(d2.loc[0, "road_estimated"])
    assert (
        bool(d2.loc[1, "road_estimated"]) and d2.loc[1, "road_km"] > d2.loc[1, "dfe_miles"] * 1.6093
    )


def test_network_command_exports_graphml(points: dict[str, Path]) -> None:
    out = points["dir"] / "g.graphml"
    res = runner.invoke(app, ["network", str(DEMO_NETWORK), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 100_000
    import osmnx as ox

    g = ox.load_graphml(out)
    assert g.number_of_nodes() > 1000
    _, _, data = next(iter(g.edges(data=True)))
    assert (
        isinstance(data["length"], float)
        and isinstance(data["travel_time"], float)
        and data["travel_time"] > 0
    )


def test_validate_command_reports(tmp_path: Path) -> None:
    from geosuff.synth import synthesise

    syn = synthesise("E06000017", tmp_path / "in", seed=3)
    res = runner.invoke(app, ["validate", str(syn.config)])
    assert res.exit_code in (0, 1), res.output
    assert "placements" in res.output.lower()
    assert "Traceback" not in res.output


def test_config_error_keeps_the_section_in_brackets_and_suggests(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('council = "E06000017"\n[inputs]\nplacments="a"\nsites="b"\nnetwork="c"\n')
    res = runner.invoke(app, ["review", str(p)])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "missing required key '[inputs] placements'" in text
    assert "unknown key '[inputs] placments' (did you mean 'placements'?)" in text
    assert "Traceback" not in text


def test_error_text_with_rich_markup_like_brackets_is_printed_verbatim(tmp_path: Path) -> None:
    folder = tmp_path / "[red]x[inputs]"
    folder.mkdir()
    res = runner.invoke(app, ["review", str(folder / "nope.toml")])
    assert res.exit_code == 2
    assert "[red]x[inputs]" in "".join(res.output.split())


def test_help_keeps_square_brackets() -> None:
    res = runner.invoke(app, ["sites", "--help"], terminal_width=200)
    assert res.exit_code == 0
    assert "(overrides [siting] k)" in " ".join(res.output.split())


def test_synth_other_council_writes_no_rutland_network_and_says_estimated(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["synth", "--council", "E06000047", "--n", "30", "--out", str(tmp_path / "d")]
    )
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "straight-line estimates" in out and "--network" in out
    cfg = (tmp_path / "d" / "config.toml").read_text(encoding="utf-8")
    assert "rutland-latest" not in cfg and 'travel = "estimate"' in cfg


def test_synth_network_option_is_checked_against_the_council(tmp_path: Path) -> None:
    from geosuff.inputs import DEMO_NETWORK

    res = runner.invoke(
        app,
        [
            "synth",
            "--council",
            "E06000047",
            "--n",
            "30",
            "--out",
            str(tmp_path / "d"),
            "--network",
            str(DEMO_NETWORK),
        ],
    )
    assert res.exit_code != 0
    out = " ".join(res.output.split())
    assert "does not cover" in out and "Traceback" not in out
    res = runner.invoke(
        app,
        [
            "synth",
            "--council",
            "E06000017",
            "--n",
            "30",
            "--out",
            str(tmp_path / "r"),
            "--network",
            str(DEMO_NETWORK),
        ],
    )
    assert res.exit_code == 0, res.output
    assert DEMO_NETWORK.name in (tmp_path / "r" / "config.toml").read_text(encoding="utf-8")


def test_review_refuses_a_network_that_does_not_cover_the_council(tmp_path: Path) -> None:
    from geosuff.inputs import DEMO_NETWORK
    from geosuff.synth import synthesise

    syn = synthesise("E06000047", tmp_path / "d", seed=5, n_children=30)
    text = syn.config.read_text(encoding="utf-8").replace('travel = "estimate"', 'travel = "road"')
    text = text.replace("[inputs]\n", f'[inputs]\nnetwork = "{DEMO_NETWORK.as_posix()}"\n')
    syn.config.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["review", str(syn.config)])
    assert res.exit_code != 0
    out = " ".join(res.output.split())
    assert "does not cover" in out and DEMO_NETWORK.name in out and "extent" in out
    assert "Geofabrik" in out and 'travel = "estimate"' in out
    assert "Traceback" not in out
    assert not (tmp_path / "d" / "outputs").exists()


def test_validate_and_review_print_the_same_row_counts(tmp_path: Path) -> None:
    """Issue #18.3: both commands print the one decision's counts, line for line (Durham,
    straight-line estimates: every located row is 'used with an estimate' in both)."""
    import re

    from geosuff.synth import synthesise

    syn = synthesise("E06000047", tmp_path / "d", seed=7, n_children=60)

    def rows_block(text: str) -> list[str]:
        lines = [" ".join(x.split()) for x in text.splitlines()]
        return [x for x in lines if re.match(r"^\w+: \d+ rows = \d+ used \+ \d+ used with", x)]

    v = runner.invoke(app, ["validate", str(syn.config)])
    r = runner.invoke(app, ["review", str(syn.config)])
    assert r.exit_code == 0, r.output
    got_v, got_r = rows_block(v.output), rows_block(r.output)
    assert [x.split(":")[0] for x in got_v] == ["placements", "sites", "candidates"]
    assert got_v == got_r[: len(got_v)]
    n_est = re.search(r"\+ (\d+) used with an estimate", got_v[0])
    assert n_est is not None and int(n_est.group(1)) > 0
    assert got_v[1].startswith("sites: ") and " = 0 used + " in got_v[1]


def test_traveltime_refuses_duplicate_ids_and_warns_in_words(
    points: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #18.9: a repeated id is an error naming it; warnings are sentences, not reprs."""
    d = points["dir"]
    dup = d / "dup.csv"
    pd.DataFrame({"id": ["a", "b", "a"], "postcode": ["LE15 6AB", "LE15 9AE", "LE15 6AB"]}).to_csv(
        dup, index=False
    )
    out = d / "od_dup.csv"
    args = ["traveltime", "--network", str(DEMO_NETWORK), "--to", str(points["to"])]
    res = runner.invoke(app, [*args, "--from", str(dup), "--out", str(out)])
    assert res.exit_code != 0 and not out.exists()
    text = " ".join(res.output.split())
    assert "dup.csv" in text and "'a' on rows 1, 3" in text and "Traceback" not in text
    bad = d / "pseudo.csv"
    pd.DataFrame({"id": ["home", "nowhere"], "postcode": ["LE15 6AB", "ZZ99 9ZZ"]}).to_csv(
        bad, index=False
    )
    with caplog.at_level("WARNING", logger="geosuff.inputs.points"):
        res = runner.invoke(app, [*args, "--from", str(bad), "--out", str(out)])
    assert res.exit_code == 0, res.output
    msgs = [r.getMessage() for r in caplog.records if r.name == "geosuff.inputs.points"]
    assert msgs and not any("Issue(" in m for m in msgs)
    assert any(m.startswith("pseudo.csv row 2") and "pseudo-postcode" in m for m in msgs), msgs


def test_distances_reasons_place_codes_numbers_and_dates(points: dict[str, Path]) -> None:
    """Issue #18.9: an excluded earlier episode says why; an unknown PLACE code is a warning
    naming it and its row; no 16-decimal floats; UK dates stay UK."""
    d = points["dir"]
    p = d / "903_edges.csv"
    p.write_text(
        "CHILD,PLACE,HOME_POST,PL_POST,DECOM,DOB\n"
        "A1,U4,LE15 6AB,LE15 9AE,01/04/2024,03/05/2010\n"
        "A1,U4,LE15 6AB,LE15 9AE,01/06/2024,03/05/2010\n"
        "A2,X9,LE15 9AE,NG1 1AA,05/06/2024,04/07/2012\n",
        encoding="utf-8",
    )
    out = d / "dist_edges.csv"
    res = runner.invoke(
        app, ["distances", "--placements", str(p), "--council", "E06000017", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "903_edges.csv row 3" in text and "'X9'" in text and "unknown PLACE code" in text
    raw = out.read_text(encoding="utf-8")
    assert not re.search(r"\d\.\d{4,}", raw) and "485972.0" not in raw
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got.loc[0, "status"] == "excluded" and "earlier episode" in got.loc[0, "reason"]
    assert got["DECOM"].tolist() == ["01/04/2024", "01/06/2024", "05/06/2024"]


def test_gaps_prints_the_headline_under_its_own_name(tmp_path: Path) -> None:
    from geosuff.synth import synthesise

    h = " ".join(runner.invoke(app, ["gaps", "--help"]).output.split())
    assert "headline" in h
    syn = synthesise("E06000017", tmp_path / "in", seed=3, n_children=40)
    res = runner.invoke(app, ["gaps", str(syn.config)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "gaps:" in out and "review:" not in out
    assert "Headline" in out and "more than 20 miles from home" in out
    assert "inside Rutland" in out
