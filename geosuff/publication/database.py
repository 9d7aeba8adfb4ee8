"""Write a run to PostgreSQL/PostGIS: ``[output] database = "postgresql://...?schema=..."``.

The schema receives every GeoPackage layer (PostGIS geometry, EPSG:27700, with a GiST spatial
index), every published table (``tables/<name>.csv``; a table that is also a layer, such as
``gap_areas``, is the layer: the same columns plus its geometry) and a ``run`` table whose one row
holds the run's manifest. With ``--restricted`` (and only then) the OFFICIAL-SENSITIVE
record-level tables go there too, named ``restricted_*``.

The previous run's tables (those its ``run`` row lists) are dropped and the new ones written in
one transaction: a reader sees the whole previous run or the whole new one, never a mixture,
and a failure leaves the previous run in place. Only what passed the published-file checks is
written (this runs after :func:`geosuff.publication.files.write_all`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff._errors import DatabaseError
from geosuff.config.database import DatabaseSchema
from geosuff.inputs.database import engine
from geosuff.publication.files import csv_ready, published_layers, published_tables
from geosuff.reference import BNG

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: The table (in the output schema) holding one row about the run written there.
RUN_TABLE = "run"

#: Prefix of the record-level tables written only with ``--restricted``.
RESTRICTED_PREFIX = "restricted_"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its figures as the CSVs show them (:func:`~geosuff.publication.files.csv_ready`:
    whole numbers as integers, others rounded) but typed: object columns as text (NULL for
    missing), so mixed cells ("c" and counts) are stored as written; datetimes that are all
    dates as DATE, other datetimes as timestamps.
    """
    out = df.copy()
    other = [
        c
        for c in out.columns
        if c != "geometry"
        and not isinstance(out[c].dtype, gpd.array.GeometryDtype)
        and not pd.api.types.is_datetime64_any_dtype(out[c].dtype)
        and not any(isinstance(v, dt.date) for v in out[c] if v is not None)
    ]
    if other:
        ready = csv_ready(pd.DataFrame(out[other]))
        for c in other:
            out[c] = ready[c]
    for c in out.columns:
        if c == "geometry" or isinstance(out[c].dtype, gpd.array.GeometryDtype):
            continue
        col = out[c]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            t = pd.to_datetime(col)
            if (t.dropna() == t.dropna().dt.normalize()).all():  # dates, as the CSVs write them
                out[c] = pd.Series(
                    [None if pd.isna(v) else v.date() for v in t], index=col.index, dtype=object
                )
            continue
        present = [v for v in col if v is not None and not (isinstance(v, float) and np.isnan(v))]
        if col.dtype == object and present and all(isinstance(v, dt.date) for v in present):
            t = pd.to_datetime(col)
            if (t.dropna() == t.dropna().dt.normalize()).all():
                out[c] = pd.Series(
                    [None if pd.isna(v) else v.date() for v in t], index=col.index, dtype=object
                )
            else:
                out[c] = t
            continue
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
            out[c] = pd.Series(
                [
                    None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                    for v in col
                ],
                index=col.index,
                dtype=object,
            )
    return out


def database_frames(
    results: Results, pub: Published, *, restricted: bool
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, pd.DataFrame]]:
    """The layers and the tables a run writes to its database schema.

    Returns
    -------
    (layers, tables)
        ``layers``: the GeoPackage layers (EPSG:27700); ``tables``: the published tables not
        already a layer, plus, when ``restricted``, the record-level ``restricted_*`` tables.
    """
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in published_layers(results, pub).items():
        if gdf is None or not len(gdf):
            continue
        if gdf.crs is None:
            gdf = gdf.set_crs(BNG)
        layers[name] = gdf.to_crs(BNG)
    tables = {k: v for k, v in published_tables(results, pub).items() if k not in layers}
    if restricted:
        tables[f"{RESTRICTED_PREFIX}placement_measures"] = pd.DataFrame(results.measures)
        if results.reconciliation is not None:
            tables[f"{RESTRICTED_PREFIX}reconciliation"] = pd.DataFrame(results.reconciliation)
        if results.issues is not None:
            tables[f"{RESTRICTED_PREFIX}issues"] = pd.DataFrame(results.issues)
    return layers, tables


