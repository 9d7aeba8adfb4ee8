"""Reading ``[inputs]`` tables from PostgreSQL/PostGIS.

A database table goes through the same loaders as a CSV: :func:`read_db_raw` turns its rows into
the text cells of a :class:`~geosuff.inputs.reading.RawTable` (one row per table row, numbered
1, 2, ... in ``ORDER BY`` of the table's physical order), so every row is accounted for with its
status and reason. A table with a PostGIS point column and no ``easting``/``northing`` columns
gets them from the points (transformed to EPSG:27700). Polygon inputs (areas, exclusions) are read
with :func:`geopandas.read_postgis` by :func:`read_db_vector`.

The password comes from ``PGPASSWORD`` or ``~/.pgpass`` (libpq), never from the config file.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Iterable
from typing import Any

import geopandas as gpd

from geosuff._errors import InputFileError
from geosuff.config.database import DatabaseTable
from geosuff.inputs.reading import RawTable, _rows_to_table

logger = logging.getLogger(__name__)

_COORD_NAMES = {"easting", "northing", "lon", "lat", "longitude", "latitude", "x", "y"}


def connect(conninfo: str, *, what: str) -> Any:
    """A psycopg connection to ``conninfo``, or an :class:`InputFileError` saying how to fix it."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - declared dependency
        raise InputFileError(
            f"Reading {what} needs the psycopg package.", fix="pip install 'psycopg[binary]'."
        ) from None
    try:
        return psycopg.connect(conninfo, connect_timeout=20)
    except psycopg.OperationalError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputFileError(
            f"Could not connect to the database for {what} ({first}).",
            fix="Check the host, port, database and user in the URL; give the password in "
            "PGPASSWORD or ~/.pgpass (never in the config file).",
        ) from None


def engine(conninfo: str) -> Any:
    """A SQLAlchemy engine (psycopg 3) on ``conninfo``, a libpq URL without a password."""
    import psycopg
    from sqlalchemy import create_engine

    def _connect() -> Any:
        return psycopg.connect(conninfo, connect_timeout=20)

    return create_engine("postgresql+psycopg://", creator=_connect)


def _text(v: Any) -> str:
    """A database value as the text cell a CSV export would hold."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, decimal.Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() else str(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0, 0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, bytes | memoryview):
        return ""
    return str(v)


def _columns(cur: Any, src: DatabaseTable) -> list[tuple[str, str]]:
    """(column, udt name) of the table, in table order; an error naming the table if none."""
    cur.execute(
        "SELECT column_name, udt_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (src.schema, src.table),
    )
    cols = [(str(r[0]), str(r[1])) for r in cur.fetchall()]
    if not cols:
        raise InputFileError(
            f"The {src.name} does not exist (or the user may not read it).",
            fix="Check ?table=schema.table in the URL and that the database user has SELECT on it.",
        )
    return cols


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_db_raw(
    src: DatabaseTable, *, name: str = "input", expect_columns: Iterable[str] | None = None
) -> RawTable:
    """Read a database table like :func:`geosuff.inputs.reading.read_raw` reads a file.

    Parameters
    ----------
    src : DatabaseTable
        The table (``postgresql://...?table=schema.table``).
    name : str, keyword-only
        What the table is, for messages ("placements").
    expect_columns : iterable of str, keyword-only, optional
        Unused (a database table's header is its column names); accepted for the file readers'
        signature.

    Returns
    -------
    RawTable
        All cells as text ("" for NULL); ``lines`` are row numbers 1, 2, ...; ``meta`` says
        ``format = "postgresql"`` and the table.

    Raises
    ------
    InputFileError
        If the database cannot be reached, the table does not exist or is empty.
    """
    del expect_columns
    with connect(src.conninfo, what=f"the {name} ({src.name})") as conn, conn.cursor() as cur:
        cols = _columns(cur, src)
        have = {c.lower() for c, _ in cols}
        geoms = [c for c, udt in cols if udt == "geometry"]
        select: list[str] = []
        header: list[str] = []
        for c, udt in cols:
            if udt in {"geometry", "geography", "bytea"}:
                continue
            select.append(_ident(c))
            header.append(c)
        if geoms and not ({"easting", "northing"} <= have):
            g = _ident(geoms[0])
            select += [
                f"ST_X(ST_Transform(ST_PointOnSurface({g}), 27700))",
                f"ST_Y(ST_Transform(ST_PointOnSurface({g}), 27700))",
            ]
            header += ["easting", "northing"]
            logger.info("%s: easting/northing from geometry column %s", src.name, geoms[0])
        if not select:
            raise InputFileError(
                f"The {name} {src.name} has no columns that are not geometry.",
                fix="Give a table with the columns of the README's input contract.",
            )
        try:
            cur.execute(
                f"SELECT {', '.join(select)} FROM {_ident(src.schema)}.{_ident(src.table)} ORDER BY ctid"
            )
            rows = [[_text(v) for v in r] for r in cur.fetchall()]
        except Exception as err:  # psycopg raises many kinds (permissions, SRID ...)
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputFileError(
                f"The {name} {src.name} could not be read ({first}).",
                fix="Check that the database user has SELECT on the table and that any geometry column has an SRID.",
            ) from None
    if not rows:
        raise InputFileError(
            f"The {name} {src.name} has no rows.",
            fix=f"Load the {name} into the table, or give a file instead.",
        )
    raw = _rows_to_table(
        [header, *rows],
        list(range(len(rows) + 1)),
        fname=src.name,
        name=name,
        expect=[],
        issues=[],
        meta={"format": "postgresql", "table": f"{src.schema}.{src.table}"},
    )
    logger.info("%s: read %d rows from %s", name, len(rows), src.name)
    return raw


def read_db_vector(src: DatabaseTable, what: str, *, fix: str) -> gpd.GeoDataFrame:
    """A PostGIS table of polygons (areas, exclusion zones) as a GeoDataFrame, in its own SRID."""
    with connect(src.conninfo, what=f"the {what} ({src.name})") as conn, conn.cursor() as cur:
        cols = _columns(cur, src)
        geoms = [c for c, udt in cols if udt == "geometry"]
        if not geoms:
            raise InputFileError(f"The {what} {src.name} has no PostGIS geometry column.", fix=fix)
    sql = f"SELECT * FROM {_ident(src.schema)}.{_ident(src.table)} ORDER BY ctid"
    eng = engine(src.conninfo)
    try:
        with eng.connect() as con:
            gdf = gpd.read_postgis(sql, con, geom_col=geoms[0])
    except Exception as err:  # noqa: BLE001 - one clear error naming the table
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputFileError(
            f"The {what} {src.name} could not be read ({first}).", fix=fix
        ) from None
    finally:
        eng.dispose()
    extra = [c for c, udt in cols if udt == "geometry" and c != geoms[0]]
    return gdf.drop(columns=extra) if extra else gdf
