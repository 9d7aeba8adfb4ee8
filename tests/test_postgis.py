"""PostgreSQL/PostGIS inputs and output (issue #17), against a real server (``postgis`` fixture).

The demo's placements, sites and candidates are loaded into PostGIS tables (typed columns; sites
as PostGIS points), a config points at them and at an output schema, the review is run, and the
published tables read back from the schema equal the CSVs; a second run replaces them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geosuff._errors import ConfigError

SCHEMA_OUT = "geosuff_e06000017"


def _cfg(**inputs: str) -> dict:
    base = {"placements": "p.csv", "sites": "s.csv"}
    base.update(inputs)
    return {"council": "E06000017", "inputs": base, "analysis": {"travel": "estimate"}}


@pytest.mark.parametrize("key", ["placements", "sites", "candidates", "areas", "exclusions"])
def test_database_url_with_a_password_is_refused(key: str) -> None:
    from geosuff.config import scenario_from_dict

    with pytest.raises(ConfigError, match=r"password.*PGPASSWORD.*\.pgpass"):
        scenario_from_dict(_cfg(**{key: "postgresql://me:secret@db:5432/cla?table=cla.t"}))
    with pytest.raises(ConfigError, match="PGPASSWORD"):
        scenario_from_dict(_cfg(**{key: "postgresql://me@db/cla?table=cla.t&password=secret"}))


def test_output_database_url_checks() -> None:
    from geosuff.config import scenario_from_dict

    data = _cfg()
    data["output"] = {"database": "postgresql://me:pw@db/gis?schema=geosuff_x"}
    with pytest.raises(ConfigError, match="PGPASSWORD"):
        scenario_from_dict(data)
    data["output"] = {"database": "postgresql://me@db/gis"}
    with pytest.raises(ConfigError, match=r"\?schema="):
        scenario_from_dict(data)
    data["output"] = {"database": "postgresql://me@db/gis?schema=geosuff_x&sslmode=require"}
    sc = scenario_from_dict(data)
    assert sc.output.database is not None and sc.output.database.schema == "geosuff_x"
    assert sc.output.database.conninfo == "postgresql://me@db/gis?sslmode=require"


def test_only_table_inputs_may_be_database_urls() -> None:
    from geosuff.config import scenario_from_dict

    with pytest.raises(ConfigError, match="network cannot be a database table"):
        scenario_from_dict(_cfg(network="postgresql://me@db/gis?table=osm.roads"))
    with pytest.raises(ConfigError, match=r"\?table="):
        scenario_from_dict(_cfg(placements="postgresql://me@db/gis"))


# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_db(postgis, tmp_path_factory: pytest.TempPathFactory):
    """The SYNTHETIC demo inputs, also loaded into PostGIS tables of schema ``cla``."""
    import psycopg

    from geosuff.synth import synthesise

    root = tmp_path_factory.mktemp("pgdemo")
    syn = synthesise("E06000017", root / "E06000017" / "inputs", output_dir="..")
    inputs = Path(syn.config).parent
    pl = pd.read_csv(inputs / "placements.csv", dtype=str, keep_default_na=False)
    si = pd.read_csv(inputs / "sites.csv", dtype=str, keep_default_na=False)
    ca = pd.read_csv(inputs / "candidates.csv", dtype=str, keep_default_na=False)
    with psycopg.connect(postgis.conninfo, autocommit=True) as con:
        con.execute("CREATE SCHEMA cla")
        # typed as a case-management system holds them: dates as DATE, flags as integers
        con.execute(
            'CREATE TABLE cla.episodes ("CHILD" text, "DOB" date, "UASC" integer, "DECOM" date, '
            '"PLACE" text, "HOME_POST" text, "PL_POST" text, "URN" text, data_note text)'
        )
        with con.cursor() as cur:
            cur.executemany(
                "INSERT INTO cla.episodes VALUES (%s, to_date(nullif(%s, ''), 'DD/MM/YYYY'), "
                "nullif(%s, '')::int, to_date(nullif(%s, ''), 'DD/MM/YYYY'), %s, %s, %s, "
                "nullif(%s, ''), %s)",
                [
                    tuple(r)
                    for r in pl[
                        [
                            "CHILD",
                            "DOB",
                            "UASC",
                            "DECOM",
                            "PLACE",
                            "HOME_POST",
                            "PL_POST",
                            "URN",
                            "data_note",
                        ]
                    ].itertuples(index=False)
                ],
            )
            # sites as PostGIS points in lon/lat (no easting/northing columns)
            cur.execute(
                "CREATE TABLE cla.sites (site_id text, name text, type text, places integer, "
                "available_places integer, rating text, data_note text, geom geometry(Point, 4326))"
            )
            cur.executemany(
                "INSERT INTO cla.sites VALUES (%s, %s, %s, %s::int, nullif(%s, '')::int, "
                "nullif(%s, ''), %s, ST_Transform(ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 27700), 4326))",
                [
                    (
                        r.site_id,
                        r.name,
                        r.type,
                        r.places,
                        r.available_places,
                        r.rating,
                        r.data_note,
                        r.easting,
                        r.northing,
                    )
                    for r in si.itertuples(index=False)
                ],
            )
            cols = list(ca.columns)
            cur.execute(
                "CREATE TABLE cla.candidates (" + ", ".join(f'"{c}" text' for c in cols) + ")"
            )
            cur.executemany(
                f"INSERT INTO cla.candidates VALUES ({', '.join(['%s'] * len(cols))})",
                [tuple(r) for r in ca.itertuples(index=False)],
            )
    return inputs


def _config(postgis, inputs: Path, out: Path, *, restricted: bool = False) -> Path:
    text = Path(inputs / "config.toml").read_text(encoding="utf-8")
    for key, table in (
        ("placements", "episodes"),
        ("sites", "sites"),
        ("candidates", "candidates"),
    ):
        text = text.replace(
            f'{key} = "{key}.csv"', f'{key} = "{postgis.url(table=f"cla.{table}")}"'
        )
    text = text.replace(
        'dir = ".."', f'dir = "{out}"\ndatabase = "{postgis.url(schema=SCHEMA_OUT)}"'
    )
    if restricted:
        text = text.replace("[output]", "[output]\nrestricted = true")
    cfg = inputs / ("config_db_restricted.toml" if restricted else "config_db.toml")
    cfg.write_text(text, encoding="utf-8")
    return cfg


@pytest.mark.postgis
def test_database_inputs_load_like_the_csvs(postgis, demo_db, monkeypatch) -> None:
    """Every row of the database tables gets the same status, reason and location as the CSV's."""
    from geosuff.config import load_config
    from geosuff.inputs import (
        Boundaries,
        default_lookup,
        load_candidates,
        load_placements,
        load_sites,
    )

    monkeypatch.setenv("PGPASSWORD", postgis.password)
    sc = load_config(_config(postgis, demo_db, demo_db.parent / "out_inputs"))
    lookup = default_lookup(sc.inputs.postcodes, fallback=True)
    bnd = Boundaries.load(sc.inputs.boundaries)
    ref = sc.analysis.reference_date
    for loader, key in (
        (load_placements, "placements"),
        (load_sites, "sites"),
        (load_candidates, "candidates"),
    ):
        kw = {"reference_date": ref} if key == "placements" else {}
        db = loader(getattr(sc.inputs, key), lookup=lookup, boundaries=bnd, **kw)
        csv = loader(demo_db / f"{key}.csv", lookup=lookup, boundaries=bnd, **kw)
        assert len(db.table) == len(csv.table) > 0
        assert db.table["row"].tolist() == csv.table["row"].tolist()
        cols = ["status", "reason"] + [
            c
            for c in ("easting", "northing", "home_e", "pl_e", "age", "uasc", "DECOM")
            if c in csv.table
        ]
        a = db.table[cols].reset_index(drop=True)
        b = csv.table[cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, atol=0.01)
        assert (
            db.path is not None
            and db.path.name == f"database table cla.{ {'placements': 'episodes'}.get(key, key) }"
        )