def _previous_tables(con: Any, schema: str) -> list[str]:
    from sqlalchemy import text

    exists = con.execute(
        text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{_ident(schema)}.{RUN_TABLE}"}
    ).scalar()
    if not exists:
        return []
    names: list[str] = []
    for (listed,) in con.execute(text(f"SELECT tables FROM {_ident(schema)}.{RUN_TABLE}")):
        names += [str(n) for n in json.loads(listed or "[]")]
    return names


def write_database(
    results: Results, pub: Published, manifest: dict[str, Any], *, target: DatabaseSchema
) -> list[str]:
    """Replace the tables of ``target``'s schema by this run's, in one transaction.

    Parameters
    ----------
    results : Results
        The run.
    pub : Published
        Its published (disclosure-controlled) figures, as written to the files.
    manifest : dict
        The run manifest (``manifest.json``), stored in the ``run`` table.
    target : DatabaseSchema
        ``[output] database``.

    Returns
    -------
    list of str
        The tables written (``run`` last).

    Raises
    ------
    DatabaseError
        If the database cannot be reached or written (nothing is changed then).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    sc = results.scenario
    restricted = bool(sc.output.restricted or sc.mode == "restricted")
    layers, tables = database_frames(results, pub, restricted=restricted)
    schema = target.schema
    written = [*layers, *tables]
    eng = engine(target.conninfo)
    try:
        with eng.begin() as con:
            con.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}"))
            # two runs into one schema wait for each other rather than interleave
            con.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            old = _previous_tables(con, schema)
            for name in dict.fromkeys([*old, *written, RUN_TABLE]):
                con.execute(text(f"DROP TABLE IF EXISTS {_ident(schema)}.{_ident(name)} CASCADE"))
            for name, gdf in layers.items():
                _plain(gdf).to_postgis(name, con, schema=schema, index=False)
            for name, df in tables.items():
                _plain(df).to_sql(name, con, schema=schema, index=False)
            con.execute(
                text(
                    f"CREATE TABLE {_ident(schema)}.{RUN_TABLE} (written_at timestamptz NOT NULL, "
                    "geosuff_version text, council text, council_name text, synthetic boolean, "
                    "restricted boolean, tables text NOT NULL, manifest jsonb NOT NULL)"
                )
            )
            con.execute(
                text(
                    f"INSERT INTO {_ident(schema)}.{RUN_TABLE} VALUES (:at, :v, :c, :cn, :syn, "
                    ":r, :tables, CAST(:m AS jsonb))"
                ),
                {
                    "at": dt.datetime.now(dt.UTC),
                    "v": str(manifest.get("geosuff_version", "")),
                    "c": sc.council,
                    "cn": results.council_name,
                    "syn": bool(sc.synthetic),
                    "r": restricted,
                    "tables": json.dumps(written),
                    "m": json.dumps(manifest, default=str, sort_keys=True),
                },
            )
            if old and set(old) - set(written):
                logger.info(
                    "dropped %s (written by an earlier run, not by this one)",
                    ", ".join(sorted(set(old) - set(written))),
                )
    except SQLAlchemyError as err:
        first = str(getattr(err, "orig", err) or err).strip().splitlines()
        raise DatabaseError(
            f"Could not write the run to the database schema {schema} ({first[0] if first else type(err).__name__}); "
            "the previous run's tables are unchanged.",
            fix="Check the [output] database URL, that PostGIS is installed in that database "
            "(CREATE EXTENSION postgis) and that the user may create the schema and its tables; "
            "give the password in PGPASSWORD or ~/.pgpass.",
        ) from None
    finally:
        eng.dispose()
    logger.info("wrote %d tables to database schema %s", len(written) + 1, schema)
    return [*written, RUN_TABLE]
