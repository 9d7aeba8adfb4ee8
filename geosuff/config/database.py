"""PostgreSQL/PostGIS locations in a scenario: ``[inputs]`` tables and the ``[output] database``.

An input table is given as ``postgresql://user@host:5432/db?table=schema.table`` and the output
as ``postgresql://user@host:5432/db?schema=geosuff_e06000017``. Any other libpq parameter
(``host=/run/postgresql`` for a Unix socket, ``sslmode`` ...) may be given in the query string.
A password is never taken from the config file (which is written into every report and
manifest): libpq reads it from ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from geosuff._errors import ConfigError

#: URL schemes read as a PostgreSQL database.
SCHEMES = ("postgresql", "postgres")

#: ``[inputs]`` keys that may name a database table.
TABLE_KEYS = ("placements", "sites", "candidates", "areas", "exclusions")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

_PASSWORD_FIX = (
    "Remove the password from the URL and give it in the PGPASSWORD environment variable or a "
    "~/.pgpass file (https://www.postgresql.org/docs/current/libpq-pgpass.html): the config file "
    "is copied into every report and manifest."
)


def is_database_url(value: object) -> bool:
    """True when ``value`` is a string starting ``postgresql://`` or ``postgres://``."""
    return isinstance(value, str) and value.split("://", 1)[0].lower() in SCHEMES and "://" in value


def _split(url: str, *, key: str, param: str) -> tuple[str, str]:
    """The libpq connection URL without ``param``, and the value of ``param``."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:  # pragma: no cover - malformed netloc
        password = None
    if password is not None:
        raise ConfigError(f"{key} gives a password in the database URL.", fix=_PASSWORD_FIX)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k.lower() == "password" for k, _ in query):
        raise ConfigError(f"{key} gives a password in the database URL.", fix=_PASSWORD_FIX)
    values = [v for k, v in query if k == param]
    rest = [(k, v) for k, v in query if k != param]
    if len(values) != 1 or not values[0].strip():
        raise ConfigError(
            f"{key} = {url!r} does not say which {param} to use.",
            fix=f"Add ?{param}=... to the URL, e.g. "
            + (
                "postgresql://user@host:5432/db?table=cla.episodes."
                if param == "table"
                else "postgresql://user@host:5432/db?schema=geosuff_e06000017."
            ),
        )
    conninfo = f"postgresql://{parts.netloc}{parts.path}" + (f"?{urlencode(rest)}" if rest else "")
    return conninfo, values[0].strip()


class DatabaseTable(str):
    """An ``[inputs]`` table in PostgreSQL: ``postgresql://user@host:port/db?table=schema.table``.

    A ``str`` (the URL as given, with no password), so it is written into reports and manifests as
    it is. ``conninfo`` is the libpq URL without ``table``; ``schema`` and ``table`` name the table
    (schema ``public`` when not given); ``name`` is how messages name it.
    """

    conninfo: str
    schema: str
    table: str

    def __new__(cls, url: str, *, key: str = "[inputs] table") -> DatabaseTable:
        conninfo, qualified = _split(str(url), key=key, param="table")
        parts = qualified.split(".")
        if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
            raise ConfigError(
                f"{key}: table={qualified!r} is not a table name.",
                fix="Give table=schema.table (letters, digits and _ only), e.g. table=cla.episodes.",
            )
        self = super().__new__(cls, url)
        self.conninfo = conninfo
        self.schema, self.table = (parts[0], parts[1]) if len(parts) == 2 else ("public", parts[0])
        return self

    @property
    def name(self) -> str:
        """The table as messages name it ("database table cla.episodes")."""
        return f"database table {self.schema}.{self.table}"

    @property
    def suffix(self) -> str:
        """No file suffix (for code written for paths)."""
        return ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (DatabaseTable, (str(self),))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def _validate(cls, value: Any) -> DatabaseTable:
        if isinstance(value, DatabaseTable):
            return value
        if is_database_url(value):
            return cls(value)
        raise ValueError("is not a postgresql:// URL")


class DatabaseSchema(str):
    """The ``[output] database``: ``postgresql://user@host:port/db?schema=geosuff_e06000017``."""

    conninfo: str
    schema: str

    def __new__(cls, url: str, *, key: str = "[output] database") -> DatabaseSchema:
        if not is_database_url(url):
            raise ConfigError(
                f"{key} = {url!r} is not a PostgreSQL URL.",
                fix="Give postgresql://user@host:5432/db?schema=geosuff_<council> (password in PGPASSWORD or ~/.pgpass).",
            )
        conninfo, schema = _split(str(url), key=key, param="schema")
        if not _IDENT.match(schema):
            raise ConfigError(
                f"{key}: schema={schema!r} is not a schema name.",
                fix="Use letters, digits and _ only, e.g. schema=geosuff_e06000017.",
            )
        self = super().__new__(cls, url)
        self.conninfo = conninfo
        self.schema = schema
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (DatabaseSchema, (str(self),))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def _validate(cls, value: Any) -> DatabaseSchema:
        if isinstance(value, DatabaseSchema):
            return value
        if isinstance(value, str):
            return cls(value)
        raise ValueError("must be a postgresql:// URL string")


def resolve_input(key: str, value: str) -> DatabaseTable:
    """The :class:`DatabaseTable` of ``[inputs] key``, or a :class:`ConfigError` saying why not."""
    if key not in TABLE_KEYS:
        raise ConfigError(
            f"[inputs] {key} cannot be a database table.",
            fix=f"Give a file for {key}; database tables may be used for {', '.join(TABLE_KEYS)}.",
        )
    return DatabaseTable(value, key=f"[inputs] {key}")