@pytest.mark.postgis
def test_missing_table_and_wrong_password_say_how_to_fix(postgis, monkeypatch) -> None:
    from geosuff._errors import InputFileError
    from geosuff.config.database import DatabaseTable
    from geosuff.inputs import default_lookup, load_sites

    lookup = default_lookup(None, fallback=True)
    monkeypatch.setenv("PGPASSWORD", postgis.password)
    with pytest.raises(InputFileError, match="cla.nothing does not exist"):
        load_sites(DatabaseTable(postgis.url(table="cla.nothing")), lookup=lookup)
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(InputFileError, match="PGPASSWORD"):
        load_sites(DatabaseTable(postgis.url(table="cla.sites")), lookup=lookup)


@pytest.mark.postgis
def test_polygon_inputs_from_postgis(postgis, tmp_path) -> None:
    """areas and exclusions read from PostGIS tables as from a GeoPackage."""
    from sqlalchemy import create_engine

    from geosuff.config.database import DatabaseTable
    from geosuff.inputs import load_areas, load_exclusions

    zones = gpd.GeoDataFrame(
        {"name": ["flood", "bad"], "buffer_m": [50.0, 0.0]},
        geometry=[box(485000, 300000, 486000, 301000), box(0, 0, 0, 0)],
        crs="EPSG:27700",
    ).to_crs(4326)
    areas = gpd.GeoDataFrame(
        {"lsoa11_code": ["E01000001"], "pop_0_17": [120]},
        geometry=[box(485000, 300000, 486000, 301000)],
        crs="EPSG:27700",
    )
    eng = create_engine(
        "postgresql+psycopg://", creator=lambda: __import__("psycopg").connect(postgis.conninfo)
    )
    zones.to_postgis("zones", eng, schema="public")
    areas.to_postgis("lsoa", eng, schema="public")
    eng.dispose()
    zones.to_file(tmp_path / "zones.gpkg", driver="GPKG")
    db = load_exclusions(DatabaseTable(postgis.conninfo + "&table=zones"))
    f = load_exclusions(tmp_path / "zones.gpkg")
    assert db.crs.to_epsg() == 27700
    assert db["status"].tolist() == f["status"].tolist() == ["used", "excluded"]
    assert db.geometry.iloc[0].equals_exact(f.geometry.iloc[0], 0.01)
    a = load_areas(DatabaseTable(postgis.conninfo + "&table=public.lsoa"))
    assert a is not None and a["pop_0_17"].tolist() == [120] and a.crs.to_epsg() == 27700


