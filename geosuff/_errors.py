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


class NotAnOutputFolderError(ConfigError):
    """``[disclosure] previous`` names a folder that is not a geosuff run's output folder (no
    ``manifest.json`` and ``disclosure.json`` written by geosuff, or files changed since).
    """


class UnsafeOutputError(ConfigError):
    """``[output] dir`` is a place geosuff must never write into: the root of a file system, a
    system folder (``/etc``, ``/usr``, ``C:\\Windows`` ...), the home folder itself, the Python
    installation, or a symbolic link (which could lead the run's files anywhere).
    """


class InputTooLargeError(InputFileError):
    """An input file (or what an ``.xlsx`` unpacks to, or a config file) is larger than geosuff
    reads: the limit is checked before reading, so memory stays bounded. The message names the
    size, the limit and the setting (``GEOSUFF_MAX_INPUT_MB``) that raises it.
    """
