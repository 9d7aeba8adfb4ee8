"""Where a run may write and what it may read: output-folder safety, input size limits and the
earlier publications of ``[disclosure] previous``.

* :func:`check_output_dir` refuses an ``[output] dir`` that is a file system's root, a system
  folder (or inside one), the home folder itself, the Python installation, or reached through
  a symbolic link.
* :func:`max_input_bytes` is the largest input table (and the most an ``.xlsx`` or gzip file
  may unpack to) that geosuff reads: ``GEOSUFF_MAX_INPUT_MB`` (default
  :data:`DEFAULT_MAX_INPUT_MB`), checked before a byte is read.
* :func:`previous_outputs` finds the geosuff output folders an earlier-publication setting
  names.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from geosuff._errors import InputTooLargeError, NotAnOutputFolderError, UnsafeOutputError

#: Largest input table read (MB), unless ``GEOSUFF_MAX_INPUT_MB`` says otherwise.
DEFAULT_MAX_INPUT_MB = 200
#: Largest config file read (bytes): a scenario is a few kB.
MAX_CONFIG_BYTES = 1 << 20
#: Files that make a folder a geosuff run's output folder.
OUTPUT_MARKERS = ("manifest.json", "disclosure.json")

#: Folders (and everything inside them) a run never writes to.
SYSTEM_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/lib",
    "/var/log",
    "/var/cache",
    "/var/spool",
    "/var/run",
    "/var/mail",
    "/System",
    "/Library",
    "/Applications",
    "/private/etc",
    "/private/var/db",
    "C:/Windows",
    "C:/Program Files",
    "C:/Program Files (x86)",
    "C:/ProgramData",
)
#: Folders a run never writes into directly (their subfolders are fine).
SHARED_FOLDERS = ("/home", "/Users", "/var", "/opt", "/srv", "/mnt", "/media", "/tmp", "/root")


def max_input_bytes() -> int:
    """The input size limit in bytes (``GEOSUFF_MAX_INPUT_MB``, default 200 MB)."""
    raw = os.environ.get("GEOSUFF_MAX_INPUT_MB", "")
    try:
        mb = float(raw) if raw.strip() else float(DEFAULT_MAX_INPUT_MB)
    except ValueError:
        mb = float(DEFAULT_MAX_INPUT_MB)
    return int(max(mb, 0.001) * 1024 * 1024)


def check_input_size(size: int, *, what: str) -> None:
    """Raise :class:`InputTooLargeError` if ``size`` bytes exceed :func:`max_input_bytes`."""
    limit = max_input_bytes()
    if size > limit:
        raise InputTooLargeError(
            f"{what} is {size / 1048576:,.1f} MB, more than geosuff reads "
            f"({limit / 1048576:,.0f} MB).",
            fix=(
                "Check that it is the right file (an export of one council's table is a few MB); "
                "if it is, set the environment variable GEOSUFF_MAX_INPUT_MB to a larger limit "
                "(memory use grows with it)."
            ),
        )


def _is_under(p: Path, folder: str) -> bool:
    f = Path(folder)
    return p == f or p.is_relative_to(f)


def check_output_dir(given: Path, *, key: str = "[output] dir") -> Path:
    """The output folder, resolved, or :class:`UnsafeOutputError`.

    Parameters
    ----------
    given : Path
        Absolute, not yet resolved (symbolic links are looked for on the way).
    key : str
        The setting, for the message.
    """
    fix = (
        'Give a folder of its own for geosuff\'s outputs, e.g. dir = "outputs/rutland" beside the '
        "config file (a relative path is read from the config file's folder)."
    )
    norm = Path(os.path.abspath(given))
    # a symbolic link on the way could lead the run's files anywhere; only the top-level ones of
    # a system's layout (/tmp -> /private/tmp on macOS) are followed
    for q in [norm, *norm.parents]:
        if len(q.parts) > 2 and q.is_symlink():
            raise UnsafeOutputError(
                f"{key} = {given} goes through the symbolic link {q} (to {os.path.realpath(q)}); "
                "geosuff does not write through links.",
                fix="Give the real folder instead of the link. " + fix,
            )
    p = norm.resolve()
    home = Path.home().resolve()
    refused = p == Path(p.anchor) or p == home
    refused |= any(p == Path(f) for f in SHARED_FOLDERS)
    refused |= any(_is_under(p, f) for f in SYSTEM_FOLDERS)
    refused |= any(
        _is_under(p, str(Path(x).resolve()))
        for x in {sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[1])}
    )
    if refused:
        raise UnsafeOutputError(
            f"{key} = {given} is {p}, a system or shared folder; geosuff writes (and replaces) "
            "files in its output folder, so it never uses one of these.",
            fix=fix,
        )
    return p


def previous_outputs(folder: Path, *, key: str = "[disclosure] previous") -> list[Path]:
    """The geosuff output folders in ``folder``: itself (a run's output folder, holding
    ``manifest.json`` and ``disclosure.json``), or else its direct subfolders that are (a
    regional folder of councils' outputs). :class:`NotAnOutputFolderError` if there are none.
    """
    fix = (
        "Give the [output] dir of an earlier geosuff run (the folder holding its manifest.json "
        "and disclosure.json), or a folder of such folders; runs made before geosuff wrote "
        "disclosure.json must be run again."
    )
    if not folder.exists():
        raise NotAnOutputFolderError(f"{key} = {folder} does not exist.", fix=fix)
    if not folder.is_dir():
        raise NotAnOutputFolderError(f"{key} = {folder} is a file, not a folder.", fix=fix)

    def is_output(d: Path) -> bool:
        return all((d / m).is_file() for m in OUTPUT_MARKERS)

    if is_output(folder):
        return [folder]
    subs = sorted(d for d in folder.iterdir() if d.is_dir() and is_output(d))
    if not subs:
        missing = [m for m in OUTPUT_MARKERS if not (folder / m).is_file()]
        raise NotAnOutputFolderError(
            f"{key} = {folder} is not a geosuff output folder (no {' or '.join(missing)} in it "
            "or in its subfolders).",
            fix=fix,
        )
    return subs