def _read_schema(postgis) -> dict[str, pd.DataFrame]:
    import psycopg

    out: dict[str, pd.DataFrame] = {}
    with psycopg.connect(postgis.conninfo) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (SCHEMA_OUT,),
            )
        ]
        for n in names:
            cur = con.execute(f'SELECT * FROM {SCHEMA_OUT}."{n}"')
            out[n] = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    return out


def _as_text(df: pd.DataFrame, date_format: str = "%Y-%m-%d") -> pd.DataFrame:
    df = df.astype(object).map(lambda v: v.strftime(date_format) if isinstance(v, dt.date) else v)
    return df.where(df.notna(), "").astype(str).reset_index(drop=True)


@pytest.mark.postgis
@pytest.mark.slow
def test_review_round_trips_through_postgis(postgis, demo_db, monkeypatch) -> None:
    """Run from database tables into a schema: its tables are the CSVs; a second run replaces them."""
    import psycopg

    from geosuff.pipeline import run_config
    from geosuff.publication.files import DATE_FORMATS

    monkeypatch.setenv("PGPASSWORD", postgis.password)
    out = demo_db.parent / "out"
    cfg = _config(postgis, demo_db, out)
    res = run_config(cfg)
    tables = _read_schema(postgis)
    csvs = {p.stem: p for p in (out / "tables").glob("*.csv")}
    assert csvs, "the run wrote no tables"
    for name, path in csvs.items():
        assert name in tables, f"{name} not written to the database"
        want = pd.read_csv(path, dtype=str, keep_default_na=False)
        got = tables[name].drop(columns="geometry", errors="ignore")
        assert list(got.columns) == list(want.columns), name
        # numbers as stored vs as written: compare as numbers where both parse
        g, w = _as_text(got, DATE_FORMATS[res.date_style]), _as_text(want)
        for c in w.columns:
            gn, wn = pd.to_numeric(g[c], errors="coerce"), pd.to_numeric(w[c], errors="coerce")
            if wn.notna().all() and gn.notna().all():
                pd.testing.assert_series_equal(gn, wn, check_names=False, check_dtype=False)
            else:
                assert (
                    g[c].str.replace(r"\.0$", "", regex=True).tolist()
                    == w[c].str.replace(r"\.0$", "", regex=True).tolist()
                ), (name, c)
    # every GeoPackage layer, in EPSG:27700 with a spatial index
    layers = gpd.list_layers(out / "geosuff.gpkg")["name"].tolist()
    with psycopg.connect(postgis.conninfo) as con:
        srids = dict(
            con.execute(
                "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = %s",
                (SCHEMA_OUT,),
            ).fetchall()
        )
        indexed = {
            r[0]
            for r in con.execute(
                "SELECT tablename FROM pg_indexes WHERE schemaname = %s AND indexdef ILIKE '%%using gist%%'",
                (SCHEMA_OUT,),
            )
        }
    assert set(layers) <= set(srids) and set(srids.values()) == {27700}
    assert set(srids) <= indexed
    for layer in layers:
        gpkg = gpd.read_file(out / "geosuff.gpkg", layer=layer)
        assert len(tables[layer]) == len(gpkg), layer
    # the run row holds the manifest; nothing record-level without --restricted
    run_rows = tables["run"]
    assert len(run_rows) == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert run_rows["manifest"].iloc[0]["files"] == manifest["files"]
    assert manifest["inputs"]["placements"]["table"] == "cla.episodes"
    assert "password" not in json.dumps(manifest).lower()
    assert set(json.loads(run_rows["tables"].iloc[0])) == set(tables) - {"run"}
    assert not [n for n in tables if n.startswith("restricted_")]
    assert "CHILD" not in {c for t in tables.values() for c in t.columns}
    assert res.scenario.output.database is not None

    # a second run replaces the tables: same counts, one run row
    first = {n: len(t) for n, t in tables.items()}
    shutil.rmtree(out / "tables")
    run_config(cfg)
    again = _read_schema(postgis)
    assert {n: len(t) for n, t in again.items()} == first
    assert len(again["run"]) == 1

    # --restricted adds the record-level tables; a published run afterwards removes them
    run_config(_config(postgis, demo_db, out, restricted=True))
    restricted = _read_schema(postgis)
    assert {"restricted_placement_measures", "restricted_reconciliation"} <= set(restricted)
    assert "CHILD" in restricted["restricted_placement_measures"].columns
    run_config(cfg)
    assert set(_read_schema(postgis)) == set(first)

    # a write that fails part way (here a view in the way of a new table, met after the previous
    # run's tables were dropped) changes nothing: the previous run stays whole
    from geosuff._errors import DatabaseError

    with psycopg.connect(postgis.conninfo, autocommit=True) as con:
        con.execute(f"CREATE VIEW {SCHEMA_OUT}.restricted_issues AS SELECT 1 AS x")
    before = _read_schema(postgis)
    with pytest.raises(DatabaseError, match="previous run's tables are unchanged") as err:
        run_config(_config(postgis, demo_db, out, restricted=True))
    assert "restricted_issues" in str(err.value)
    after = _read_schema(postgis)
    assert {n: len(t) for n, t in after.items()} == {n: len(t) for n, t in before.items()}
    assert after["run"]["written_at"].tolist() == before["run"]["written_at"].tolist()
    with psycopg.connect(postgis.conninfo, autocommit=True) as con:
        con.execute(f"DROP VIEW {SCHEMA_OUT}.restricted_issues")
