"""Errors that say what went wrong and how to fix it.

Every error raised on bad user input is a :class:`GeosuffError`; the CLI prints its message as one
sentence (no traceback unless ``--debug``). Like r5py, errors also inherit the matching builtin so
that ``except ValueError`` keeps working for analysts scripting geosuff.
"""

from __future__ import annotations


class GeosuffError(Exception):
    """Base class for every error geosuff raises on bad input or settings."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} {fix}" if fix else message)


class ConfigError(GeosuffError, ValueError):
    """The scenario configuration (TOML) is wrong: unknown key, wrong type, missing file."""


class InputFileError(GeosuffError, ValueError):
    """An input table cannot be used: missing file, missing column, unreadable format."""


class NetworkError(GeosuffError, ValueError):
    """The road network cannot be built or used (bad OSM file, no drivable roads, ...)."""


class DatabaseError(GeosuffError, RuntimeError):
    """A PostgreSQL database (``[output] database``) cannot be reached or written."""


class DisclosureError(GeosuffError, RuntimeError):
    """An output would publish personal data (child-level points, carer addresses)."""


class MissingColumnError(InputFileError):
    """An input table lacks a required column; the message names it, the columns the file has and
    the nearest match ("did you mean ...").
    """


class UnknownCodeError(InputFileError):
    """A code (PLACE, site type, candidate use, LA code) is not in geosuff's code lists
    (``geosuff/data/``); the message names the code and the allowed ones.
    """


class LockedError(GeosuffError, RuntimeError):
    """Another geosuff run is writing to the same output folder; the message names its process
    id, host and start time.
    """
